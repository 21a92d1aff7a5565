"""Pipelining: which steps share a publish, verdicts per step and host within one, the retry
and skip rules, and arguments travelling as data."""

import pytest

from saltext.scenario import config
from saltext.scenario.engine import adapters as transport_module
from saltext.scenario.engine.adapters import SaltTransport
from saltext.scenario.engine.parsing.parse import parse_feature
from saltext.scenario.engine.records.result import ResultCollector
from saltext.scenario.engine.running.execute import Executor
from saltext.scenario.engine.steps import builtin_steps
from saltext.scenario.engine.steps.library import load_library
from saltext.scenario.engine.steps.registry import Registry
from tests.support.engine_calls import build_plan
from tests.support.fake_fleet import FakeFleet, FakeHost
from tests.support.sites import SITE

HEAD = """Feature: F
  Background:
    Given the load balancer has ip address 198.51.100.10
    And I want to update hosts with class roles::dev_server
"""

LIBRARY = """
- step: "the file {path} should exist"
  kind: then
  function: file.file_exists
  args: ["{path}"]
  expect: true
- step: "the file {path} is checked alone"
  kind: then
  function: file.file_exists
  args: ["{path}"]
  expect: true
  pipeline: false
- step: "the config {path} is written"
  kind: when
  function: file.touch
  args: ["{path}"]
- step: "the grain {key:word} reads"
  kind: then
  function: grains.get
  args: ["{key}"]
- step: "the file {path} is copied to {dest:path}"
  kind: when
  function: test.arg
  args: ["{path}"]
  kwargs: {dest: "{dest}"}
"""


def plan_of(body, tags="", max_failures=None):
    registry = builtin_steps.register(Registry())
    for stepdef in load_library(LIBRARY, "features/steps/t.yaml", ["file.*", "grains.get", "test.*"]):
        registry.add(stepdef)
    text = HEAD + f"\n  {tags}\n  Scenario: S\n" + "".join(f"    {line}\n" for line in body)
    return build_plan("f", parse_feature(text, "features/f.feature"), registry, {}, max_failures=max_failures)


def groups_of(plan):
    """The step texts of each publish (Given steps left out)."""
    scenario = plan.scenarios[0]
    return [
        [scenario.steps[i].step.text for i in group]
        for group in scenario.groups
        if not scenario.steps[group[0]].context_only
    ]


def test_update_website_takes_four_publishes_where_it_took_ten():
    text = (SITE / "features" / "update_website.feature").read_text()
    plan = build_plan(
        "update_website", parse_feature(text, "features/update_website.feature"), builtin_steps.register(Registry()), {}
    )
    groups = groups_of(plan)
    assert [len(g) for g in groups] == [2, 2, 4, 2]
    assert groups[2] == [
        "I restart the service mywebapp",
        "the service mywebapp should be running",
        "the NRPE check check_web should pass within 10 seconds",
        "the NRPE check check_load should pass",
    ]
    scenario = plan.scenarios[0]
    nrpe = [scenario.publish_fun(i) for i, st in enumerate(scenario.steps) if st.call and st.call.fun == "nrpe.run"]
    assert nrpe == ["nrpe.run", "nrpe.check"]  # one job holds a function once: the twin rides instead


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # A When after a When: the barrier between When steps stays.
        (["When I block the load balancer", "When I update the package p"], [[1], [1]]),
        # A Then first in a scenario has no When to ride with.
        (["Then traffic from the load balancer should be blocked"], [[1]]),
        # Library Then steps ride when their function is read-only...
        (["When I block the load balancer", "Then the file /a should exist"], [[2]]),
        # ...unless they say pipeline: false, or their function is not on the read-only list.
        (["When I block the load balancer", "Then the file /a is checked alone"], [[1], [1]]),
        (["When the config /a is written", "Then the grain os reads"], [[2]]),
        # The approval step is never fused.
        (["When I block the load balancer", "Then I wait for approval"], [[1], [1]]),
        # A library When leads a publish like a built-in one.
        (["When the config /a is written", "Then the file /a should exist"], [[2]]),
        # Three checks of one function: two names exist, so the third starts the next publish.
        (
            [
                "When I block the load balancer",
                "Then the NRPE check a should pass",
                "Then the NRPE check b should pass",
                "Then the NRPE check c should pass",
            ],
            [[3], [1]],
        ),
    ],
)
def test_fusing_groups(body, expected):
    assert [[len(g)] for g in groups_of(plan_of(body))] == expected


def test_no_pipeline_tag_on_the_scenario_or_the_feature_turns_fusing_off():
    body = ["When I block the load balancer", "Then traffic from the load balancer should be blocked"]
    assert [len(g) for g in groups_of(plan_of(body, tags="@no-pipeline"))] == [1, 1]
    registry = builtin_steps.register(Registry())
    text = "@no-pipeline\n" + HEAD + "\n  Scenario: S\n" + "".join(f"    {line}\n" for line in body)
    plan = build_plan("f", parse_feature(text, "features/f.feature"), registry, {})
    assert [len(g) for g in groups_of(plan)] == [1, 1]


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def execute(plan, fleet):
    collector, events = ResultCollector(plan), []

    def emit(event):
        events.append(event)
        collector(event)

    clock = Clock()
    Executor(plan, fleet, emit, "run1", clock=clock, sleep=clock.sleep).run(fleet.ping("x"))
    return collector.result(), events, clock


UPDATE = [
    "When I update the package mywebapp to version 4.2.6-3",
    "Then the package version for mywebapp should be 4.2.6-3",
    "Then the NRPE check check_web should pass within 5 seconds",
    "When I unblock the load balancer",
]


def test_a_host_that_failed_the_when_has_its_fused_thens_skipped():
    fleet = FakeFleet([FakeHost("web1"), FakeHost("web2", available=["4.2.5-1"])])
    result, events, _clock = execute(plan_of(UPDATE, max_failures="1"), fleet)
    assert fleet.publishes[0] == ["pkgcheck.update", "pkgcheck.verify", "nrpe.run"]
    steps = result["scenarios"][0]["steps"]
    assert steps[2]["hosts"]["web2"]["status"] == "failed"
    assert steps[3]["hosts"]["web2"] == {"status": "skipped"} and steps[4]["hosts"]["web2"] == {"status": "skipped"}
    assert steps[3]["hosts"]["web1"]["status"] == "passed" and steps[4]["hosts"]["web1"]["status"] == "passed"
    # One step event per step, each with the shared jid.
    fused = [e for e in events if e["event"] == "step_finished" and e["step"] in (2, 3, 4)]
    assert len(fused) == 3 and len({tuple(e["jids"]) for e in fused}) == 1


def test_a_fused_then_with_within_is_retried_alone_on_its_failing_hosts_until_its_deadline():
    fleet = FakeFleet([FakeHost("web1"), FakeHost("web2", nrpe={"check_web": [2, 2, 0]})])
    result, _events, clock = execute(plan_of(UPDATE), fleet)
    assert result["retcode"] == 0
    assert fleet.publishes == [
        ["pkgcheck.update", "pkgcheck.verify", "nrpe.run"],
        ["nrpe.run"],
        ["nrpe.run"],
        ["lbgate.unblock"],
    ]
    retried = [c[0] for c in fleet.calls if c[1] == "nrpe.run"]
    assert retried == [["web1", "web2"], ["web2"], ["web2"]]
    assert clock.now == pytest.approx(2.0)
    nrpe = result["scenarios"][0]["steps"][4]
    assert len(nrpe["jids"]) == 3


def test_a_fused_then_that_keeps_failing_fails_at_its_deadline_and_the_run_halts():
    fleet = FakeFleet([FakeHost("web1"), FakeHost("web2", nrpe={"check_web": [2]})])
    result, _events, clock = execute(plan_of(UPDATE), fleet)
    assert result["retcode"] == 1 and result["failed_hosts"]["web2"]["location"] == "features/f.feature:10"
    assert clock.now == pytest.approx(5.0)
    assert result["scenarios"][0]["steps"][5]["status"] == "skipped"


def test_verdicts_equal_those_of_the_same_run_without_pipelining():
    def verdicts(tags):
        fleet = FakeFleet([FakeHost("web1"), FakeHost("web2", nrpe={"check_web": [2]}), FakeHost("web3")])
        result, _events, _clock = execute(plan_of(UPDATE, tags=tags), fleet)
        return [
            (s["status"], {h: (r["status"], r.get("reason")) for h, r in s["hosts"].items()})
            for s in result["scenarios"][0]["steps"]
        ], len(fleet.publishes)

    fused, fused_jobs = verdicts("")
    alone, alone_jobs = verdicts("@no-pipeline")
    assert fused == alone and (fused_jobs, alone_jobs) == (6, 8)


class CapturingClient:
    """LocalClient.run_job + get_iter_returns as the transport calls them: what would go onto the wire."""

    class event:  # LocalClient.event: its one attribute the transport reads
        cpub = True

    def __init__(self):
        self.jobs = []

    def run_job(self, tgt, fun, arg=(), kwarg=None, **kw):
        self.jobs.append({"tgt": tgt, "fun": fun, "arg": arg, "kwarg": kwarg})
        return {"jid": "1", "minions": tgt}

    def get_iter_returns(self, jid, minions, **kw):
        job = self.jobs[-1]
        tgt, fun, arg = job["tgt"], job["fun"], job["arg"]
        funs = fun if isinstance(fun, list) else [fun]
        rets = {f: {"got": a} for f, a in zip(funs, arg if isinstance(fun, list) else [arg], strict=True)}
        for host in tgt:
            yield {host: {"ret": rets if isinstance(fun, list) else rets[fun], "retcode": dict.fromkeys(funs, 0)}}


@pytest.fixture
def salt_transport(monkeypatch):
    import salt.client

    client = CapturingClient()
    monkeypatch.setattr(salt.client, "get_local_client", lambda mopts: client)
    transport = SaltTransport({"cachedir": "/c"}, config.load({"cachedir": "/c"}))
    return transport, client


def test_keyword_arguments_travel_as_data_and_a_value_with_an_equals_sign_arrives_unchanged(salt_transport):
    transport, client = salt_transport
    path = "/srv/a=b/c=d"
    plan = plan_of(["When the file /etc/x is copied to " + path, "Then the file /etc/x should exist"])
    step = plan.scenarios[0].steps[2]
    assert step.call.kwargs == {"dest": path}
    _jid, replies = transport.call_many(["web1"], [(step.call.fun, step.call.args, step.call.kwargs)])
    (job,) = client.jobs
    assert job["fun"] == ["test.arg"] and job["kwarg"] is None
    assert job["arg"] == [["/etc/x", {"__kwarg__": True, "dest": path}]]
    assert not any(isinstance(a, str) and "=" in a for a in job["arg"][0])
    assert replies["web1"][0]["ret"] == {"got": ["/etc/x", {"__kwarg__": True, "dest": path}]}
    transport.call(["web1"], step.call.fun, step.call.args, step.call.kwargs)
    assert client.jobs[1]["arg"] == ["/etc/x"] and client.jobs[1]["kwarg"] == {"dest": path}


def test_a_function_that_raised_inside_a_compound_job_fails_its_step(salt_transport):
    boom = 'Traceback (most recent call last):\n  File "x", line 1\nsalt.exceptions.CommandExecutionError: boom\n'
    reply = {"ret": {"a.b": True, "c.d": boom}, "retcode": {"a.b": 0}}
    assert transport_module._one_of(reply, 1, "c.d") == {"ret": "ERROR: boom", "retcode": 1, "failed": False}
    odd = {"ret": {"c.d": "Traceback (most recent call last):\nKeyError: 'x'"}, "retcode": {}}
    assert transport_module._one_of(odd, 0, "c.d")["ret"] == "ERROR: KeyError: 'x'"
    ordered = {"ret": [True, False], "retcode": [0, 1]}  # a minion with multifunc_ordered
    assert transport_module._one_of(ordered, 1, "c.d") == {"ret": False, "retcode": 1, "failed": False}
