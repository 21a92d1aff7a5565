Feature: Rolling update of the web servers
    Every batch is blocked, updated, checked and unblocked before the next one is touched,
    so at most one host at a time is out of the load balancer.

    Background:
        Given the load balancer has ip address 198.51.100.10
        And I want to update hosts with class roles::dev_server
        And I want to update hosts with fact country=de
        And I want to pre-discover how many hosts to update
        And I update 1 host at a time

    Scenario: Update the website one host at a time
        When I block the load balancer
        Then traffic from the load balancer should be blocked
        When I update the package mywebapp to version 4.2.6-3
        Then the package version for mywebapp should be 4.2.6-3
        Then the NRPE check check_web should pass within 10 seconds
        Then the NRPE check check_load should pass
        When I unblock the load balancer
        Then traffic from the load balancer should be unblocked
