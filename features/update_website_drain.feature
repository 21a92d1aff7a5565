Feature: Update the production systems, draining instead of blocking
    The seed's flow with a graceful drain in place of the block: each host refuses the load
    balancer's new connections, and the deploy goes on once the ones in flight are done.

    Background:
        Given the load balancer has ip address 198.51.100.10
        And I want to update hosts with class roles::dev_server
        And I want to update hosts with fact country=de
        And I want to pre-discover how many hosts to update

    Scenario: Update the website
        When I drain the load balancer within 30 seconds
        Then the load balancer should have no connections
        When I update the package mywebapp
        Then the package version for mywebapp should be 4.2.6-3
        When I restart the service mywebapp
        Then the service mywebapp should be running
        Then the NRPE check check_web should pass within 10 seconds
        Then the NRPE check check_load should pass
        When I unblock the load balancer
        Then traffic from the load balancer should be unblocked
