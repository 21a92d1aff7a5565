Feature: A canary first, then halves (web1..web5)
  Background:
    Given the load balancer has ip address
    And I want to update hosts with class roles::dev_server
    And I want to update hosts with fact country=de
    And I update hosts in batches of 1, 50%

  Scenario: Block, work, unblock
    When I block the load balancer
    When every host works for 1 seconds
    When I unblock the load balancer
