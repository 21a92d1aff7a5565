"""Holds on a real sandbox (the `local` fleet store): a host that a run left out of the balancer
stays out of every other run until a run verifies it or an operator releases it.

One small sandbox of three billing hosts; app3's apt source lacks mywebapp 4.2.6-3.
"""

import os
import signal

import pytest

from tests.support.scenario_cli import FILES, Background, holds, probes, release_holds, reset, scenario

pytestmark = pytest.mark.slow

APPS = ["app1", "app2", "app3"]
SPEC = {
    "lb": "198.51.100.10",
    "repo": {"mywebapp": ["4.2.5-1", "4.2.6-3"]},
    "hosts": {
        "app1": {"grains": {"roles": ["billing"], "country": "nl"}, "packages": {"mywebapp": "4.2.5-1"}},
        "app2": {"grains": {"roles": ["billing"], "country": "nl"}, "packages": {"mywebapp": "4.2.5-1"}},
        "app3": {
            "grains": {"roles": ["billing"], "country": "nl"},
            "packages": {"mywebapp": "4.2.5-1"},
            "repo": {"mywebapp": ["4.2.5-1"]},
        },
    },
}


@pytest.fixture(scope="module")
def sb(make_sandbox):
    return make_sandbox(SPEC, f"ho{os.getpid() % 100000}", file_roots=[str(FILES)])


@pytest.fixture
def clean(sb):
    reset(sb, hosts=APPS)
    for host in APPS:
        sb.exec(host, ["rm", "-f", "/opt/ready"], check=True)
    yield sb
    reset(sb, hosts=APPS)


def refused_without_change(sb, holder):
    """The gate feature over held hosts: exit 4 naming the holder and the ways out; nothing unblocked."""
    code, ret, _ = scenario(sb, "run", "holds_gate")
    assert code == 4, ret
    error = ret["error"]
    assert f"is held by run {holder}" in error and "feature 'holds_" in error, error
    assert f"salt-run scenario.resume {holder}" in error
    assert 'salt-run scenario.release RUN_ID [hosts=a,b] reason="..."' in error and "nothing was changed" in error
    return ret


def test_a_failed_deploy_keeps_its_hosts_from_the_next_feature_until_released(clean):
    sb = clean
    code, first, _ = scenario(sb, "run", "holds_deploy")
    assert code == 1, first
    held = holds(sb)
    assert sorted(held) == APPS and {h["run_id"] for h in held.values()} == {first["run_id"]}
    assert held["app3"]["step"].startswith("When I update the package mywebapp")
    assert held["app1"]["reason"].startswith("the run ended with the host out of the balancer")
    ret = refused_without_change(sb, first["run_id"])
    assert "app3 is held by run" in ret["error"] and "step 'When I update the package mywebapp" in ret["error"]
    assert not any(probes(sb, APPS).values())  # every host still blocked
    # A release needs a reason; it unblocks nothing.
    code, no_reason, _ = scenario(sb, "release", first["run_id"])
    assert code == 2 and "reason" in no_reason["error"]
    code, released, _ = scenario(sb, "release", first["run_id"], "reason=app3 rolled back by hand")
    assert code == 0 and sorted(h["host"] for h in released["released"]) == APPS, released
    assert holds(sb) == {} and not any(probes(sb, APPS).values())
    code, history, _ = scenario(sb, "history", "limit=3")
    assert any("released the holds of run" in line and "app3 rolled back by hand" in line for line in history["lines"])
    # The gate feature now runs, and puts the hosts back because it verified them.
    code, gate, _ = scenario(sb, "run", "holds_gate")
    assert code == 0, gate
    assert all(probes(sb, APPS).values())


def test_exclude_held_runs_the_others_and_a_resume_that_passes_clears_the_hold(clean):
    sb = clean
    for host in ("app1", "app3"):
        sb.exec(host, ["touch", "/opt/ready"], check=True)
    code, first, _ = scenario(sb, "run", "holds_marker")
    assert code == 1, first
    assert sorted(holds(sb)) == ["app2"]  # app1 passed every step: cleared; app3 never started
    code, around, _ = scenario(sb, "run", "holds_gate", "exclude_held=True")
    assert code == 0, around
    assert around["held"] == ["app2"] and around["pinned"] == ["app1", "app3"]
    assert probes(sb, APPS) == {"app1": True, "app2": False, "app3": True}
    sb.exec("app2", ["touch", "/opt/ready"], check=True)
    code, resumed, _ = scenario(sb, "resume", first["run_id"], timeout=300)
    assert code == 0, resumed
    assert holds(sb) == {} and all(probes(sb, APPS).values())
    code, gate, _ = scenario(sb, "run", "holds_gate")
    assert code == 0, gate


def test_a_sigkilled_run_is_interrupted_with_its_holds_and_refuses_the_next_feature(clean):
    sb = clean
    run = Background(sb, "scenario.run", "holds_slow")
    try:
        run.wait_for("I block the load balancer")
        run.proc.send_signal(signal.SIGKILL)
        run.proc.wait(timeout=30)
    finally:
        run.kill()
    code, active, _ = scenario(sb, "active")
    assert code == 0 and len(active["runs"]) == 1, active
    (killed,) = active["runs"]
    assert killed["state"] == "interrupted" and sorted(h["host"] for h in killed["holds"]) == APPS
    refused_without_change(sb, killed["run_id"])
    assert not any(probes(sb, APPS).values())
    assert release_holds(sb, reason="rebuilt by hand") == [killed["run_id"]]
    assert scenario(sb, "active")[1]["runs"] == []
    code, gate, _ = scenario(sb, "run", "holds_gate")
    assert code == 0, gate
