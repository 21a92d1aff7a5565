"""A 500-step feature parses, matches and plans. How fast is measured by bench/run.py (parse_ms),
not asserted here: timings on a shared 2-core machine make flaky tests."""

from saltext.scenario.engine.parsing.parse import parse_feature
from saltext.scenario.engine.steps import builtin_steps
from saltext.scenario.engine.steps.registry import Registry
from tests.support.engine_calls import build_plan

CYCLE = [
    "When I block the load balancer",
    "Then traffic from the load balancer should be blocked",
    "When I update the package mywebapp to version 4.2.6-3",
    "Then the package version for mywebapp should be 4.2.6-3",
    "Then the NRPE check check_load should pass within 5 seconds",
]


def test_500_steps_parse_match_and_plan():
    body = [
        "Given the load balancer has ip address 198.51.100.10",
        "And I want to update hosts with class roles::dev_server",
    ]
    while len(body) < 500:
        body += CYCLE
    text = "Feature: F\n  Scenario: S\n" + "".join(f"    {line}\n" for line in body[:500])
    plan = build_plan("f", parse_feature(text, "features/f.feature"), builtin_steps.register(Registry()), {})
    assert plan.step_count() == 500
    (scenario,) = plan.scenarios
    assert sum(1 for st in scenario.steps if st.call) == 498  # all but the two Given lines call Salt
