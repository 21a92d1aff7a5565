Feature: The load check gates the unblock
  Background:
    Given the load balancer has ip address 198.51.100.10
    And I want to update hosts with class roles::dev_server
    And I want to update hosts with fact country=de

  Scenario: Overloaded hosts stay out of the load balancer
    When I block the load balancer
    Then traffic from the load balancer should be blocked
    Then the NRPE check check_load should pass
    When I unblock the load balancer
    Then traffic from the load balancer should be unblocked
