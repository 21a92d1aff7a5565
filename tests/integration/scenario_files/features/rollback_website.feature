Feature: Update the website, and roll back when a host is not healthy
  Background:
    Given the load balancer has ip address
    And I want to update hosts with grain repo:full

  Scenario: Update
    When I block the load balancer
    When I update the package mywebapp to version 4.2.6-3
    Then the package version for mywebapp should be 4.2.6-3
    Then the NRPE check check_load should pass
    When I unblock the load balancer

  @on-failure
  Scenario: Roll back
    When I roll back the package mywebapp
    Then the NRPE check check_load should pass
    When I unblock the load balancer
    Then traffic from the load balancer should be unblocked
