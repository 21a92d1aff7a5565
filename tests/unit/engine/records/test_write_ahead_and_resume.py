"""Never lose track: the write-ahead record of a run in flight, interrupted runs in history,
resume, approvals answered through the fleet store, and leases between runs."""

import json
import os
import signal
import subprocess
import sys
import types
from pathlib import Path

import pytest

from saltext.scenario.engine.errors import EXIT_FAILED, EXIT_INVALID, EXIT_LOCKED, EXIT_PASSED
from saltext.scenario.engine.parsing.source import DirSource
from saltext.scenario.engine.records import inflight, journal
from saltext.scenario.engine.records.store_approvals import store_approvals
from saltext.scenario.engine.running import approval
from saltext.scenario.engine.running.leases import HostLeases
from saltext.scenario.engine.service import service
from saltext.scenario.engine.store import RunInfo
from saltext.scenario.engine.store.local import LocalStore
from tests.support import engine_calls
from tests.support.fake_fleet import FakeFleet, FakeHost
from tests.support.paths import REPO

FEATURE = """Feature: Rolling
  Background:
    Given the load balancer has ip address 198.51.100.10
    And I want to update hosts with class roles::dev_server
    And I update 1 host at a time

  Scenario: Update
    When I block the load balancer
    When I update the package mywebapp to version 4.2.6-3
    Then the package version for mywebapp should be 4.2.6-3
    When I unblock the load balancer
"""


@pytest.fixture
def site(tmp_path):
    (tmp_path / "site" / "features").mkdir(parents=True)
    (tmp_path / "site" / "features" / "rolling.feature").write_text(FEATURE)
    return tmp_path / "site"


@pytest.fixture
def opts(tmp_path):
    return {"cachedir": str(tmp_path / "cache"), "scenario_lb_address": "198.51.100.10"}


def fleet(broken=()):
    return FakeFleet(
        [
            FakeHost(h, available=["4.2.5-1"] if h in broken else ["4.2.5-1", "4.2.6-3"])
            for h in ("web1", "web2", "web3")
        ]
    )


def run(opts, site, the_fleet, **kw):
    return engine_calls.recorded_run(opts, "rolling", DirSource(site), lambda: the_fleet, user="alice", **kw)


def test_a_run_is_on_record_while_it_goes_and_the_record_moves_to_the_journal(opts, site):
    path = journal.journal_path(opts)
    seen = []

    def look(event):
        if event["event"] == "step_finished" and event["text"] == "I block the load balancer":
            ((record, alive),) = inflight.records(path)
            seen.append((record["state"], alive, record["still_blocked"], record["position"]["text"]))
            seen.append([r["run_id"] for r in journal.active(path)])

    ret = run(opts, site, fleet(), listeners=[look])
    assert ret["retcode"] == EXIT_PASSED
    assert seen[0] == ("running", True, ["web1"], "I block the load balancer")
    assert seen[1] == [ret["run_id"]]
    assert inflight.records(path) == [] and journal.active(path) == []
    record, _ = journal.find(path, ret["run_id"])
    assert record["state"] == "finished" and record["v"] == 2 and record["user"] == "alice"
    assert record["done_batches"] == {str(b): f"passed in run {ret['run_id']}" for b in range(3)}
    assert len(record["feature_sha256"]) == 64


KILLED_RUN = """
import json, os, signal, sys
from saltext.scenario.engine.parsing.source import DirSource
from tests.support import engine_calls
from tests.support.fake_fleet import FakeFleet, FakeHost
from tests.support.paths import REPO

opts, site = json.loads(sys.argv[1]), sys.argv[2]

def die(event):
    if event["event"] == "step_finished" and event["text"] == "I block the load balancer":
        os.kill(os.getpid(), signal.SIGKILL)

fleet = FakeFleet([FakeHost(h) for h in ("web1", "web2", "web3")])
engine_calls.recorded_run(opts, "rolling", DirSource(site), lambda: fleet, listeners=[die])
"""


def _kill_after_block(opts, site):
    """A run whose process is SIGKILLed right after its block step; returns its run id."""
    proc = subprocess.run(
        [sys.executable, "-c", KILLED_RUN, json.dumps(opts), str(site)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    ((record, alive),) = inflight.records(journal.journal_path(opts))
    assert not alive
    return record["run_id"]


def test_a_run_whose_process_died_shows_as_interrupted_with_its_blocked_hosts(opts, site):
    path = journal.journal_path(opts)
    run_id = _kill_after_block(opts, site)
    runs, warnings = journal.history(path)
    assert warnings == [] and [r["run_id"] for r in runs] == [run_id]
    assert runs[0]["state"] == "interrupted" and runs[0]["retcode"] == 6
    assert runs[0]["still_blocked"] == ["web1"]
    assert "after When I block the load balancer" in runs[0]["summary"]
    shown, _ = journal.find(path, run_id)
    assert shown["result"] == "interrupted" and shown["still_blocked"] == ["web1"]
    assert journal.active(path) == []


def test_a_damaged_or_half_written_record_is_skipped_with_a_warning(opts, site):
    path = journal.journal_path(opts)
    run(opts, site, fleet())
    runs_dir = Path(inflight.runs_dir(path))
    (runs_dir / "20261128000000-deadbeef.json").write_bytes(b'{"run_id": "2026')
    (runs_dir / "20261128000000-deadbeef.json.tmp99").write_bytes(b"half")
    runs, warnings = journal.history(path)
    assert len(runs) == 1 and len(warnings) == 1 and "damaged write-ahead record skipped" in warnings[0]


def test_resume_leaves_passed_batches_alone_and_finishes_the_rest(opts, site):
    path = journal.journal_path(opts)
    hosts = fleet(broken={"web2"})
    first = run(opts, site, hosts)
    assert first["retcode"] == EXIT_FAILED and first["not_started"] == ["web3"]
    hosts.hosts["web2"].available.append("4.2.6-3")  # the cause, fixed
    hosts.log.clear()
    resumed = engine_calls.recorded_resume(opts, first["run_id"], DirSource(site), lambda: hosts, user="bob")
    assert resumed["retcode"] == EXIT_PASSED and resumed["resumes"] == first["run_id"]
    assert "web1" not in {h for h, fun in hosts.log if fun != "test.ping"}
    assert all(h.version == "4.2.6-3" and not h.blocked for h in hosts.hosts.values())
    record, _ = journal.find(path, resumed["run_id"])
    assert record["resumes"] == first["run_id"] and record["user"] == "bob"
    assert record["done_batches"]["0"] == f"passed in run {first['run_id']}"
    # The resumed run's journal shows no call to web1.
    assert all("web1" not in s["hosts"] for s in record["batch_steps"])


def test_resume_of_an_interrupted_run(opts, site):
    run_id = _kill_after_block(opts, site)
    hosts = fleet()
    hosts.hosts["web1"].blocked = True  # as the killed run left it
    resumed = engine_calls.recorded_resume(opts, run_id, DirSource(site), lambda: hosts)
    assert resumed["retcode"] == EXIT_PASSED
    assert all(h.version == "4.2.6-3" and not h.blocked for h in hosts.hosts.values())


def test_resume_refuses_a_changed_feature_unless_forced(opts, site):
    hosts = fleet(broken={"web2"})
    first = run(opts, site, hosts)
    feature = site / "features" / "rolling.feature"
    feature.write_text(FEATURE.replace("Scenario: Update", "Scenario: Update, edited"))
    hosts.log.clear()
    refused = engine_calls.recorded_resume(opts, first["run_id"], DirSource(site), lambda: hosts)
    assert refused["retcode"] == EXIT_INVALID and "changed since run" in refused["error"]
    assert hosts.log == []  # nothing touched
    hosts.hosts["web2"].available.append("4.2.6-3")
    forced = engine_calls.recorded_resume(opts, first["run_id"], DirSource(site), lambda: hosts, force=True)
    assert forced["retcode"] == EXIT_PASSED


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda o, s: run(o, s, fleet())["run_id"], "passed; there is nothing to resume"),
        (lambda o, s: "20000101000000-00000000", "no run 20000101000000-00000000"),
        (lambda o, s: run(o, s, fleet(), batch="0")["run_id"], "never started"),
    ],
)
def test_resume_refuses_runs_that_passed_unknown_ids_and_runs_that_never_started(opts, site, make, why):
    ret = engine_calls.recorded_resume(opts, make(opts, site), DirSource(site), fleet)
    assert ret["retcode"] == EXIT_INVALID and why in ret["error"]


def test_resume_with_a_silent_pinned_host_changes_nothing(opts, site):
    hosts = fleet(broken={"web2"})
    first = run(opts, site, hosts)
    hosts.dead.add("web3")
    hosts.log.clear()
    ret = engine_calls.recorded_resume(opts, first["run_id"], DirSource(site), lambda: hosts)
    assert ret["retcode"] == 3 and "web3" in ret["error"] and "nothing was changed" in ret["error"]
    assert [fun for _h, fun in hosts.log] == ["test.ping", "test.ping"]


def test_a_run_that_would_pin_a_leased_host_stops_before_anything_changes(opts, site):
    holder = {"run_id": "20261128000000-aaaaaaaa", "feature": "other_feature", "pid": 1}
    leases = HostLeases(opts["cachedir"], holder).acquire(["web2"])
    hosts = fleet()
    ret = run(opts, site, hosts)
    leases.release()
    assert ret["retcode"] == EXIT_LOCKED
    assert "run 20261128000000-aaaaaaaa (feature 'other_feature'" in ret["error"]
    assert "is running on web2" in ret["error"]
    assert [fun for _h, fun in hosts.log] == []


GATED = FEATURE.replace(
    "    When I unblock the load balancer\n",
    "    When I unblock the load balancer\n    Then I wait for approval within 1 minute\n",
)


def test_approve_and_abort_through_the_runner_files(opts, site):
    (site / "features" / "rolling.feature").write_text(GATED)
    path = journal.journal_path(opts)
    answers = [True, False]

    def answer(event):
        if event["event"] == "approval_wanted":
            approve = answers.pop(0)
            caller = service.Caller(user="carol")
            decided = (
                service.approve(opts, event["run_id"], caller)
                if approve
                else service.abort(opts, event["run_id"], caller, "latency")
            )
            assert decided["retcode"] == 0, decided

    ret = run(opts, site, fleet(), listeners=[answer])
    assert ret["retcode"] == EXIT_FAILED
    assert [(a["approved"], a["user"]) for a in ret["approvals"]] == [(True, "carol"), (False, "carol")]
    assert ret["failed_hosts"]["web2"]["reason"] == "aborted by carol: latency"
    record, _ = journal.find(path, ret["run_id"])
    assert [a["user"] for a in record["approvals"]] == ["carol", "carol"]


def test_decide_refuses_runs_that_do_not_wait(opts, site):
    ret = run(opts, site, fleet())
    refused = service.approve(opts, ret["run_id"], service.Caller(user="carol"))
    assert refused["retcode"] == EXIT_INVALID and "is not running" in refused["error"]


def test_an_approval_times_out(opts, site, monkeypatch):
    (site / "features" / "rolling.feature").write_text(GATED)
    clock = {"now": 0.0}
    fake_time = types.SimpleNamespace(
        monotonic=lambda: clock["now"], sleep=lambda s: clock.__setitem__("now", clock["now"] + s)
    )
    monkeypatch.setattr(approval, "time", fake_time)  # the approval wait's clock only
    ret = run(opts, site, fleet())
    assert ret["retcode"] == EXIT_FAILED
    assert ret["failed_hosts"]["web1"]["reason"] == "no approval within 1 minute(s)"


def test_a_stale_answer_for_another_gate_is_ignored(tmp_path):
    store = LocalStore(str(tmp_path / "scenario"), "m1")
    run_id = "20261128000000-aaaaaaaa"
    with store.open_run(RunInfo(run_id, "m1", "rolling", "alice", os.getpid())) as handle:
        store.answer(run_id, True, "x", batch=0)  # meant for the gate of the first batch
        clock = {"now": 0.0}
        box = store_approvals(handle, clock=lambda: clock["now"], sleep=lambda s: clock.update(now=clock["now"] + s))
        decision = box.wait(run_id, 1, ["web2"], 2, lambda: False)
        assert decision.approved is False and "no approval within" in decision.reason
        assert store.answer_for(run_id) is None  # taken and dropped


def test_leases_and_lock_are_released_after_every_run(opts, site):
    run(opts, site, fleet(broken={"web2"}))
    HostLeases(opts["cachedir"], {"run_id": "x"}).acquire(["web1", "web2", "web3"]).release()
    assert not list((Path(opts["cachedir"]) / "scenario" / "runs").iterdir())


def test_reports_of_a_journal_record_say_what_the_run_said(opts, site, tmp_path):
    from saltext.scenario.engine.records import replay, report_files

    ret = run(opts, site, fleet(broken={"web2"}), report_dir=str(tmp_path / "own"))
    record, _ = journal.find(journal.journal_path(opts), ret["run_id"])
    again, recorder = replay.run_from_record(record)
    paths = report_files.write_reports(str(tmp_path / "again"), again, recorder)
    for kind in ("cucumber_json", "junit_xml"):
        assert Path(paths[kind]).read_bytes() == Path(ret["reports"][kind]).read_bytes(), kind
    assert Path(paths["html"]).stat().st_size > 0


def test_reports_of_an_interrupted_run_mark_what_did_not_run_as_skipped(opts, site, tmp_path):
    from saltext.scenario.engine.records import replay, report_files

    run_id = _kill_after_block(opts, site)
    record, _ = journal.find(journal.journal_path(opts), run_id)
    ret, recorder = replay.run_from_record(record)
    assert ret["result"] == "interrupted" and ret["still_blocked"] == ["web1"]
    paths = report_files.write_reports(str(tmp_path / "r"), ret, recorder)
    cucumber = json.loads(Path(paths["cucumber_json"]).read_text())
    first_batch = cucumber[0]["elements"][0]["steps"]
    assert [s["result"]["status"] for s in first_batch[3:]] == ["passed", "skipped", "skipped", "skipped"]
    assert "<skipped" in Path(paths["junit_xml"]).read_text() and Path(paths["html"]).exists()
