# Rolling out to a real fleet: a canary host first, then 10% of the fleet, then halves; up to
# 2% of the hosts may fail and stay out; a person looks at every batch before the next one;
# and when the run halts, the batch in progress (and every host that failed) rolls back.
Feature: Roll mywebapp out to the web fleet
  Background:
    Given the load balancer has ip address 198.51.100.10
    And I want to update hosts with class roles::dev_server
    And I update hosts in batches of 1, 10%, 50%
    And up to 2% of the hosts may fail
    And I pause 30 seconds between batches

  Scenario: Update a batch
    When I block the load balancer
    Then traffic from the load balancer should be blocked
    When I update the package mywebapp to version 4.2.6-3
    Then the package version for mywebapp should be 4.2.6-3
    When I restart the service mywebapp
    Then the service mywebapp should be running
    Then the NRPE check check_web should pass within 30 seconds
    When I unblock the load balancer
    Then traffic from the load balancer should be unblocked
    Then I wait for approval within 30 minutes

  @on-failure
  Scenario: Roll the batch back
    When I roll back the package mywebapp
    When I restart the service mywebapp
    Then the NRPE check check_web should pass within 30 seconds
    When I unblock the load balancer
    Then traffic from the load balancer should be unblocked
