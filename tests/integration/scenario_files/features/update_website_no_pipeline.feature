# A copy of features/update_website.feature with pipelining off: one publish per step, to compare.
@no-pipeline
Feature: Update the production systems
    Background:
        Given the load balancer has ip address 198.51.100.10
        And I want to update hosts with class roles::dev_server
        And I want to update hosts with fact country=de
        And I want to pre-discover how many hosts to update

    Scenario: Update the website
        When I block the load balancer
        Then traffic from the load balancer should be blocked
        When I update the package mywebapp
        Then the package version for mywebapp should be 4.2.6-3
        When I restart the service mywebapp
        Then the service mywebapp should be running
        Then the NRPE check check_web should pass within 10 seconds
        Then the NRPE check check_load should pass
        When I unblock the load balancer
        Then traffic from the load balancer should be unblocked
