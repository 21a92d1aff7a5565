"""Rollouts at fleet scale on a real 6-host sandbox: failure budgets, a canary schedule,
approval gates (which no minion event can answer) and the @on-failure rollback."""

import json
import os

import pytest

from tests.support.scenario_cli import (
    FILES,
    Background,
    BlockSampler,
    overloaded,
    probes,
    reset,
    scenario,
    versions,
)

pytestmark = pytest.mark.slow

ALL = ["web1", "web2", "web3", "web4", "web5", "web6"]
DE = ALL[:5]
FULL = ["web1", "web2", "web4", "web5"]  # grain repo:full: their repos offer the new version


def _host(country, repo):
    host = {
        "grains": {"roles": ["dev_server"], "country": country, "repo": repo},
        "packages": {"mywebapp": "4.2.5-1"},
    }
    if repo == "old":
        host["repo"] = {"mywebapp": ["4.2.5-1"]}
    return host


SPEC = {
    "lb": "198.51.100.10",
    "repo": {"mywebapp": ["4.2.5-1", "4.2.6-3"]},
    "hosts": {
        "web1": _host("de", "full"),
        "web2": _host("de", "full"),
        "web3": _host("de", "old"),
        "web4": _host("de", "full"),
        "web5": _host("de", "full"),
        "web6": _host("fr", "old"),
    },
}


@pytest.fixture(scope="module")
def sb(make_sandbox):
    return make_sandbox(SPEC, f"ro{os.getpid() % 100000}", file_roots=[str(FILES)])


@pytest.fixture
def fleet(sb):
    reset(sb, hosts=ALL)
    yield sb
    reset(sb, hosts=ALL)


def test_one_failed_host_within_the_budget_exits_5_and_the_rest_is_updated(fleet):
    code, ret, _ = scenario(fleet, "run", "budget_de")
    assert code == 5, ret
    assert ret["result"] == "within_budget" and ret["allowed_failures"] == 1
    assert list(ret["failed_hosts"]) == ["web3"]
    assert ret["failed_hosts"]["web3"]["reason"].startswith("retcode 1: ERROR: version 4.2.6-3 of mywebapp")
    now = versions(fleet, DE)
    assert {h: now[h] for h in ("web1", "web2", "web4", "web5")} == dict.fromkeys(
        ("web1", "web2", "web4", "web5"), "4.2.6-3"
    )
    assert now["web3"] == "4.2.5-1"
    assert probes(fleet, DE) == {h: h != "web3" for h in DE}
    assert ret["still_blocked"] == ["web3"]
    assert "web3" in ret["summary"] or ret["failed_hosts"]["web3"]["step"].startswith("When I update")


def test_a_second_failed_host_exceeds_the_budget_and_exits_1(fleet):
    code, ret, _ = scenario(fleet, "run", "budget_all")
    assert code == 1, ret
    assert sorted(ret["failed_hosts"]) == ["web3", "web6"]
    assert ret["halted"] == "2 host(s) failed, more than the failure budget of 1"


def test_a_canary_then_halves_never_blocks_more_than_the_current_batch(fleet):
    with BlockSampler(fleet, DE) as sampler:
        code, ret, progress = scenario(fleet, "run", "canary")
    assert code == 0, ret
    assert ret["batches"] == [["web1"], ["web2", "web3"], ["web4", "web5"]]
    assert [line.split(" (")[0] for line in progress if line.startswith("batch ")] == [
        "batch 1/3",
        "batch 2/3",
        "batch 3/3",
    ]
    assert 1 <= sampler.max_simultaneously_blocked() <= 2
    # The canary was let back in before the next batch was blocked.
    (canary,) = sampler.blocked_intervals("web1")
    assert all(start > canary[1] for host in ("web2", "web3") for start, _end in sampler.blocked_intervals(host))


def _waiting_run_id(sb):
    (run,) = scenario(sb, "active")[1]["runs"]
    assert run["waiting"], run
    return run["run_id"]


def test_no_minion_event_can_approve_and_scenario_approve_does(fleet):
    run = Background(fleet, "scenario.run", "approval_gate")
    try:
        run.wait_for("waiting up to 2 min for approval")
        run_id = _waiting_run_id(fleet)
        # A minion forges every answer it can think of, on every tag it can think of.
        forged = {"decision": "approve", "approved": True, "user": "root", "batch": 0, "run_id": run_id}
        for suffix in ("approval/granted", "approval/approve", "approval/finished", "approve", "abort"):
            tag = f"saltext/scenario/{run_id}/{suffix}"
            sent = fleet.salt_call("web1", "event.send", tag, json.dumps(forged), "--out=json", timeout=60)
            assert sent.returncode == 0 and json.loads(sent.stdout)["local"] is True
        sent = fleet.salt_call("web1", "event.fire_master", json.dumps(forged), f"saltext/scenario/{run_id}/approve")
        assert sent.returncode == 0
        assert run.proc.poll() is None and _waiting_run_id(fleet) == run_id  # still waiting
        code, answer, _ = scenario(fleet, "approve", run_id)
        assert code == 0 and answer["decision"] == "approve", answer
        code, ret, _progress, _stderr = run.finish()
    finally:
        run.kill()
    assert code == 0, ret
    assert ret["approvals"] == [{"batch": 0, "approved": True, "user": "root", "reason": "approved by root"}]
    code, shown, _ = scenario(fleet, "show", ret["run_id"])
    assert shown["record"]["approvals"][0]["user"] == "root"


def test_scenario_abort_fails_the_gate_with_the_reason(fleet):
    run = Background(fleet, "scenario.run", "approval_gate")
    try:
        run.wait_for("waiting up to 2 min for approval")
        code, answer, _ = scenario(fleet, "abort", _waiting_run_id(fleet), "reason=error rate too high")
        assert code == 0, answer
        code, ret, _progress, _stderr = run.finish()
    finally:
        run.kill()
    assert code == 1, ret
    assert {r["reason"] for r in ret["failed_hosts"].values()} == {"aborted by root: error rate too high"}


def test_an_approval_that_never_comes_fails_at_its_timeout(fleet):
    code, ret, _ = scenario(fleet, "run", "approval_timeout")
    assert code == 1, ret
    assert {r["reason"] for r in ret["failed_hosts"].values()} == {"no approval within 5 seconds"}
    code, ret, _ = scenario(fleet, "approve", "20000101000000-00000000")
    assert code == 2 and "not running" in ret["error"]


def test_rollback_puts_the_batch_back_and_keeps_the_unhealthy_host_blocked(fleet):
    with overloaded(fleet, "web2"):
        code, ret, progress = scenario(fleet, "run", "rollback_website")
    assert code == 1, ret
    assert ret["failed_hosts"]["web2"]["step"] == "Then the NRPE check check_load should pass"
    rollback = ret["rollback"]
    assert rollback["hosts"] == FULL and rollback["rolled_back"] == ["web1", "web4", "web5"]
    assert list(rollback["failed"]) == ["web2"]
    # Back to the old version everywhere; the healthy hosts are let back in, web2 is not.
    assert set(versions(fleet, FULL).values()) == {"4.2.5-1"}
    assert probes(fleet, FULL) == {"web1": True, "web2": False, "web4": True, "web5": True}
    assert ret["still_blocked"] == ["web2"]
    assert any(line.startswith("rolling back on 4 host(s)") for line in progress)
    code, shown, _ = scenario(fleet, "show", ret["run_id"])
    record = shown["record"]
    assert record["rollback"]["rolled_back"] == ["web1", "web4", "web5"] and record["still_blocked"] == ["web2"]
    rolled = [s for s in record["batch_steps"] if s["phase"] == "rollback" and s["text"].startswith("I roll back")]
    assert rolled and rolled[0]["hosts"]["web2"]["status"] == "passed"
