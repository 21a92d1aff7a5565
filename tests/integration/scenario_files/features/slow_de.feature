Feature: Hold web1..web3 (country de) for a few seconds
  Background:
    Given the load balancer has ip address
    And I want to update hosts with class roles::dev_server
    And I want to update hosts with fact country=de

  Scenario: Block, work, unblock
    When I block the load balancer
    When every host works for 6 seconds
    When I unblock the load balancer
