Feature: Undefined step
  Background:
    Given the load balancer has ip address 198.51.100.10
    And I want to update hosts with class roles::dev_server

  Scenario: A step nobody defined
    When I block the load balancer
    Then the moon should be made of cheese
