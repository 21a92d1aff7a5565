Feature: A rolling update that needs a ready marker on every host
  Background:
    Given the load balancer has ip address
    And I want to update hosts with class roles::dev_server
    And I want to update hosts with fact country=de
    And I update 1 host at a time

  Scenario: Update one host at a time
    When I block the load balancer
    When I update the package mywebapp to version 4.2.6-3
    Then the file /opt/ready should exist
    When I unblock the load balancer
    Then traffic from the load balancer should be unblocked
