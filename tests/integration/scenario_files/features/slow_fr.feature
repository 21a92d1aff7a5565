Feature: Hold web4 (country fr) for a few seconds
  Background:
    Given the load balancer has ip address
    And I want to update hosts with class roles::dev_server
    And I want to update hosts with fact country=fr

  Scenario: Block, work, unblock
    When I block the load balancer
    When every host works for 6 seconds
    When I unblock the load balancer
