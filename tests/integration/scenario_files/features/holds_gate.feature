Feature: Gate every billing host
  Used by test_holds.py: takes every billing host out of the balancer and puts it back. On held
  hosts it must be refused before anything changes.

  Background:
    Given the load balancer has ip address 198.51.100.10
    And I want to update hosts with class roles::billing

  Scenario: Gate
    When I block the load balancer
    Then traffic from the load balancer should be blocked
    When I unblock the load balancer
    Then traffic from the load balancer should be unblocked
