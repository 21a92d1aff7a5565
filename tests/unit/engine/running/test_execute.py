"""Execution verdicts against a fake fleet: no response, retcodes, halting, rolling batches."""

import pytest

from saltext.scenario.engine.parsing.parse import parse_feature
from saltext.scenario.engine.records.progress import ProgressReporter
from saltext.scenario.engine.records.result import ResultCollector
from saltext.scenario.engine.running.execute import Executor
from saltext.scenario.engine.steps import builtin_steps
from saltext.scenario.engine.steps.registry import Registry
from tests.support.engine_calls import build_plan
from tests.support.fake_fleet import FakeFleet, FakeHost, default_fleet

BACKGROUND = [
    "Given the load balancer has ip address 198.51.100.10",
    "And I want to update hosts with class roles::dev_server",
]
UPDATE = [
    "When I block the load balancer",
    "Then traffic from the load balancer should be blocked",
    "When I update the package mywebapp to version 4.2.6-3",
    "Then the package version for mywebapp should be 4.2.6-3",
    "Then the NRPE check check_load should pass",
    "When I unblock the load balancer",
    "Then traffic from the load balancer should be unblocked",
]


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def _run(fleet, body=UPDATE, batch=None, extra_given=()):
    text = "Feature: F\n  Scenario: S\n" + "".join(f"    {line}\n" for line in [*BACKGROUND, *extra_given, *body])
    plan = build_plan(
        "f", parse_feature(text, "features/f.feature"), builtin_steps.register(Registry()), {}, batch=batch
    )
    collector, lines, events = ResultCollector(plan), [], []
    progress = ProgressReporter(lines.append)
    clock = Clock()

    def emit(event):
        events.append(event)
        collector(event)
        progress(event)

    retcode = Executor(plan, fleet, emit, "run1", clock=clock, sleep=clock.sleep).run(fleet.ping("x"))
    result = collector.result()
    assert result["retcode"] == retcode
    return result, lines, events, clock


def _statuses(result):
    return [s["status"] for s in result["scenarios"][0]["steps"]]


def test_all_pass():
    fleet = default_fleet()
    result, lines, _events, _clock = _run(fleet)
    assert result["retcode"] == 0 and result["result"] == "passed"
    assert _statuses(result) == ["passed"] * 9
    assert result["pinned"] == ["web1", "web2", "web3"]
    assert result["failed_hosts"] == {} and result["still_blocked"] == []
    assert result["summary"].startswith("1 scenario (1 passed), 9 steps (9 passed), 3 hosts, ")
    assert all(h.version == "4.2.6-3" and not h.blocked for h in fleet.hosts.values())
    block_line = next(line for line in lines if "I block the load balancer" in line)
    assert "features/f.feature:5" in block_line and "3 passed, 0 failed" in block_line
    # every call went to the pinned list, in step order
    assert [c[1] for c in fleet.calls] == [
        "lbgate.block",
        "lbgate.verify_blocked",
        "pkgcheck.update",
        "pkgcheck.verify",
        "nrpe.run",
        "lbgate.unblock",
        "lbgate.verify_blocked",
    ]
    assert all(c[0] == ["web1", "web2", "web3"] for c in fleet.calls)


def test_missing_package_version_halts_and_leaves_hosts_blocked():
    fleet = FakeFleet([FakeHost("web1"), FakeHost("web2", available=["4.2.5-1"]), FakeHost("web3")])
    result, lines, _events, _clock = _run(fleet)
    assert result["retcode"] == 1
    assert _statuses(result) == [
        "passed",
        "passed",
        "passed",
        "passed",
        "failed",
        "skipped",
        "skipped",
        "skipped",
        "skipped",
    ]
    failed = result["failed_hosts"]
    assert list(failed) == ["web2"]
    assert failed["web2"]["location"] == "features/f.feature:7"
    assert "retcode 1" in failed["web2"]["reason"] and "not available" in failed["web2"]["reason"]
    assert result["still_blocked"] == ["web1", "web2", "web3"]
    assert fleet.blocked_hosts() == ["web1", "web2", "web3"]
    assert not any(c[1] == "lbgate.unblock" for c in fleet.calls)
    assert "1 scenario (1 failed), 9 steps (4 passed, 1 failed, 4 skipped)" in result["summary"]
    assert any(line.startswith("\u2718 When I update the package") and "web2: retcode 1" in line for line in lines)
    assert any("skipped" in line and "I unblock" in line for line in lines)


def test_host_that_does_not_answer_fails_with_no_response():
    fleet = default_fleet()

    def kill_web2(fleet, fun):
        if fun == "lbgate.verify_blocked":
            fleet.dead.add("web2")

    fleet.after_call = kill_web2
    result, _lines, _events, _clock = _run(fleet)
    assert result["retcode"] == 1
    step = result["scenarios"][0]["steps"][4]
    assert step["status"] == "failed"
    assert step["hosts"]["web2"] == {"status": "failed", "reason": "no response", "ret": None}
    assert step["hosts"]["web1"]["status"] == "passed"
    assert result["failed_hosts"]["web2"]["reason"] == "no response"


def test_retcode_alone_fails_a_host():
    fleet = default_fleet()
    result, _l, _e, _c = _run(fleet, body=["When I restart the service web", "Then the service web should be running"])
    # service.status is simulated for mywebapp only: for "web" the fake answers retcode 254
    assert result["retcode"] == 1
    assert result["scenarios"][0]["steps"][3]["hosts"]["web1"]["reason"].startswith("retcode 254")


def test_nrpe_critical_keeps_batch_blocked():
    fleet = FakeFleet([FakeHost("web1"), FakeHost("web2", nrpe={"check_load": [2]}), FakeHost("web3")])
    result, _l, _e, _c = _run(fleet)
    assert result["retcode"] == 1
    assert "CRITICAL" in result["failed_hosts"]["web2"]["reason"]
    assert result["failed_hosts"]["web2"]["location"] == "features/f.feature:9"
    assert result["still_blocked"] == ["web1", "web2", "web3"]


def test_within_retries_only_failing_hosts_until_it_passes():
    fleet = FakeFleet([FakeHost("web1"), FakeHost("web2", nrpe={"check_web": [2, 2, 0]})])
    result, _l, _e, clock = _run(fleet, body=["Then the NRPE check check_web should pass within 10 seconds"])
    assert result["retcode"] == 0
    nrpe_calls = [c[0] for c in fleet.calls if c[1] == "nrpe.run"]
    assert nrpe_calls == [["web1", "web2"], ["web2"], ["web2"]]
    assert clock.now == pytest.approx(102.0)


def test_within_gives_up_at_the_deadline():
    fleet = FakeFleet([FakeHost("web1", nrpe={"check_web": [2]})])
    result, _l, _e, clock = _run(fleet, body=["Then the NRPE check check_web should pass within 3 seconds"])
    assert result["retcode"] == 1
    assert clock.now == pytest.approx(103.0)
    assert len(fleet.calls) == 4


def test_rolling_batches_each_batch_whole_scenario_first():
    fleet = default_fleet()
    result, lines, _events, _clock = _run(fleet, batch="1")
    assert result["retcode"] == 0
    assert result["batches"] == [["web1"], ["web2"], ["web3"]]
    hosts_in_order = [h for h, _fun in fleet.log]
    assert hosts_in_order == ["web1"] * 7 + ["web2"] * 7 + ["web3"] * 7
    assert any(line.startswith("[batch 2/3]") for line in lines)
    assert sum("Given" in line for line in lines) == 2  # reported once, not per batch
    assert _statuses(result) == ["passed"] * 9


def test_at_most_one_blocked_host_at_any_call_with_batch_1():
    fleet = default_fleet()
    seen = []
    fleet.after_call = lambda f, fun: seen.append(len(f.blocked_hosts()))
    _run(fleet, batch="1")
    assert max(seen) == 1


def test_failure_in_batch_2_leaves_batch_3_untouched():
    fleet = FakeFleet([FakeHost("web1"), FakeHost("web2", available=["4.2.5-1"]), FakeHost("web3")])
    result, lines, events, _clock = _run(fleet, batch="1")
    assert result["retcode"] == 1
    assert "web3" not in {h for h, _fun in fleet.log}
    assert fleet.hosts["web3"].version == "4.2.5-1" and not fleet.hosts["web3"].blocked
    assert fleet.hosts["web1"].version == "4.2.6-3" and not fleet.hosts["web1"].blocked
    assert result["still_blocked"] == ["web2"]
    assert result["not_started"] == ["web3"]
    update = result["scenarios"][0]["steps"][4]
    assert update["status"] == "failed"
    assert {h: r["status"] for h, r in update["hosts"].items()} == {
        "web1": "passed",
        "web2": "failed",
        "web3": "skipped",
    }
    assert any("batch 3: not started (web3)" in line for line in lines)
    assert [e["event"] for e in events].count("batch_skipped") == 1


def test_percent_batches():
    fleet = FakeFleet([FakeHost(f"web{i}") for i in range(1, 6)])
    result, _l, _e, _c = _run(fleet, batch="40%")
    assert result["batches"] == [["web1", "web2"], ["web3", "web4"], ["web5"]]


def test_events_are_plain_dicts_in_order():
    fleet = default_fleet()
    _result, _l, events, _c = _run(fleet)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert kinds.count("step_finished") == 9
    step = next(e for e in events if e["event"] == "step_finished" and e["call"])
    assert step["jids"] and step["location"].startswith("features/f.feature:")
