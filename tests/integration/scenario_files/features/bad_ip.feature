Feature: Bad address
  Background:
    Given the load balancer has ip address 198.51.100.300
    And I want to update hosts with class roles::dev_server

  Scenario: Block
    When I block the load balancer
