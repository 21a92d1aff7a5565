Feature: Up to one host may fail (web1..web6: web3 and web6 lack the new version)
  Background:
    Given the load balancer has ip address
    And I want to update hosts with class roles::dev_server
    And up to 1 host may fail

  Scenario: Update
    When I block the load balancer
    When I update the package mywebapp to version 4.2.6-3
    Then the package version for mywebapp should be 4.2.6-3
    When I unblock the load balancer
    Then traffic from the load balancer should be unblocked
