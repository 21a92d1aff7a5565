"""scenario.react: untrusted reactor events are checked before any scenario runs."""

import logging

import pytest

from saltext.scenario import config
from saltext.scenario.engine.adapters import Adapters
from saltext.scenario.engine.running import react as react_mod
from saltext.scenario.engine.service import service
from tests.support.fake_dunders import load

OPTS = {"scenario_reactor_allow": ["update_website"], "scenario_reactor_senders": ["web*"]}


class ListHandler(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def warnings_logged():
    """The react module's warnings (no caplog: the suite runs with -p no:logging)."""
    handler = ListHandler()
    react_mod.log.addHandler(handler)
    react_mod.log.propagate = False  # salt's import-time log buffer would print them at exit
    try:
        yield handler.messages
    finally:
        react_mod.log.propagate = True
        react_mod.log.removeHandler(handler)


def _event(payload, sender="web1"):
    data = {"tag": "scenario/request", "data": payload, "cmd": "_minion_event", "_stamp": "2026-11-25T03:00:00"}
    if sender is not None:
        data["id"] = sender
    return data


class Harness:
    def __init__(self, run_ret=None):
        self.runs, self.fired = [], []
        self.run_ret = run_ret or {"retcode": 0, "result": "passed"}

    def run(self, name, batch):
        self.runs.append((name, batch))
        return dict(self.run_ret)

    def fire(self, data, tag):
        self.fired.append((tag, data))

    def react(self, data, opts=OPTS):
        return react_mod.react(config.load(opts), "scenario/request", data, self.run, self.fire)


def test_an_allowed_request_runs_the_scenario_once():
    h = Harness()
    ret = h.react(_event({"scenario": "update_website"}))
    assert ret["retcode"] == 0 and h.runs == [("update_website", None)] and h.fired == []
    assert ret["request"] == {"tag": "scenario/request", "sender": "web1", "scenario": "update_website"}


def test_salt_call_job_metadata_in_the_payload_is_ignored():
    h = Harness()
    payload = {
        "scenario": "update_website",
        "__pub_fun": "event.send",
        "__pub_jid": "1",
        "__pub_pid": 2,
        "__pub_tgt": "salt-call",
    }
    assert h.react(_event(payload))["retcode"] == 0 and h.runs == [("update_website", None)]


def test_batch_is_passed_on():
    h = Harness()
    assert h.react(_event({"scenario": "update_website", "batch": "25%"}))["retcode"] == 0
    assert h.runs == [("update_website", "25%")]


BIG = {"scenario": "update_website", "batch": "1" * 5000}


@pytest.mark.parametrize(
    "data, fragment",
    [
        (["not", "a", "dict"], "event data must be a mapping"),
        (_event(BIG), "event data too large"),
        (_event({"scenario": "update_website"}, sender=None), "no valid sender id"),
        (_event({"scenario": "update_website"}, sender="web1\nFAKE LOG LINE"), "no valid sender id"),
        (_event({"scenario": "update_website"}, sender="db1"), "sender 'db1' is not allowed"),
        (_event("update_website"), "the payload must be a mapping"),
        (_event({"scenario": "update_website", "tags": "@x"}), "unexpected payload key(s) ['tags']"),
        (_event({"name": "update_website"}), "unexpected payload key(s) ['name']"),
        (_event({"scenario": ["update_website"]}), "names no scenario"),
        (_event({"scenario": "../x"}), "path traversal is not allowed"),
        (_event({"scenario": "/etc/passwd"}), "absolute paths are not allowed"),
        (_event({"scenario": "rolling_update"}), "'rolling_update' is not on the allowlist"),
        (_event({"scenario": "update_website", "batch": "all"}), "batch='all'"),
        (_event({"scenario": "update_website", "batch": True}), "batch must be a count"),
    ],
)
def test_bad_requests_are_refused_logged_and_fired_and_run_nothing(warnings_logged, data, fragment):
    h = Harness()
    ret = h.react(data)
    assert ret["retcode"] == 2 and ret["result"] == "refused" and fragment in ret["reason"], ret
    assert h.runs == []
    assert h.fired == [("saltext/scenario/react/refused", {**ret["request"], "reason": ret["reason"]})]
    assert any(fragment in msg and "refused" in msg for msg in warnings_logged)


@pytest.mark.parametrize(
    "opts", [{}, {"scenario_reactor_allow": ["update_website"]}, {"scenario_reactor_senders": ["*"]}]
)
def test_nothing_is_allowed_by_default(opts, warnings_logged):
    h = Harness()
    ret = h.react(_event({"scenario": "update_website"}), opts=opts)
    assert ret["retcode"] == 2 and h.runs == []


def test_a_second_request_while_running_is_logged_as_already_running(warnings_logged):
    h = Harness(run_ret={"retcode": 4, "result": "error", "error": "another run holds the lock"})
    ret = h.react(_event({"scenario": "update_website"}))
    assert ret["retcode"] == 4 and h.runs == [("update_website", None)]
    assert h.fired[0][0] == "saltext/scenario/react/busy"
    assert any("already running" in msg for msg in warnings_logged)


def test_a_request_refused_over_held_hosts_fires_an_event_naming_the_holder(warnings_logged):
    hold = {"host": "web2", "run_id": "20261204101500-3f9a2c1d", "feature": "update_website", "step": "When I block"}
    error = "pinned hosts are taken by other runs: web2 is held by run 20261204101500-3f9a2c1d ..."
    h = Harness(run_ret={"retcode": 4, "result": "error", "error": error, "held_by": [hold]})
    ret = h.react(_event({"scenario": "update_website"}))
    assert ret["retcode"] == 4
    ((tag, data),) = h.fired
    assert tag == "saltext/scenario/react/held" and data["held_by"] == [hold] and data["error"] == error
    assert any("held hosts" in msg for msg in warnings_logged)


def test_runner_react_goes_through_run_and_sets_retcode(tmp_path, monkeypatch, warnings_logged):
    mod = load("_runners/scenario.py", opts={**OPTS, "cachedir": str(tmp_path)})
    calls, fired = [], []

    def fake_run(settings, request, source, transport_factory, caller, prometheus=None, store=None, resolve=None):
        calls.append((request.name, caller.progress, {"batch": request.batch}))
        return {"retcode": 1, "scenarios": [{"steps": []}]}  # a run that failed a step

    class Bus:
        def fire(self, data, tag):
            fired.append(tag)

    monkeypatch.setattr(service.recorded_run, "run", fake_run, raising=True)
    monkeypatch.setattr(
        service, "build_adapters", lambda opts, settings, saltenv: Adapters(None, None, None), raising=True
    )
    monkeypatch.setattr(service, "build_bus", lambda opts: Bus(), raising=True)
    assert mod.react(tag="scenario/request", data=_event({"scenario": "update_website"}))["retcode"] == 1
    assert mod.__context__["retcode"] == 1
    # A reactor-started run reports progress to the log only, never on the shared __jid_event__.
    assert calls == [("update_website", mod.log.info, {"batch": None})]
    assert mod.react(tag="scenario/request", data=_event({"scenario": "../x"}))["retcode"] == 2
    assert mod.__context__["retcode"] == 2 and fired == ["saltext/scenario/react/refused"] and len(calls) == 1


def test_a_request_that_ran_no_step_for_another_reason_says_why_in_the_log(warnings_logged):
    ret = {"retcode": 3, "result": "error", "error": "the fleet store cannot be reached or written: /x: EIO"}
    h = Harness(run_ret=ret)
    out = h.react(_event({"scenario": "update_website"}))
    assert out["retcode"] == 3 and h.runs == [("update_website", None)]
    assert h.fired == [
        (
            "saltext/scenario/react/not_run",
            {**out["request"], "reason": "ran no step", "retcode": 3, "error": ret["error"]},
        )
    ]
    assert warnings_logged == [
        "scenario.react: scenario 'update_website' ran no step for 'web1': exit 3: "
        "the fleet store cannot be reached or written: /x: EIO"
    ]
