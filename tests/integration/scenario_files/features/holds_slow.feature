Feature: A slow change on the billing hosts
  Used by test_holds.py: SIGKILLed while the hosts are out of the balancer.

  Background:
    Given the load balancer has ip address 198.51.100.10
    And I want to update hosts with class roles::billing

  Scenario: Work while blocked
    When I block the load balancer
    When every host works for 30 seconds
    When I unblock the load balancer
