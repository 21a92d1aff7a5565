"""Two masters sharing one etcd fleet store (etcd-spec.yaml), on real daemons: a run on master 1
is seen, refused against and answered on master 2; a killed run shows as interrupted with its
holds on master 2 within the lease's TTL; a store that is down stops a run, never a guess.

One sandbox for the module. The lease TTL is 5 s (`scenario_store_ttl`), so "within the TTL"
is short enough to wait for.
"""

import os
import signal
import time

import pytest
import yaml

from saltext.scenario.sandbox import ETCD_SPEC
from tests.support.scenario_cli import FILES, LB, WEB, Background, probes, scenario, versions

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

TTL = 5
ETCD = "http://198.51.100.5:2379"
BLOCKED = "I block the load balancer"
SPEC = {**yaml.safe_load(ETCD_SPEC.read_text()), "master": {"config": {"scenario_store_ttl": TTL}}}


@pytest.fixture(scope="module")
def fleet(make_sandbox):
    return make_sandbox(SPEC, name=f"fe{os.getpid()}", file_roots=[str(FILES)])


@pytest.fixture
def clean(fleet):
    """Every test starts and ends with web1..web3 in the balancer, etcd up and no holds."""
    yield fleet
    if not fleet.status()["services"]["etcd"]["running"]:
        fleet.start("etcd")
    for run_id in sorted({h["run_id"] for h in holds(fleet)}):
        poll(lambda run_id=run_id: release(fleet, run_id)[0] == 0, TTL + 10, f"release of {run_id}")
    fleet.salt("-L", ",".join(WEB), "lbgate.unblock", LB, "--out=json", "-t", "20", timeout=60, check=True)


def poll(predicate, timeout, what):
    """(the first true value of `predicate()`, when that call started), asked until `timeout`
    seconds from now: each call is a salt-run, which itself takes seconds."""
    deadline = time.monotonic() + timeout
    while True:
        asked = time.monotonic()
        assert asked <= deadline, f"{what}: not within {timeout} s"
        value = predicate()
        if value:
            return value, asked
        time.sleep(0.2)


def active(sb, master=2):
    code, ret, _ = scenario(sb, "active", master=master)
    assert code == 0, ret
    return {r["run_id"]: r for r in ret["runs"]}


def holds(sb, master=2):
    code, ret, _ = scenario(sb, "holds", master=master)
    assert code == 0, ret
    return ret["holds"]


def release(sb, run_id, master=2):
    code, ret, _ = scenario(sb, "release", run_id, "reason=checked by hand on master 2", master=master)
    return code, ret


def held_hosts(sb, run_id):
    return sorted(h["host"] for h in holds(sb) if h["run_id"] == run_id)


def test_a_run_waiting_on_master_1_refuses_master_2_shows_there_and_takes_its_approval(clean):
    sb = clean
    run = Background(sb, "scenario.run", "gate_de")
    try:
        run.wait_for("waiting up to 2 min for approval")
        (waiting,) = [r for r in active(sb).values() if r["waiting"]]
        run_id = waiting["run_id"]
        assert waiting["name"] == "gate_de" and waiting["leased"] == WEB, waiting

        code, refused, _ = scenario(sb, "run", "slow_de", master=2)
        assert code == 4, refused
        assert run_id in refused["error"] and "gate_de" in refused["error"], refused
        assert "nothing was changed" in refused["error"]

        code, answer, _ = scenario(sb, "approve", run_id, master=2)
        assert code == 0 and answer["decision"] == "approve", answer
        code, ret, _progress, stderr = run.finish()
    finally:
        run.kill()
    assert code == 0, (ret, stderr)
    assert [a["approved"] for a in ret["approvals"]] == [True]
    assert all(probes(sb).values()) and held_hosts(sb, run_id) == []
    assert run_id not in active(sb)


def test_a_killed_run_on_master_1_is_interrupted_with_its_holds_on_master_2_within_the_ttl(clean):
    sb = clean
    run = Background(sb, "scenario.run", "slow_de")
    try:
        run.wait_for(BLOCKED)
        run.proc.send_signal(signal.SIGKILL)
        run.proc.wait(timeout=30)
        killed = time.monotonic()
    finally:
        run.kill()

    def interrupted():
        (row,) = active(sb).values()  # the killed run, nothing else
        return row if row["state"] == "interrupted" else None

    # A salt-run takes seconds to start on a loaded machine: the bound is on when the
    # asking started, so a slow answer does not count against the store.
    seen, asked = poll(interrupted, TTL + 5, "the killed run shown as interrupted on master 2")
    print(f"master 2 was asked {asked - killed:.1f} s after the SIGKILL and showed the run as interrupted")
    run_id = seen["run_id"]
    assert seen["name"] == "slow_de" and seen["master"] == "sandbox-master", seen
    assert sorted(h["host"] for h in seen["holds"]) == WEB and seen["leased"] == [], seen
    assert held_hosts(sb, run_id) == WEB
    assert not any(probes(sb).values())

    code, released = release(sb, run_id)
    assert code == 0 and sorted(h["host"] for h in released["released"]) == WEB, released
    assert held_hosts(sb, run_id) == [] and run_id not in active(sb)
    assert not any(probes(sb).values()), "a release never unblocks"


def test_etcd_down_before_a_run_refuses_it_with_exit_3_and_changes_nothing(clean):
    sb = clean
    before = versions(sb, WEB)
    sb.stop("etcd")
    try:
        code, ret, _ = scenario(sb, "run", "update_website")
    finally:
        sb.start("etcd")
    assert code == 3, ret
    assert ETCD in ret["error"] and "nothing was changed" in ret["error"], ret
    assert all(probes(sb).values()) and versions(sb, WEB) == before


def test_etcd_down_mid_run_stops_it_at_the_next_step_with_exit_6_hosts_blocked_and_held(clean):
    sb = clean
    run = Background(sb, "scenario.run", "slow_de")
    try:
        run.wait_for(BLOCKED)
        sb.stop("etcd")
        code, ret, _progress, stderr = run.finish(timeout=120)
    finally:
        run.kill()
    assert code == 6, ret
    assert "Traceback" not in stderr
    assert ETCD in str(ret.get("interrupted")), ret
    steps = ret["scenarios"][0]["steps"]
    assert [s["status"] for s in steps[-1:]] == ["skipped"], steps
    assert not any(probes(sb).values())

    sb.start("etcd")
    assert held_hosts(sb, ret["run_id"]) == WEB
