Feature: Somebody looks before the run goes on
  Background:
    Given the load balancer has ip address
    And I want to update hosts with grain repo:full

  Scenario: Block, unblock, wait for a person
    When I block the load balancer
    When I unblock the load balancer
    Then I wait for approval within 2 minutes
