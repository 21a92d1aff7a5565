# deploy.sh's failing case (test_ci_api.py): no host has this version, so web1, in the first
# batch, fails the check and the run halts with exit 1.
Feature: A check no host can pass
  Background:
    Given the load balancer has ip address
    And I want to update hosts with class roles::dev_server
    And I want to update hosts with fact country=de
    And I update 1 host at a time

  Scenario: Check a version nobody has
    Then the package version for mywebapp should be 9.9.9-1
