"""Parse + match + plan of a 500-step feature stays well under 100 ms (no per-step regex compile)."""
import time

from saltext.scenario.engine import builtin_steps
from saltext.scenario.engine.parse import parse_feature
from saltext.scenario.engine.plan import build_plan
from saltext.scenario.engine.registry import Registry

CYCLE = ["When I block the load balancer", "Then traffic from the load balancer should be blocked",
         "When I update the package mywebapp to version 4.2.6-3",
         "Then the package version for mywebapp should be 4.2.6-3",
         "Then the NRPE check check_load should pass within 5 seconds"]


def test_500_steps_parse_match_plan_under_100ms():
    body = ["Given the load balancer has ip address 198.51.100.10",
            "And I want to update hosts with class roles::dev_server"]
    while len(body) < 500:
        body += CYCLE
    text = "Feature: F\n  Scenario: S\n" + "".join(f"    {line}\n" for line in body[:500])
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        plan = build_plan("f", parse_feature(text, "features/f.feature"), builtin_steps.register(Registry()), {})
        best = min(best, time.perf_counter() - t0)
    assert plan.step_count() == 500
    assert best < 0.1, f"{best * 1000:.1f} ms"
