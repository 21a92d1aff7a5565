"""Parse + match + plan of a generated 500-step feature, in-process, no minion, no discovery.

The entry point is the engine's `running/prepare.py:prepare` (what scenario.run/validate/plan do before any
Salt call): read the file, parse it with gherkin-official, build the step registry, match
every step, build the plan. Median of many repetitions, after one warm-up.
"""

import statistics
import tempfile
import time
from pathlib import Path

from saltext.scenario import config
from saltext.scenario.engine.parsing.parse import parse_feature
from saltext.scenario.engine.parsing.source import DirSource
from saltext.scenario.engine.running.prepare import prepare
from saltext.scenario.engine.service.request import RunRequest

BACKGROUND = [
    "Given the load balancer has ip address 198.51.100.10",
    "And I want to update hosts with class roles::dev_server",
    "And I want to update hosts with fact country=de",
    "And I want to pre-discover how many hosts to update",
]
CYCLE = [
    "When I block the load balancer",
    "Then traffic from the load balancer should be blocked",
    "When I update the package mywebapp to version 4.2.6-3",
    "Then the package version for mywebapp should be 4.2.6-3",
    "Then the NRPE check check_web should pass within 10 seconds",
    "Then the NRPE check check_load should pass",
    "When I unblock the load balancer",
    "Then traffic from the load balancer should be unblocked",
]


def feature_text(steps=500):
    body = list(BACKGROUND)
    while len(body) < steps:
        body += CYCLE
    lines = ["Feature: Generated for the benchmark", "  Scenario: Many steps"]
    lines += [f"    {line}" for line in body[:steps]]
    return "\n".join(lines) + "\n"


def _median_ms(func, repeat):
    func()  # warm-up: first-import and cache costs are not what a run pays every time
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return round(statistics.median(times) * 1000, 2), round(min(times) * 1000, 2), round(max(times) * 1000, 2)


def measure(steps=500, repeat=50):
    with tempfile.TemporaryDirectory(prefix="bench-parse-") as root:
        path = Path(root) / "features" / "generated.feature"
        path.parent.mkdir()
        text = feature_text(steps)
        path.write_text(text)
        source = DirSource(root)
        plan = prepare(config.load({}), RunRequest.from_args("generated"), source)
        if plan.step_count() != steps:
            raise RuntimeError(f"generated feature planned {plan.step_count()} steps, not {steps}")
        total = _median_ms(lambda: prepare(config.load({}), RunRequest.from_args("generated"), source), repeat)
        parse = _median_ms(lambda: parse_feature(text, "features/generated.feature"), repeat)
    return {"steps": steps, "repeat": repeat, "prepare_ms": total, "parse_only_ms": parse}


if __name__ == "__main__":
    print(measure())
