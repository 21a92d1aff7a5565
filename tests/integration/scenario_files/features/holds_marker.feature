Feature: A rolling check of a ready marker on the billing hosts
  Used by test_holds.py: one host at a time; a host without /opt/ready fails and stays held.

  Background:
    Given the load balancer has ip address 198.51.100.10
    And I want to update hosts with class roles::billing
    And I update 1 host at a time

  Scenario: Check one host at a time
    When I block the load balancer
    Then the file /opt/ready should exist
    When I unblock the load balancer
    Then traffic from the load balancer should be unblocked
