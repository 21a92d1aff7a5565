Feature: A deploy that takes a while
    Long enough for a burst of requests or a second salt-run to meet the lock.

    Scenario: Hold the lock for a few seconds
        Given I want to update hosts with class roles::dev_server
        When the hosts wait 12 seconds
