Feature: A person looks while web1..web3 (country de) are out of the balancer
  Background:
    Given the load balancer has ip address
    And I want to update hosts with class roles::dev_server
    And I want to update hosts with fact country=de

  Scenario: Block, wait for a person, unblock
    When I block the load balancer
    Then I wait for approval within 2 minutes
    When I unblock the load balancer
    Then traffic from the load balancer should be unblocked
