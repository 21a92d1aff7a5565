Feature: Jinja is never rendered
  Background:
    Given the load balancer has ip address 198.51.100.10
    And I want to update hosts with class {{ pillar['role'] }}

  Scenario: Block
    When I block the load balancer
