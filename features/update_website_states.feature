Feature: Update the production systems with their Salt state
    The seed's deployment, but Salt's own state does the update: the mywebapp state
    (states/mywebapp/init.sls) installs the package at the version the pillar names and
    restarts the service when the package changed.

    Background:
        Given the load balancer has ip address 198.51.100.10
        And I want to update hosts with class roles::dev_server
        And I want to update hosts with fact country=de
        And I want to pre-discover how many hosts to update

    Scenario: Update the website with the mywebapp state
        When I block the load balancer
        Then traffic from the load balancer should be blocked
        When I apply the state mywebapp with pillar mywebapp:version=4.2.6-3
        Then the package version for mywebapp should be 4.2.6-3
        Then the state mywebapp should be in place
        Then the NRPE check check_web should pass within 10 seconds
        Then the NRPE check check_load should pass
        When I unblock the load balancer
        Then traffic from the load balancer should be unblocked
