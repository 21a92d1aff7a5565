"""Deadlines and stops against a fake fleet with a hanging host and a fake clock.

The fake transport plays the Salt transport's side of the contract: while a host "hangs",
it asks the call's `cut` every half (fake) second, and when the cut gives a reason it fails
that host with it (its job "killed"), as adapters.SaltTransport does.
"""

import pytest

from saltext.scenario.engine.errors import InvalidScenario
from saltext.scenario.engine.parsing.parse import parse_feature
from saltext.scenario.engine.records.result import ResultCollector, host_status
from saltext.scenario.engine.running.execute import Executor
from saltext.scenario.engine.running.signals import StopFlag
from saltext.scenario.engine.steps import builtin_steps
from saltext.scenario.engine.steps.library import load_library
from saltext.scenario.engine.steps.registry import Registry
from tests.support.engine_calls import build_plan
from tests.support.fake_fleet import FakeFleet, FakeHost

BACKGROUND = [
    "Given the load balancer has ip address 198.51.100.10",
    "And I want to update hosts with class roles::dev_server",
]
UPDATE = "When I update the package mywebapp to version 4.2.6-3"


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class HangingFleet(FakeFleet):
    """Hosts in `hanging` never finish `fun`: the call waits until its cut says stop."""

    def __init__(self, clock, hanging, fun="pkgcheck.update", on_poll=None):
        super().__init__([FakeHost("web1"), FakeHost("web2"), FakeHost("web3")])
        self.clock, self.hanging, self.fun, self.on_poll = clock, set(hanging), fun, on_poll
        self.killed = []  # (hosts, when): the jobs the cut had killed
        self.cuts = []  # the reasons given

    def _wait(self, hosts, cut):
        stuck = [h for h in hosts if h in self.hanging]
        if not stuck:
            return {}
        while True:
            if self.on_poll:
                self.on_poll(self.clock())
            why = cut() if cut else None
            if why is not None:
                self.cuts.append(why)
                self.killed.append((stuck, self.clock()))
                return {h: {"ret": None, "retcode": None, "failed": True, "why": f"{why}; job killed"} for h in stuck}
            self.clock.sleep(0.5)

    def call(self, hosts, fun, args, kwargs, cut=None):
        jid, out = super().call(hosts, fun, args, kwargs)
        if fun == self.fun:
            out.update(self._wait(hosts, cut))
        return jid, out

    def call_many(self, hosts, calls, cut=None):
        jid, out = super().call_many(hosts, calls)
        if any(fun == self.fun for fun, _a, _k in calls):
            for host, reply in self._wait(hosts, cut).items():
                out[host] = [reply for _ in calls]
        return jid, out


def _plan(body, registry=None):
    text = "Feature: F\n  Scenario: S\n" + "".join(f"    {line}\n" for line in [*BACKGROUND, *body])
    registry = registry or builtin_steps.register(Registry())
    return build_plan("f", parse_feature(text, "features/f.feature"), registry, {})


def _run(fleet, clock, body, stop=None, registry=None, **limits):
    plan = _plan(body, registry)
    collector, events = ResultCollector(plan), []

    def emit(event):
        events.append(event)
        collector(event)

    executor = Executor(
        plan, fleet, emit, "run1", clock=clock, sleep=clock.sleep, stop=stop or (lambda: None), **limits
    )
    retcode = executor.run(fleet.ping("x"))
    return retcode, collector.result(), events


def _finished(events, text):
    return next(e for e in events if e["event"] == "step_finished" and e["text"] == text)


def test_a_hanging_host_fails_at_the_step_deadline_and_the_run_halts():
    clock = Clock()
    fleet = HangingFleet(clock, {"web2"})
    body = [UPDATE, "When I restart the service mywebapp"]  # a When after a When: never one publish
    retcode, result, events = _run(fleet, clock, body, step_deadline=10)
    assert retcode == 1
    update = _finished(events, UPDATE.removeprefix("When "))
    assert update["failed"] == ["web2"] and update["passed"] == ["web1", "web3"]
    assert update["results"]["web2"]["reason"] == "still running after 10 s; job killed"
    assert fleet.killed == [(["web2"], 110.0)]  # cut at the deadline, not when the job would end
    assert 10.0 <= update["duration"] <= 10.5
    assert result["failed_hosts"]["web2"]["reason"].startswith("still running after 10 s")


def test_a_when_sets_its_own_deadline_with_taking_at_most():
    clock = Clock()
    fleet = HangingFleet(clock, {"web1"})
    step = UPDATE + ", taking at most 2 minutes"
    plan = _plan([step])
    assert plan.scenarios[0].steps[2].call.deadline == 120
    retcode, _result, events = _run(fleet, clock, [step], step_deadline=10)
    assert retcode == 1
    assert _finished(events, step.removeprefix("When "))["results"]["web1"]["reason"].startswith(
        "still running after 120 s"
    )


@pytest.mark.parametrize(
    "line,words",
    [
        (UPDATE + ", taking at most 5 hours", "is not a deadline"),
        (UPDATE + ", taking at most 0 seconds", "is not a deadline"),
        (UPDATE + ", taking at most ten minutes", "is not a deadline"),
        ("Then the service mywebapp should be running, taking at most 5 seconds", "only a When step"),
    ],
)
def test_bad_deadline_wording_is_an_error_naming_file_and_line(line, words):
    with pytest.raises(InvalidScenario) as err:
        _plan([line])
    assert words in str(err.value) and err.value.location == "features/f.feature:5"


def test_a_library_step_sets_its_deadline_and_a_bad_one_is_refused():
    text = "- {step: 'I sleep {n} seconds', kind: when, function: test.sleep, args: ['{n}'], deadline: 3}\n"
    registry = builtin_steps.register(Registry())
    for stepdef in load_library(text, "features/steps/slow.yaml", ("test.*",)):
        registry.add(stepdef)
    plan = _plan(["When I sleep 300 seconds"], registry)
    assert plan.scenarios[0].steps[2].call.deadline == 3
    clock = Clock()
    fleet = HangingFleet(clock, {"web3"}, fun="test.sleep")
    retcode, _result, events = _run(fleet, clock, ["When I sleep 300 seconds"], registry=registry)
    assert retcode == 1
    assert _finished(events, "I sleep 300 seconds")["results"]["web3"]["reason"].startswith("still running after 3 s")
    with pytest.raises(InvalidScenario, match="deadline must be a positive number of seconds"):
        load_library(text.replace("deadline: 3", "deadline: 0"), "features/steps/slow.yaml", ("test.*",))


def test_fused_thens_share_the_whens_deadline():
    clock = Clock()
    fleet = HangingFleet(clock, {"web1"}, fun="service.status")
    body = ["When I restart the service mywebapp", "Then the service mywebapp should be running"]
    retcode, _result, events = _run(fleet, clock, body, step_deadline=7)
    assert retcode == 1
    restart = _finished(events, "I restart the service mywebapp")
    assert fleet.publishes[-1] == ["service.restart", "service.status"]  # one job
    assert restart["results"]["web1"]["reason"].startswith("still running after 7 s")
    assert 7.0 <= restart["duration"] <= 7.5
    assert _finished(events, "the service mywebapp should be running")["status"] == "skipped"


def test_in_a_passing_group_the_publish_time_is_on_the_last_line_not_on_every_line():
    clock = Clock()
    fleet = HangingFleet(clock, set())
    slow_call = fleet.call_many

    def slow(hosts, calls, cut=None):
        clock.sleep(4)
        return slow_call(hosts, calls, cut)

    fleet.call_many = slow
    body = ["When I restart the service mywebapp", "Then the service mywebapp should be running"]
    retcode, _result, events = _run(fleet, clock, body)
    assert retcode == 0
    assert _finished(events, "I restart the service mywebapp")["duration"] == 0.0
    assert _finished(events, "the service mywebapp should be running")["duration"] == 4.0


def test_a_first_stop_gives_the_step_its_grace_then_the_hosts_are_interrupted_mid_step():
    clock = Clock()
    flag = StopFlag(clock)
    fleet = HangingFleet(clock, {"web2"}, on_poll=lambda now: now >= 103 and flag.since is None and flag.set("SIGTERM"))
    retcode, result, events = _run(
        fleet, clock, [UPDATE, "Then the service mywebapp should be running"], stop=flag, stop_grace=5
    )
    assert retcode == 6
    update = _finished(events, UPDATE.removeprefix("When "))
    reason = update["results"]["web2"]["reason"]
    assert reason.startswith("interrupted mid-step: SIGTERM, and the stop grace of 5 s ran out")
    assert host_status(update["results"]["web2"]) == "interrupted"
    assert fleet.killed == [(["web2"], 108.0)]  # 3 s in, plus the 5 s grace
    assert _finished(events, "the service mywebapp should be running")["status"] == "skipped"
    assert result["interrupted"] == "SIGTERM"
    # The halt line of the output says interrupted, not failed.
    assert result["halted"].startswith(f"{UPDATE} interrupted at "), result["halted"]


def test_a_second_signal_abandons_the_step_at_once():
    clock = Clock()
    flag = StopFlag(clock)

    def signals(now):
        # The first SIGINT 3 s in; the second, a second later.
        if (now >= 103 and flag.since is None) or now >= 104:
            flag.set("SIGINT")

    fleet = HangingFleet(clock, {"web1", "web3"}, on_poll=signals)
    retcode, _result, events = _run(fleet, clock, [UPDATE], stop=flag, stop_grace=30)
    assert retcode == 6 and flag.again == "SIGINT"
    update = _finished(events, UPDATE.removeprefix("When "))
    assert update["results"]["web1"]["reason"].startswith("interrupted mid-step: SIGINT after SIGINT")
    assert fleet.killed == [(["web1", "web3"], 104.0)]


def test_a_hanging_host_within_the_budget_counts_against_it():
    clock = Clock()
    fleet = HangingFleet(clock, {"web2"})
    body = ["Given up to 1 hosts may fail", UPDATE, "Then the service mywebapp should be running"]
    retcode, result, _events = _run(fleet, clock, body, step_deadline=10)
    assert retcode == 5
    assert list(result["failed_hosts"]) == ["web2"]


def test_the_stop_flag_tells_when_the_first_stop_came_and_whether_another_did():
    clock = Clock()
    flag = StopFlag(clock)
    assert flag() is None and flag.since is None and flag.again is None
    flag.set("SIGTERM")
    clock.sleep(2)
    flag.set("SIGINT")
    assert flag() == "SIGTERM" and flag.since == 100.0 and flag.again == "SIGINT"
