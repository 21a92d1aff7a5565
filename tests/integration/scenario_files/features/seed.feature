Feature: Update the production systems
        Given the load balancer has ip address
        And I want to update hosts with class roles::dev_server
        And I want to update hosts with fact country=de 
        And I want to pre-discover how many hosts to update
    Scenario: Update the website
        When I block the load balancer
        Then traffic from the load balancer should be blocked
        When I update the package mywebapp
        Then the package version for mywebapp should be 4.2.6-3.el5
        When I unblock the load balancer
        Then traffic from the load balancer should be unblocked
