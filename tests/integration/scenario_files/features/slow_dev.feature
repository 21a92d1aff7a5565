Feature: Hold web1..web4 (every dev server) for a few seconds
  Background:
    Given the load balancer has ip address
    And I want to update hosts with class roles::dev_server

  Scenario: Block, work, unblock
    When I block the load balancer
    When every host works for 6 seconds
    When I unblock the load balancer
