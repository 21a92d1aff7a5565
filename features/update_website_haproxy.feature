Feature: Update the website behind HAProxy
    The balancer itself is a minion (lb) running HAProxy. Each batch is drained there first:
    no new requests, the open ones finish, then the servers go to maintenance. Once updated
    and verified, they go back, and the next batch starts only when HAProxy's health checks
    report them up. No request is lost during the deploy.

    Background:
        Given the load balancer is HAProxy backend web on lb
        And I want to update hosts with class roles::dev_server
        And I want to update hosts with fact country=de
        And I want to pre-discover how many hosts to update

    Scenario: Update the website
        When I drain the hosts in the load balancer within 30 seconds
        When I update the package mywebapp
        Then the package version for mywebapp should be 4.2.6-3
        When I restart the service mywebapp
        Then the service mywebapp should be running
        Then the NRPE check check_web should pass within 10 seconds
        Then the NRPE check check_load should pass
        When I return the hosts to the load balancer
        Then the load balancer should report the hosts as up within 10 seconds
