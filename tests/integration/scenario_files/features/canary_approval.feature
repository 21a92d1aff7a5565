# The webhook test (test_ci_api.py): a canary (web1), a person approves, then the rest.
Feature: A canary, a person looks, then the rest
  Background:
    Given the load balancer has ip address
    And I want to update hosts with class roles::dev_server
    And I want to update hosts with fact country=de
    And I update hosts in batches of 1, 2

  Scenario: Block, unblock, wait for a person
    When I block the load balancer
    When I unblock the load balancer
    Then I wait for approval within 2 minutes
