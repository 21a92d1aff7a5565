Feature: Deploy mywebapp 4.2.6-3 to the billing hosts
  Used by test_holds.py: app3's apt source lacks 4.2.6-3, so the update fails there and the run
  halts with app1..app3 out of the balancer (app1 and app2 never verified): held.

  Background:
    Given the load balancer has ip address 198.51.100.10
    And I want to update hosts with class roles::billing

  Scenario: Update every billing host
    When I block the load balancer
    When I update the package mywebapp to version 4.2.6-3
    Then the package version for mywebapp should be 4.2.6-3
    When I unblock the load balancer
