"""Fleet-scale rollouts against a fake fleet: failure budgets, batch schedules, pauses,
approval gates, @on-failure rollback and the stop flag (SIGTERM/SIGINT)."""

import pytest

from saltext.scenario.engine.errors import EXIT_BUDGET, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_PASSED
from saltext.scenario.engine.parsing.parse import parse_feature
from saltext.scenario.engine.records.progress import ProgressReporter
from saltext.scenario.engine.records.result import ResultCollector
from saltext.scenario.engine.running.approval import Decision
from saltext.scenario.engine.running.execute import Executor
from saltext.scenario.engine.steps import builtin_steps
from saltext.scenario.engine.steps.registry import Registry
from tests.support.engine_calls import build_plan
from tests.support.fake_fleet import FakeFleet, FakeHost

BACKGROUND = """Feature: Rollout
  Background:
    Given the load balancer has ip address 198.51.100.10
    And I want to update hosts with class roles::dev_server
"""
DEPLOY = """
  Scenario: Deploy
    When I block the load balancer
    When I update the package mywebapp to version 4.2.6-3
    Then the package version for mywebapp should be 4.2.6-3
    Then the NRPE check check_web should pass
    When I unblock the load balancer
"""
ROLLBACK = """
  @on-failure
  Scenario: Roll back
    When I roll back the package mywebapp
    Then the NRPE check check_web should pass
    When I unblock the load balancer
"""


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class Approvals:
    """A person at the keyboard: answers each gate in turn, and notes what was asked."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.asked = []

    def wait(self, run_id, batch, hosts, timeout, stopped):
        self.asked.append((batch, list(hosts), timeout))
        return self.answers.pop(0)


def fleet_of(n, broken=(), sick=(), dead=()):
    hosts = []
    for i in range(1, n + 1):
        name = f"web{i}"
        available = ["4.2.5-1"] if name in broken else ["4.2.5-1", "4.2.6-3"]
        nrpe = {"check_web": [2]} if name in sick else None
        hosts.append(FakeHost(name, available=available, nrpe=nrpe))
    return FakeFleet(hosts, dead=dead)


def run(fleet, text, batch=None, max_failures=None, stop=None, approvals=None, after=None):
    plan = build_plan(
        "f",
        parse_feature(text, "features/f.feature"),
        builtin_steps.register(Registry()),
        {},
        batch=batch,
        max_failures=max_failures,
    )
    collector, lines, events = ResultCollector(plan), [], []
    progress = ProgressReporter(lines.append)
    clock = Clock()

    def emit(event):
        events.append(event)
        collector(event)
        progress(event)
        if after:
            after(event, fleet)

    executor = Executor(
        plan, fleet, emit, "run1", clock=clock, sleep=clock.sleep, stop=stop or (lambda: None), approvals=approvals
    )
    retcode = executor.run(fleet.ping("x"))
    result = collector.result()
    assert result["retcode"] == retcode
    return result, lines, events, clock


def hosts_called(fleet, fun):
    return sorted({h for h, f in fleet.log if f == fun})


# -- failure budget -------------------------------------------------------------------------------


def test_one_failed_host_within_budget_leaves_the_run_and_exit_is_5():
    fleet = fleet_of(5, broken={"web3"})
    result, _lines, _events, _clock = run(fleet, BACKGROUND + DEPLOY, max_failures="1")
    assert result["retcode"] == EXIT_BUDGET and result["result"] == "within_budget"
    assert list(result["failed_hosts"]) == ["web3"]
    assert "not available" in result["failed_hosts"]["web3"]["reason"]
    # web3 got no later step and stays blocked; the other four finished the deploy. (The
    # version check shares the update's publish: web3 answered it, but it is reported skipped.)
    version_check = result["scenarios"][0]["steps"][4]
    assert version_check["hosts"]["web3"] == {"status": "skipped"}
    assert "web3" not in hosts_called(fleet, "lbgate.unblock")
    assert fleet.blocked_hosts() == ["web3"] and result["still_blocked"] == ["web3"]
    assert all(fleet.hosts[h].version == "4.2.6-3" for h in ("web1", "web2", "web4", "web5"))
    assert result["allowed_failures"] == 1


def test_one_more_failed_host_than_the_budget_halts_with_exit_1():
    fleet = fleet_of(5, broken={"web2", "web4"})
    result, _lines, _events, _clock = run(fleet, BACKGROUND + DEPLOY, batch="2", max_failures="1")
    assert result["retcode"] == EXIT_FAILED
    assert sorted(result["failed_hosts"]) == ["web2", "web4"]
    assert result["not_started"] == ["web5"]
    assert result["halted"] == "2 host(s) failed, more than the failure budget of 1"
    # The halted batch (web3, web4) stays as it is: blocked, like web2 that left earlier.
    assert fleet.blocked_hosts() == ["web2", "web3", "web4"] == result["still_blocked"]


def test_percent_budget_counts_against_all_pinned_hosts_rounded_down():
    text = BACKGROUND.replace("Background:", "Background:\n    Given up to 20% of the hosts may fail") + DEPLOY
    fleet = fleet_of(9, broken={"web1", "web2"})  # 20% of 9 is 1.8: one host may fail
    result, _lines, _events, _clock = run(fleet, text, batch="3")
    assert result["allowed_failures"] == 1
    assert result["retcode"] == EXIT_FAILED and sorted(result["failed_hosts"]) == ["web1", "web2"]


def test_a_batch_in_which_every_host_failed_halts_when_the_budget_does_not_allow_it():
    fleet = fleet_of(6, broken={"web1", "web2"})
    result, _lines, _events, _clock = run(fleet, BACKGROUND + DEPLOY, batch="2", max_failures="1")
    assert result["retcode"] == EXIT_FAILED
    assert result["halted"] == "every host of batch 1 failed: 2 failed hosts, budget 1"
    assert result["not_started"] == ["web3", "web4", "web5", "web6"]
    assert fleet.hosts["web3"].version == "4.2.5-1"


def test_a_batch_in_which_every_host_failed_goes_on_when_the_budget_allows_it():
    fleet = fleet_of(4, broken={"web1", "web2"})
    result, _lines, _events, _clock = run(fleet, BACKGROUND + DEPLOY, batch="2", max_failures="50%")
    assert result["retcode"] == EXIT_BUDGET
    assert sorted(result["failed_hosts"]) == ["web1", "web2"]
    assert fleet.hosts["web3"].version == "4.2.6-3" and fleet.hosts["web4"].version == "4.2.6-3"


def test_default_budget_halts_at_the_first_failed_host():
    fleet = fleet_of(3, broken={"web2"})
    result, _lines, _events, _clock = run(fleet, BACKGROUND + DEPLOY)
    assert result["retcode"] == EXIT_FAILED and "allowed_failures" not in result
    # The whole batch stops at the failed step: what shared its publish is reported skipped.
    assert [s["status"] for s in result["scenarios"][0]["steps"][3:]] == ["failed", "skipped", "skipped", "skipped"]
    assert hosts_called(fleet, "lbgate.unblock") == []


# -- batch schedules --------------------------------------------------------------------------------


def test_canary_schedule_and_no_host_outside_its_batch_is_ever_blocked():
    fleet = fleet_of(5)
    batches_seen = []

    def check(event, fleet):
        if event["event"] == "batch_started":
            batches_seen.append(event["hosts"])
        if event["event"] == "step_finished" and batches_seen:
            assert set(fleet.blocked_hosts()) <= set(batches_seen[-1])

    text = BACKGROUND.replace("Background:", "Background:\n    Given I update hosts in batches of 1, 50%") + DEPLOY
    result, lines, _events, _clock = run(fleet, text, after=check)
    assert result["retcode"] == EXIT_PASSED
    assert result["batches"] == [["web1"], ["web2", "web3"], ["web4", "web5"]]
    assert batches_seen == result["batches"]
    assert any(line.startswith("batch 2/3 (web2, web3)") for line in lines)


def test_pause_between_batches_sleeps_only_between_them():
    text = BACKGROUND.replace("Background:", "Background:\n    Given I pause 30 seconds between batches") + DEPLOY
    fleet = fleet_of(3)
    _result, _lines, _events, clock = run(fleet, text, batch="1")
    assert clock.now == pytest.approx(160.0)  # two pauses, none before the first batch


# -- approval gates ---------------------------------------------------------------------------------

GATED = """
  Scenario: Deploy with a look at each batch
    When I block the load balancer
    When I update the package mywebapp to version 4.2.6-3
    When I unblock the load balancer
    Then I wait for approval within 5 minutes
"""


def test_approval_lets_each_batch_go_on_and_names_who_approved():
    approvals = Approvals(Decision(True, "alice", "approved by alice"), Decision(True, "bob", "approved by bob"))
    fleet = fleet_of(2)
    result, lines, events, _clock = run(fleet, BACKGROUND + GATED, batch="1", approvals=approvals)
    assert result["retcode"] == EXIT_PASSED
    assert approvals.asked == [(0, ["web1"], 300), (1, ["web2"], 300)]
    assert [a["user"] for a in result["approvals"]] == ["alice", "bob"]
    wanted = [e for e in events if e["event"] == "approval_wanted"]
    assert wanted[1]["hosts_so_far"] == ["web1", "web2"]
    assert "salt-run scenario.approve run1" in wanted[0]["approve"]
    assert any("waiting up to 5 min for approval of batch 1" in line for line in lines)


def test_abort_fails_the_gate_with_the_reason_and_halts():
    approvals = Approvals(Decision(False, "alice", "aborted by alice: error rate"))
    fleet = fleet_of(2)
    result, _lines, _events, _clock = run(fleet, BACKGROUND + GATED, batch="1", approvals=approvals)
    assert result["retcode"] == EXIT_FAILED
    assert result["failed_hosts"]["web1"]["reason"] == "aborted by alice: error rate"
    assert result["not_started"] == ["web2"]


def test_without_an_approval_channel_the_gate_fails():
    result, _lines, _events, _clock = run(fleet_of(1), BACKGROUND + GATED)
    assert result["retcode"] == EXIT_FAILED
    assert "no approval channel" in result["failed_hosts"]["web1"]["reason"]


# -- rollback ------------------------------------------------------------------------------------------


def test_rollback_restores_the_batch_and_keeps_a_sick_host_blocked():
    fleet = fleet_of(3, sick={"web2"})
    result, lines, _events, _clock = run(fleet, BACKGROUND + DEPLOY + ROLLBACK)
    assert result["retcode"] == EXIT_FAILED
    assert result["rollback"]["hosts"] == ["web1", "web2", "web3"]
    # Back to the version the run replaced, on every host of the batch.
    assert all(h.version == "4.2.5-1" for h in fleet.hosts.values())
    # web2's health check still fails after the rollback: never unblocked.
    assert result["rollback"]["rolled_back"] == ["web1", "web3"]
    assert list(result["rollback"]["failed"]) == ["web2"]
    assert fleet.blocked_hosts() == ["web2"] and result["still_blocked"] == ["web2"]
    rollback = next(s for s in result["scenarios"] if s.get("on_failure"))
    assert rollback["status"] == "failed"
    assert any(line.startswith("rolling back on 3 host(s)") for line in lines)
    assert "2 hosts rolled back" in result["summary"]


def test_rollback_never_runs_on_its_own_and_not_after_a_pass():
    fleet = fleet_of(2)
    result, _lines, _events, _clock = run(fleet, BACKGROUND + DEPLOY + ROLLBACK)
    assert result["retcode"] == EXIT_PASSED and "rollback" not in result
    assert all(h.version == "4.2.6-3" for h in fleet.hosts.values())


def test_rollback_of_a_host_the_run_did_not_change_passes_without_a_call():
    fleet = fleet_of(2, broken={"web2"})  # web2's update fails: nothing to roll back there
    result, _lines, _events, _clock = run(fleet, BACKGROUND + DEPLOY + ROLLBACK)
    rollback_step = next(s for s in result["scenarios"] if s.get("on_failure"))["steps"][2]
    assert rollback_step["hosts"]["web2"]["status"] == "passed"
    assert "did not change" in rollback_step["hosts"]["web2"]["reason"]
    assert [c[0] for c in fleet.calls if c[1] == "pkgcheck.update" and len(c[2]) == 2] == [["web1"]]


def test_with_a_budget_rollback_runs_on_every_host_that_left():
    fleet = fleet_of(4, sick={"web2"})
    result, _lines, _events, _clock = run(fleet, BACKGROUND + DEPLOY + ROLLBACK, batch="2", max_failures="1")
    assert result["retcode"] == EXIT_BUDGET
    assert result["rollback"]["hosts"] == ["web2"]
    assert fleet.hosts["web2"].version == "4.2.5-1" and fleet.hosts["web2"].blocked
    assert all(fleet.hosts[h].version == "4.2.6-3" for h in ("web1", "web3", "web4"))


def test_rollback_skips_hosts_that_no_longer_answer():
    fleet = fleet_of(2, sick={"web1"})

    def kill(event, fleet):
        if event["event"] == "step_finished" and event["text"].startswith("the NRPE"):
            fleet.dead.add("web2")

    result, _lines, _events, _clock = run(fleet, BACKGROUND + DEPLOY + ROLLBACK, after=kill)
    assert result["rollback"]["hosts"] == ["web1"] and result["rollback"]["unreachable"] == ["web2"]


# -- stop (SIGTERM / SIGINT) -------------------------------------------------------------------------------


def test_stop_lets_the_step_in_flight_finish_and_skips_the_rest():
    fleet = fleet_of(3)
    flag = {"why": None}

    def stop_after_block(event, fleet):
        if event["event"] == "step_finished" and event["text"] == "I block the load balancer":
            flag["why"] = "SIGTERM"

    result, lines, _events, _clock = run(
        fleet, BACKGROUND + DEPLOY + ROLLBACK, batch="1", stop=lambda: flag["why"], after=stop_after_block
    )
    assert result["retcode"] == EXIT_INTERRUPTED and result["result"] == "interrupted"
    assert result["interrupted"] == "SIGTERM"
    assert [f for _h, f in fleet.log] == ["lbgate.block"]  # nothing after the step in flight, no rollback
    assert result["still_blocked"] == ["web1"] and result["not_started"] == ["web2", "web3"]
    steps = result["scenarios"][0]["steps"]
    assert [s["status"] for s in steps[3:]] == ["skipped"] * 4
    assert {h: r["status"] for h, r in steps[2]["hosts"].items()} == {
        "web1": "passed",
        "web2": "skipped",
        "web3": "skipped",
    }
    assert any("interrupted by SIGTERM" in line for line in lines)
