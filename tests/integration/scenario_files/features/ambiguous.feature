Feature: Ambiguous step
  Background:
    Given the load balancer has ip address 198.51.100.10
    And I want to update hosts with class roles::dev_server

  Scenario: Two definitions match
    Then the web page should say hello
