Feature: A host stops answering in the middle of a run
  Background:
    Given the load balancer has ip address
    And I want to update hosts with class roles::dev_server
    And I want to update hosts with fact country=de

  Scenario: web2 dies after the block
    When I block the load balancer
    When every host works for 4 seconds
    Then traffic from the load balancer should be blocked
    When I unblock the load balancer
