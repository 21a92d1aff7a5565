Feature: Update the website, judged by its traffic
    A build can start, pass its health check and NRPE, and still fail real requests. So each
    batch, once back in HAProxy under load, must keep the 5xx ratio of its own servers below
    5 % for 20 seconds, checked every 2 seconds, from the responses HAProxy counts per server
    (Prometheus scrapes its built-in exporter). The first batch is one canary; if its gate
    fails, the run halts before the next batch is touched and the canary is rolled back.

    Background:
        Given the load balancer is HAProxy backend web on lb
        And I want to update hosts with class roles::dev_server
        And I update hosts in batches of 1, 50%

    Scenario: Update mywebapp, a canary first
        When I drain the hosts in the load balancer within 30 seconds
        And I update the package mywebapp to version 4.2.6-3
        Then the service mywebapp should be running
        And the NRPE check check_web should pass within 10 seconds
        When I return the hosts to the load balancer
        Then the load balancer should report the hosts as up within 10 seconds
        And the metric should stay below 0.05 for 20 seconds, checked every 2 seconds
            """
            sum(rate(haproxy_server_http_responses_total{proxy="web",server=~"{{ haproxy_servers }}",code="5xx"}[5s]))
            /
            sum(rate(haproxy_server_http_responses_total{proxy="web",server=~"{{ haproxy_servers }}"}[5s]))
            """

    @on-failure
    Scenario: Roll the batch back
        When I drain the hosts in the load balancer within 30 seconds
        And I roll back the package mywebapp
        When I return the hosts to the load balancer
        Then the load balancer should report the hosts as up within 10 seconds
