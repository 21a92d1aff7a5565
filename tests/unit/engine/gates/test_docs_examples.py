"""docs/metric-gates.md: its worked example parses, and every step in it matches a definition."""

import re
from pathlib import Path

import pytest

from saltext.scenario.config import Settings
from saltext.scenario.engine.errors import InvalidScenario
from saltext.scenario.engine.gates import steps as metric_steps
from saltext.scenario.engine.gates.steps import MetricGate
from saltext.scenario.engine.parsing.parse import parse_feature
from saltext.scenario.engine.running.context import Context
from saltext.scenario.engine.steps import builtin_steps
from saltext.scenario.engine.steps.registry import Registry

DOC = Path(__file__).resolve().parents[4] / "docs" / "metric-gates.md"


def _blocks():
    return re.findall(r"```gherkin\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)


def test_the_worked_example_matches_and_plans_its_gate():
    (feature_text,) = [b for b in _blocks() if b.startswith("Feature:")]
    feature = parse_feature(feature_text, "docs/metric-gates.md")
    registry = metric_steps.register(builtin_steps.register(Registry()))
    ctx = Context(settings=Settings(prometheus_url="http://127.0.0.1:9090"))
    gates = []
    for scenario in feature.scenarios:
        for step in scenario.steps:
            m = registry.match(step)
            if m.stepdef.handler in (metric_steps._once, metric_steps._stay):
                gates.append(m.stepdef.handler(ctx, step, **m.params))
    (gate,) = gates
    assert isinstance(gate, MetricGate)
    assert (gate.comparison, gate.threshold, gate.duration, gate.interval) == ("below", 0.05, 20, 2)
    assert "{{ haproxy_servers }}" in gate.query


def test_every_step_line_in_the_doc_matches():
    registry = metric_steps.register(builtin_steps.register(Registry()))
    lines = [b for b in _blocks() if not b.startswith("Feature:")]
    texts = [line.strip() for block in lines for line in block.splitlines() if line.strip().startswith("Then ")]
    assert len(texts) >= 8
    for text in texts:
        feature = parse_feature(f'Feature: f\n  Scenario: s\n    {text}\n      """\n      up\n      """\n', "doc")
        step = feature.scenarios[0].steps[0]
        assert registry.match(step).stepdef.pipeline is False, text


def test_the_parser_lets_metric_placeholders_through_and_still_refuses_jinja():
    ok = 'Feature: F\n  Scenario: S\n    Then the metric "up{h=~"{{ hosts }}",a=~"{{addresses}}"}" should be below 1\n'
    assert parse_feature(ok, "f").scenarios[0].steps[0].text.startswith('the metric "up{h=~')
    for bad in ("{{ host }}", "{{ hosts }}{% if x %}", "{{ hosts|e }}"):
        with pytest.raises(InvalidScenario, match="Jinja"):
            parse_feature(f'Feature: F\n  Scenario: S\n    Then the metric "{bad}" should be below 1\n', "f")
