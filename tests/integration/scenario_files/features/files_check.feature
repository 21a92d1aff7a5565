Feature: A site step library step
  Background:
    Given I want to update hosts with class roles::dev_server
    And I want to update hosts with fact country=de

  Scenario: The application is installed
    Then the file /opt/mywebapp/VERSION should exist
    And the directory /opt/mywebapp should exist
