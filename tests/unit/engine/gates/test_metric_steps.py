"""gates/steps.py: the metric steps' wording, parameters and planned MetricGate, beside the built-ins."""

import pytest

from saltext.scenario.config import Settings
from saltext.scenario.engine.errors import InvalidScenario
from saltext.scenario.engine.gates import steps as metric_steps
from saltext.scenario.engine.gates.steps import MetricGate
from saltext.scenario.engine.gates.template import BatchValues
from saltext.scenario.engine.parsing.model import Step
from saltext.scenario.engine.running.context import Context
from saltext.scenario.engine.steps import builtin_steps
from saltext.scenario.engine.steps.registry import Registry

RATIO = 'sum(rate(x{code="5xx",server=~"{{ haproxy_servers }}"}[10s])) / sum(rate(x[10s]))'


@pytest.fixture(scope="module")
def registry():
    reg = builtin_steps.register(Registry())
    return metric_steps.register(reg)


def _plan(registry, text, doc=None, url="http://127.0.0.1:9090"):
    step = Step(keyword="Then", kind="then", text=text, uri="features/m.feature", line=9, argument=doc)
    m = registry.match(step)
    ctx = Context(settings=Settings(prometheus_url=url))
    return m, m.stepdef.handler(ctx, step, **m.params)


@pytest.mark.parametrize(
    ("comparison", "threshold"), [("below", 0.05), ("above", 100.0), ("at most", 1.0), ("at least", 0.5)]
)
def test_once(registry, comparison, threshold):
    m, gate = _plan(registry, f'the metric "{RATIO}" should be {comparison} {threshold:g}')
    assert gate == MetricGate(RATIO, comparison, threshold, interval=2, location="features/m.feature:9")
    assert m.stepdef.pipeline is False and gate.kind == "metric"


def test_stay_with_every_option(registry):
    _, gate = _plan(
        registry,
        f'the metric "{RATIO}" should stay below 0.05 for 20 seconds, checked every 2 seconds, allowing 1 failure',
    )
    assert (gate.duration, gate.interval, gate.allowed_failures, gate.inconclusive_limit) == (20, 2, 1, 2)
    policy = gate.policy()
    assert policy.scheduled == 10 and policy.condition.threshold == 0.05


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        ("for 2 minutes", (120, 5, 0)),
        ("for 3 seconds", (3, 3, 0)),
        ("for 1 minute, checked every 10 seconds", (60, 10, 0)),
        ("for 30 seconds, allowing 2 failures", (30, 5, 2)),
    ],
)
def test_stay_defaults(registry, tail, expected):
    _, gate = _plan(registry, f'the metric "up" should stay at least 1 {tail}')
    assert (gate.duration, gate.interval, gate.allowed_failures) == expected


def test_query_in_a_doc_string(registry):
    _, gate = _plan(
        registry, "the metric should stay below 0.05 for 20 seconds, checked every 2 seconds", doc=f"\n  {RATIO}\n"
    )
    assert gate.query == RATIO and gate.duration == 20
    _, gate = _plan(registry, "the metric should be below 0.05", doc=RATIO)
    assert gate.query == RATIO and gate.duration == 0


@pytest.mark.parametrize(
    ("text", "doc", "why"),
    [
        ("the metric should be below 0.05", None, "doc string"),
        ('the metric "up" should be below 0.05', "up", "both in quotes and in a doc string"),
        ('the metric "up{x=\\"{{ host }}\\"}" should be below 1', None, "unknown placeholder {{ host }}"),
        ('the metric "up" should stay below 1 for 5 seconds, checked every 10 seconds', None, "longer than"),
        ('the metric "up" should be below 5%', None, "threshold '5%' is not a valid number"),
        ('the metric "up" should stay below 1 for 0 seconds', None, "between 1 second and 24 hours"),
    ],
)
def test_refused_with_the_step_named(registry, text, doc, why):
    with pytest.raises(InvalidScenario) as err:
        _plan(registry, text, doc=doc)
    assert why in str(err.value) and "features/m.feature:9" in str(err.value)


def test_plans_without_the_prometheus_option_so_validate_and_the_docs_work(registry):
    # Without scenario_prometheus_url the run refuses it before any host is touched (exit 3).
    _, gate = _plan(registry, 'the metric "up" should be below 1', url=None)
    assert gate.query == "up"


def test_an_undefined_wording_is_not_swallowed(registry):
    step = Step(keyword="Then", kind="then", text='the metric "up" should be under 1', uri="f", line=1)
    with pytest.raises(InvalidScenario, match="undefined step"):
        registry.match(step)


def test_dry_run_tag_render_and_record():
    gate = MetricGate('sum(up{instance=~"{{ hosts }}"})', "below", 1.0, duration=10, interval=2)
    assert gate.with_tags(["@canary"]) is gate
    dry = gate.with_tags(["@metrics-dry-run"])
    assert dry.dry_run and dry.policy().dry_run
    assert gate.render(BatchValues(hosts=("web1.example.com",))) == 'sum(up{instance=~"(?:web1\\\\.example\\\\.com)"})'
    assert gate.as_dict()["query"] == gate.query and gate.as_dict()["metric"] is True
    assert gate.describe() == "metric below 1 for 10 s every 2 s"
