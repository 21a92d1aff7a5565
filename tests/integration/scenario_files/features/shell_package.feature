Feature: Shell metacharacters in a package name
  Background:
    Given the load balancer has ip address 198.51.100.10
    And I want to update hosts with class roles::dev_server

  Scenario: Update
    When I update the package mywebapp; rm -rf /
