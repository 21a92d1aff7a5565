"""Holds through the local fleet store, with a fake fleet: a host a run left out of the balancer
stays out of every other run until it is verified (a resume that passes) or released."""

import os
from pathlib import Path

import pytest

from saltext.scenario import config
from saltext.scenario.engine.errors import EXIT_BUDGET, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_LOCKED, EXIT_PASSED
from saltext.scenario.engine.parsing.source import DirSource
from saltext.scenario.engine.records import journal
from saltext.scenario.engine.service import service
from saltext.scenario.engine.store import RunInfo, StoreUnavailable, open_store
from tests.support import engine_calls
from tests.support.fake_fleet import FakeFleet, FakeHost

BACKGROUND = """  Background:
    Given the load balancer has ip address 198.51.100.10
    And I want to update hosts with class roles::dev_server
"""
DEPLOY = f"""Feature: Deploy
{BACKGROUND}    And I update 1 host at a time

  Scenario: Update
    When I block the load balancer
    When I update the package mywebapp to version 4.2.6-3
    Then the package version for mywebapp should be 4.2.6-3
    When I unblock the load balancer
"""
GATE = f"""Feature: Gate
{BACKGROUND}
  Scenario: Gate every host
    When I block the load balancer
    Then traffic from the load balancer should be blocked
    When I unblock the load balancer
    Then traffic from the load balancer should be unblocked
"""
ROLLBACK = (
    DEPLOY
    + """
  @on-failure
  Scenario: Roll back
    When I roll back the package mywebapp
    When I unblock the load balancer
"""
)
HOSTS = ("web1", "web2", "web3")


@pytest.fixture
def site(tmp_path):
    features = tmp_path / "site" / "features"
    features.mkdir(parents=True)
    for name, text in (("deploy", DEPLOY), ("gate", GATE), ("rollback", ROLLBACK)):
        (features / f"{name}.feature").write_text(text)
    return tmp_path / "site"


@pytest.fixture
def opts(tmp_path):
    return {"cachedir": str(tmp_path / "cache"), "scenario_lb_address": "198.51.100.10", "id": "master1"}


def fleet(broken=()):
    return FakeFleet([FakeHost(h, available=["4.2.5-1"] if h in broken else ["4.2.5-1", "4.2.6-3"]) for h in HOSTS])


def run(opts, site, the_fleet, name="deploy", **kw):
    return engine_calls.recorded_run(opts, name, DirSource(site), lambda: the_fleet, user="alice", **kw)


def store_of(opts):
    return open_store(config.load(opts))


def held(opts):
    return {h.host: h for h in store_of(opts).holds()}


def lb_calls(the_fleet):
    return [(host, fun) for host, fun in the_fleet.log if fun.startswith("lbgate.")]


def test_a_failed_deploy_holds_its_failed_host_and_the_gate_feature_is_refused(opts, site):
    hosts = fleet(broken={"web2"})
    first = run(opts, site, hosts)
    assert first["retcode"] == EXIT_FAILED
    holds = held(opts)
    # web1 passed every step and was put back: cleared; web3 was never touched: never held.
    assert sorted(holds) == ["web2"] and first["holds"] == ["web2"]
    hold = holds["web2"]
    assert hold.run_id == first["run_id"] and hold.feature == "deploy" and hold.master == "master1"
    assert hold.step.startswith("When I update the package mywebapp") and "4.2.6-3" in hold.reason
    hosts.log.clear()
    gate = run(opts, site, hosts, name="gate")
    assert gate["retcode"] == EXIT_LOCKED, gate
    assert f"web2 is held by run {first['run_id']} (feature 'deploy', master master1" in gate["error"]
    assert f"salt-run scenario.resume {first['run_id']}" in gate["error"]
    assert 'salt-run scenario.release RUN_ID [hosts=a,b] reason="..."' in gate["error"]
    assert [h["host"] for h in gate["held_by"]] == ["web2"]
    assert lb_calls(hosts) == [] and hosts.hosts["web2"].blocked  # nothing unblocked


def test_release_clears_the_hold_journaled_with_the_user_and_unblocks_nothing(opts, site):
    hosts = fleet(broken={"web2"})
    first = run(opts, site, hosts)
    no_reason = service.release(opts, first["run_id"], None, service.Caller(user="carol"), None)
    assert no_reason["retcode"] == 2 and "reason" in no_reason["error"] and held(opts)
    ret = service.release(opts, first["run_id"], "web2", service.Caller(user="carol"), "rolled back by hand")
    assert ret["retcode"] == 0 and [h["host"] for h in ret["released"]] == ["web2"], ret
    assert held(opts) == {} and hosts.hosts["web2"].blocked  # released, still blocked
    record = journal.find(journal.journal_path(config.load(opts)), ret_id := _release_id(opts))[0]
    assert record["user"] == "carol" and record["releases"] == first["run_id"] and record["hosts"] == ["web2"]
    assert "rolled back by hand" in record["summary"] and ret_id
    again = service.release(opts, first["run_id"], None, service.Caller(user="carol"), "twice")
    assert again["retcode"] == 1 and "holds no host" in again["error"]
    hosts.hosts["web2"].available.append("4.2.6-3")
    assert run(opts, site, hosts, name="gate")["retcode"] == EXIT_PASSED
    assert not hosts.hosts["web2"].blocked  # put back by the run that verified it


def _release_id(opts):
    for record in journal.records(journal.journal_path(config.load(opts))):
        if record.get("kind") == "release":
            return record["run_id"]
    raise AssertionError("no release record")


def test_a_resume_that_passes_clears_the_holds_it_took_over(opts, site):
    hosts = fleet(broken={"web2"})
    first = run(opts, site, hosts)
    hosts.hosts["web2"].available.append("4.2.6-3")
    resumed = engine_calls.recorded_resume(opts, first["run_id"], DirSource(site), lambda: hosts)
    assert resumed["retcode"] == EXIT_PASSED, resumed
    assert held(opts) == {} and resumed["holds"] == []
    assert run(opts, site, hosts, name="gate")["retcode"] == EXIT_PASSED


def test_a_resume_that_fails_again_keeps_the_holds_in_its_own_name(opts, site):
    hosts = fleet(broken={"web2"})
    first = run(opts, site, hosts)
    resumed = engine_calls.recorded_resume(opts, first["run_id"], DirSource(site), lambda: hosts)
    assert resumed["retcode"] == EXIT_FAILED
    assert {h: v.run_id for h, v in held(opts).items()} == {"web2": resumed["run_id"]}


def test_within_budget_keeps_the_failed_host_held_and_clears_the_others(opts, site):
    hosts = fleet(broken={"web2"})
    ret = run(opts, site, hosts, max_failures=1)
    assert ret["retcode"] == EXIT_BUDGET
    assert sorted(held(opts)) == ["web2"]


def test_a_rollback_that_passed_and_put_the_host_back_counts_as_verified(opts, site):
    hosts = fleet(broken={"web2"})
    ret = run(opts, site, hosts, name="rollback")
    assert ret["retcode"] == EXIT_FAILED and ret["rollback"]["rolled_back"] == ["web2"]
    assert not hosts.hosts["web2"].blocked and held(opts) == {}


def test_exclude_held_runs_the_other_hosts_and_lists_the_held_ones_everywhere(opts, site, tmp_path):
    hosts = fleet(broken={"web2"})
    first = run(opts, site, hosts)
    reports = tmp_path / "reports"
    ret = run(opts, site, hosts, name="gate", exclude_held=True, report_dir=str(reports))
    assert ret["retcode"] == EXIT_PASSED, ret
    assert ret["held"] == ["web2"] and ret["pinned"] == ["web1", "web3"]
    assert any(f"web2 left out: held by run {first['run_id']}" in w for w in ret["warnings"])
    assert hosts.hosts["web2"].blocked  # never touched
    record, _ = journal.find(journal.journal_path(config.load(opts)), ret["run_id"])
    assert record["held"] == ["web2"]
    junit = next(reports.glob("*.junit.xml")).read_text()
    assert '<property name="held" value="web2"' in junit
    html = next(reports.glob("*.html")).read_text()
    assert "Held by other runs, left out (1): web2" in html
    # Every pinned host held: nothing to run, refused like without exclude_held.
    solo = FakeFleet([FakeHost("web2")])
    refused = run(opts, site, solo, name="gate", exclude_held=True)
    assert refused["retcode"] == EXIT_LOCKED and "web2 is held by run" in refused["error"]


def test_an_unreachable_store_refuses_the_run_before_anything_changes(opts, site):
    def broken_store():
        store = store_of(opts)

        def check():
            raise StoreUnavailable("/var/cache/salt/master/scenario/holds", "Read-only file system")

        store.check = check
        return store

    hosts = fleet()
    ret = run(opts, site, hosts, store=broken_store)
    assert ret["retcode"] == 3
    assert "the fleet store cannot be reached or written: /var/cache/salt/master/scenario/holds" in ret["error"]
    assert "Traceback" not in ret["error"] and hosts.log == []


class _Handle:
    """A store run handle whose hold fails, or whose lease is lost after `lose_after` steps."""

    def __init__(self, handle, fail_hold=False, lose_after=None):
        self.handle, self.fail_hold, self.lose_after, self.steps = handle, fail_hold, lose_after, 0

    def __getattr__(self, name):
        return getattr(self.handle, name)

    def hold(self, hosts, step, reason):
        if self.fail_hold:
            raise StoreUnavailable("etcd http://198.51.100.5:2379", "Connection refused", before_change=False)
        return self.handle.hold(hosts, step, reason)

    def update(self, status):
        self.steps += 1
        return self.handle.update(status)

    def lost(self):
        if self.lose_after is not None and self.steps >= self.lose_after:
            return "etcd http://198.51.100.5:2379: the run's lease expired (keepalive failing for 30 s)"
        return None


def _store_with(opts, **kw):
    def factory():
        store = store_of(opts)
        open_run = store.open_run
        store.open_run = lambda info: _Handle(open_run(info), **kw)
        return store

    return factory


def test_a_hold_that_cannot_be_written_stops_the_run_before_the_step(opts, site):
    hosts = fleet()
    ret = run(opts, site, hosts, store=_store_with(opts, fail_hold=True))
    assert ret["retcode"] == EXIT_INTERRUPTED, ret
    assert "the fleet store failed (etcd http://198.51.100.5:2379: Connection refused)" in ret["interrupted"]
    assert lb_calls(hosts) == []  # the block step never ran


def test_a_lost_lease_stops_the_run_at_the_next_step_boundary_hosts_kept_blocked_and_held(opts, site):
    hosts = fleet()
    # Updates: batch started, step started, step finished (block) ... lost after the block step.
    ret = run(opts, site, hosts, store=_store_with(opts, lose_after=3))
    assert ret["retcode"] == EXIT_INTERRUPTED, ret
    assert "the fleet store failed" in ret["interrupted"] and "lease expired" in ret["interrupted"]
    assert hosts.hosts["web1"].blocked and sorted(held(opts)) == ["web1"]
    assert "interrupted" in held(opts)["web1"].reason


def test_active_lists_interrupted_runs_that_still_hold_hosts(opts, site):
    store = store_of(opts)
    run_id = "20261204101500-3f9a2c1d"
    handle = store.open_run(RunInfo(run_id, "master1", "deploy", "alice", os.getpid()))
    handle.claim(["web4", "web5"])
    handle.hold(["web4", "web5"], "When I block the load balancer", "taken out of the balancer")
    assert [r["state"] for r in service.active(opts)["runs"]] == ["running"]
    handle.close()  # no finish: its process "died"
    runs = service.active(opts)["runs"]
    assert [(r["run_id"], r["state"]) for r in runs] == [(run_id, "interrupted")]
    assert [h["host"] for h in runs[0]["holds"]] == ["web4", "web5"]
    listed = service.holds(opts)
    assert [h["host"] for h in listed["holds"]] == ["web4", "web5"] and run_id in listed["lines"][0]
    ret = service.release(opts, run_id, None, service.Caller(user="carol"), "rebuilt by hand")
    assert ret["retcode"] == 0 and service.active(opts)["runs"] == []
    lines = service.history(opts, None, 20)["lines"]
    assert any("released the holds of run" in line for line in lines)


def test_history_shows_the_finished_runs_of_other_masters_with_their_holds(opts, site):
    store = store_of(opts)
    run_id = "20261204101500-aaaaaaaa"
    with store.open_run(RunInfo(run_id, "master2", "deploy", "bob", os.getpid())) as handle:
        handle.claim(["web9"])
        handle.hold(["web9"], "When I block the load balancer", "taken out of the balancer")
        handle.finish(1, "1 scenario (1 failed)")
    ret = service.history(opts, None, 20)
    row = next(r for r in ret["runs"] if r["run_id"] == run_id)
    assert row["master"] == "master2" and row["retcode"] == 1 and [h["host"] for h in row["holds"]] == ["web9"]
    assert "(master master2)  holds: web9" in ret["lines"][0]
    assert (
        not Path(journal.journal_path(config.load(opts))).exists()
        or run_id not in Path(journal.journal_path(config.load(opts))).read_text()
    )
