"""The listener that reads step events and their declared effects: hosts out of the balancer,
versions replaced, a rollback's per-host arguments; and the step_started event before every
publish, which a listener that must succeed can refuse."""

import pytest

from saltext.scenario.engine.errors import EXIT_LOCKED, LockHeld
from saltext.scenario.engine.parsing.parse import parse_feature
from saltext.scenario.engine.parsing.source import DirSource
from saltext.scenario.engine.records.result import ResultCollector
from saltext.scenario.engine.running.execute import Executor
from saltext.scenario.engine.running.fleet_effects import UNCHANGED, FleetEffects
from saltext.scenario.engine.steps import builtin_steps
from saltext.scenario.engine.steps.calls import NoCall
from saltext.scenario.engine.steps.effects import Effects
from saltext.scenario.engine.steps.registry import Registry
from tests.support import engine_calls as api
from tests.support.engine_calls import build_plan
from tests.support.fake_fleet import FakeFleet, FakeHost
from tests.support.sites import copy_site


def _finished(effects, results):
    return {"event": "step_finished", "effects": effects.as_dict(), "results": results}


def _ok(ret=None):
    return {"ok": True, "reason": None, "ret": ret}


def _failed(ret=None):
    return {"ok": False, "reason": "no", "ret": ret}


def test_hosts_leave_and_rejoin_the_balancer_only_when_they_pass():
    fleet = FleetEffects()
    fleet(_finished(Effects(leaves_balancer=True), {"web1": _ok(), "web2": _failed(), "web3": _ok()}))
    assert fleet.blocked == {"web1", "web3"}
    fleet(_finished(Effects(rejoins_balancer=True), {"web1": _ok(), "web3": _failed()}))
    assert fleet.final_fields()["still_blocked"] == ["web3"]


def test_a_drain_that_timed_out_left_the_host_out_of_rotation():
    fleet = FleetEffects()
    fleet(_finished(Effects(leaves_balancer=True), {"web1": _failed({"out_of_rotation": True}), "web2": _failed()}))
    assert fleet.blocked == {"web1"}


def test_the_first_version_a_run_replaced_is_kept_per_host_and_package():
    fleet = FleetEffects()
    update = Effects(records_version="app")
    fleet(_finished(update, {"web1": _ok({"changed": True, "old": "1.0"}), "web2": _ok({"changed": False})}))
    fleet(_finished(update, {"web1": _ok({"changed": True, "old": "1.1"})}))
    fleet(_finished(Effects(), {"web2": _ok({"changed": True, "old": "0.9"})}))  # declares nothing
    assert fleet.final_fields()["replaced"] == {"web1": {"app": "1.0"}}


def test_other_events_and_steps_without_effects_change_nothing():
    fleet = FleetEffects()
    fleet({"event": "step_started", "effects": {"leaves_balancer": True}, "hosts": ["web1"]})
    fleet({"event": "step_finished", "results": {"web1": _ok()}})  # an event without effects
    assert fleet.final_fields() == {"still_blocked": [], "replaced": {}}


def _plan(body):
    text = 'Feature: F\n  Scenario: S\n    Given I want to update hosts matching "web*"\n' + body
    return build_plan("f", parse_feature(text, "features/f.feature"), builtin_steps.register(Registry()), {})


def test_a_rollback_step_gets_back_each_host_s_version_and_other_steps_get_none():
    plan = _plan("    When I roll back the package app\n    When I restart the service app\n")
    rollback, restart = plan.scenarios[0].steps[1:]
    fleet = FleetEffects()
    fleet(_finished(Effects(records_version="app"), {"web1": _ok({"changed": True, "old": "1.0"})}))
    assert fleet.host_args(rollback, ["web1", "web2"]) == {"web1": ("1.0",), "web2": NoCall(UNCHANGED)}
    assert fleet.host_args(restart, ["web1"]) is None


# -- step_started, and a listener the run depends on ----------------------------------------------------


@pytest.fixture
def site(tmp_path):
    return copy_site(tmp_path)


@pytest.fixture
def opts(tmp_path):
    return {"cachedir": str(tmp_path / "cache"), "scenario_lb_address": "198.51.100.10"}


def _fleet():
    return FakeFleet([FakeHost("web1"), FakeHost("web2"), FakeHost("web3")])


class Holds:
    """Stands in for a fleet-wide hold: written before hosts leave the balancer, or the run stops."""

    must_succeed = True

    def __init__(self, fail=False):
        self.fail = fail
        self.started = []

    def __call__(self, event):
        if event["event"] != "step_started":
            return
        self.started.append(event)
        if self.fail and event["effects"].get("leaves_balancer"):
            raise LockHeld("cannot write the hold")


def test_step_started_comes_before_each_publish_with_its_hosts_and_effects(site, opts):
    fleet, holds, seen = _fleet(), Holds(), []

    def order(event):
        seen.append((event["event"], len(fleet.publishes)))

    ret = api.run(opts, "update_website", DirSource(site), lambda: fleet, listeners=[holds, order])
    assert ret["retcode"] == 0, ret
    first = holds.started[0]
    assert first["location"] == "features/update_website.feature:9" and first["text"] == "I block the load balancer"
    assert first["hosts"] == ["web1", "web2", "web3"] and first["effects"] == {"leaves_balancer": True}
    assert first["phase"] == "deploy" and first["batch"] == 0
    # The Then riding in the When's job is listed in the same event.
    assert first["steps"] == [
        {"step": 4, "location": "features/update_website.feature:9", "effects": {"leaves_balancer": True}},
        {"step": 5, "location": "features/update_website.feature:10", "effects": {}},
    ]
    assert [e["effects"] for e in holds.started] == [
        {"leaves_balancer": True},
        {"records_version": "mywebapp"},
        {},
        {"rejoins_balancer": True},
    ]
    # Each step_started comes right before the publish it announces: one publish between one
    # step_started and the next.
    before = [n for kind, n in seen if kind == "step_started"]
    assert before == [0, 1, 2, 3] and len(fleet.publishes) == 4


def test_a_listener_that_must_succeed_stops_the_run_before_the_hosts_are_touched(site, opts):
    fleet, holds = _fleet(), Holds(fail=True)
    ret = api.run(opts, "update_website", DirSource(site), lambda: fleet, listeners=[holds])
    assert ret["retcode"] == EXIT_LOCKED and ret["result"] == "failed"
    assert ret["interrupted"] == "cannot write the hold"
    assert [c[1] for c in fleet.calls if c[1] != "test.ping"] == []  # nothing was published
    assert all(not h.blocked and h.version == "4.2.5-1" for h in fleet.hosts.values())
    statuses = [st["status"] for st in ret["scenarios"][0]["steps"]]
    assert "failed" not in statuses and statuses.count("skipped") == len(statuses) - statuses.count("passed")


def test_a_broken_reporter_is_only_logged(site, opts):
    fleet = _fleet()

    def broken(event):
        raise LockHeld("not mine to stop the run")

    ret = api.run(opts, "update_website", DirSource(site), lambda: fleet, listeners=[broken])
    assert ret["retcode"] == 0, ret


def test_a_refusal_mid_run_keeps_the_hosts_as_they_are_and_runs_no_recovery():
    text = """Feature: F
  Background:
    Given the load balancer has ip address 198.51.100.10
    And I want to update hosts matching "web*"

  Scenario: Deploy
    When I block the load balancer
    When I update the package mywebapp to version 4.2.6-3
    When I unblock the load balancer

  @on-failure
  Scenario: Roll back
    When I roll back the package mywebapp
    When I unblock the load balancer
"""
    plan = build_plan("f", parse_feature(text, "features/f.feature"), builtin_steps.register(Registry()), {})
    fleet, collector = _fleet(), ResultCollector(plan)

    def emit(event):
        collector(event)
        if event["event"] == "step_started" and event["effects"].get("rejoins_balancer"):
            raise LockHeld("the store is gone")

    retcode = Executor(plan, fleet, emit, "run1").run(fleet.ping("x"))
    result = collector.result()
    assert retcode == EXIT_LOCKED == result["retcode"]
    assert result["still_blocked"] == ["web1", "web2", "web3"] == fleet.blocked_hosts()
    assert all(h.version == "4.2.6-3" for h in fleet.hosts.values())  # no rollback ran
    assert "rollback" not in result and result["interrupted"] == "the store is gone"
    assert [st["status"] for st in result["scenarios"][0]["steps"]][-1] == "skipped"
