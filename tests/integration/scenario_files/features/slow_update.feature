Feature: Update web1..web3 after a pause, so a signal can arrive after the block
  Background:
    Given the load balancer has ip address
    And I want to update hosts with class roles::dev_server
    And I want to update hosts with fact country=de

  Scenario: Block, wait, update, unblock
    When I block the load balancer
    Then traffic from the load balancer should be blocked
    When every host works for 5 seconds
    When I update the package mywebapp to version 4.2.6-3
    Then the package version for mywebapp should be 4.2.6-3
    When I unblock the load balancer
    Then traffic from the load balancer should be unblocked
