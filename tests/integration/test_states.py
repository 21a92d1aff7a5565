"""Deploying with Salt states on a real sandbox (default spec): features/update_website_states
runs states/mywebapp through scenario.run and, compiled, through state.orchestrate; both give
the same verdict when it passes, when the pillar names a version the repository lacks, and
when a host is not in place.

One sandbox for the module. Its extra file root (written at test time) holds a copy of the
shipped feature whose pillar version the repo lacks, a feature with the "in place" check alone,
and the SLS that scenario.compile emits for each, so the compiled SLS is the one of this fleet.
"""

import json
import os

import pytest

from tests.support.paths import REPO
from tests.support.scenario_cli import WEB, probes, reset, scenario, step, versions

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

FEATURE = "features/update_website_states.feature"
SHIPPED = (REPO / FEATURE).read_text(encoding="utf-8")
MISSING = SHIPPED.replace("mywebapp:version=4.2.6-3", "mywebapp:version=9.9.9-1")
APPLY_LINE = 15  # "When I apply the state mywebapp with pillar mywebapp:version=..."
IN_PLACE_LINE = 17  # "Then the state mywebapp should be in place"
NOT_FOUND = "E: Version '9.9.9-1' for 'mywebapp' was not found"
IN_PLACE_ONLY = """Feature: The mywebapp state is in place
    Scenario: Nothing to change
        Given I want to update hosts with class roles::dev_server
        And I want to update hosts with fact country=de
        Then the state mywebapp should be in place with pillar mywebapp:version=4.2.6-3
"""
# What orchestrate's own salt.state gives for the same check: it passes while changes are pending.
SALT_STATE_TEST_MODE = """#!yaml
in place by salt.state:
  salt.state:
  - sls: mywebapp
  - tgt: [web1, web2, web3]
  - tgt_type: list
  - pillar: {mywebapp: {version: 4.2.6-3}}
  - test: true
  - expect_minions: true
  - failhard: true
"""


def orchestrate(sb, sls):
    """(exit code, {state id: state return}, raw stdout) of `salt-run state.orchestrate SLS`."""
    proc = sb.salt_run("state.orchestrate", sls, "--out=json", "--out-indent=-1", timeout=300)
    lines = [line for line in proc.stdout.splitlines() if line.strip().startswith("{")]
    assert lines, f"no output (exit {proc.returncode}): {proc.stdout[-2000:]} {proc.stderr[-2000:]}"
    data = json.loads(lines[-1])
    states = {ret["__id__"]: ret for ret in next(iter(data["data"].values())).values()}
    return proc.returncode, states, proc.stdout


@pytest.fixture(scope="module")
def sb(make_sandbox, tmp_path_factory):
    root = tmp_path_factory.mktemp("states-root")
    (root / "features").mkdir()
    assert MISSING != SHIPPED
    (root / "features" / "update_website_states_missing.feature").write_text(MISSING, encoding="utf-8")
    (root / "features" / "mywebapp_in_place.feature").write_text(IN_PLACE_ONLY, encoding="utf-8")
    (root / "orch_states").mkdir()
    (root / "orch_states" / "salt_state_test_mode.sls").write_text(SALT_STATE_TEST_MODE, encoding="utf-8")
    sandbox = make_sandbox(None, f"st{os.getpid() % 100000}", file_roots=[str(root)])
    for name in ("update_website_states", "update_website_states_missing", "mywebapp_in_place"):
        code, ret, _ = scenario(sandbox, "compile", name)
        assert code == 0 and ret["retcode"] == 0, ret
        (root / "orch_states" / f"{name}.sls").write_text(ret["sls"], encoding="utf-8")
    return sandbox


@pytest.fixture
def fresh(sb):
    reset(sb)
    yield sb
    reset(sb)


def _without_compile_line(sls):
    return [line for line in sls.splitlines() if not line.startswith("# Compiled by")]


def test_committed_example_is_what_compile_gives_on_the_default_sandbox(sb):
    code, ret, _ = scenario(sb, "compile", "update_website_states")
    assert code == 0 and ret["pinned"] == WEB
    committed = (REPO / "orch" / "update_website_states.sls").read_text(encoding="utf-8")
    assert _without_compile_line(ret["sls"]) == _without_compile_line(committed)


def test_update_website_states_passes_and_reports_the_changes(fresh):
    code, ret, progress = scenario(fresh, "run", "update_website_states")
    assert code == 0, ret["failed_hosts"]
    applied = step(ret, f"{FEATURE}:{APPLY_LINE}")
    assert applied["call"]["kwargs"] == {"pillar": {"mywebapp": {"version": "4.2.6-3"}}}
    # the package updated, and the service restarted because it watches the package
    assert {h: r["summary"] for h, r in applied["hosts"].items()} == dict.fromkeys(WEB, "2 states, 2 changed")
    service = applied["hosts"]["web1"]["ret"]["service_|-mywebapp-service_|-mywebapp_|-running"]
    assert service["result"] is True and service["comment"] == "Service restarted"
    in_place = step(ret, f"{FEATURE}:{IN_PLACE_LINE}")
    assert {h: r["summary"] for h, r in in_place["hosts"].items()} == dict.fromkeys(WEB, "2 states, 0 would change")
    # service.running really asked the host's init script (not Salt's systemd "OFFLINE mode")
    checked = in_place["hosts"]["web2"]["ret"]["service_|-mywebapp-service_|-mywebapp_|-running"]
    assert checked["comment"] == "The service mywebapp is already running", checked
    assert any("I apply the state" in line and "web1, web2, web3: 2 states, 2 changed" in line for line in progress)
    assert versions(fresh) == {"web1": "4.2.6-3", "web2": "4.2.6-3", "web3": "4.2.6-3", "web4": "4.2.5-1"}
    assert probes(fresh) == dict.fromkeys(WEB, True)
    assert all(fresh.web(h) == "mywebapp 4.2.6-3" for h in WEB)


def test_a_version_the_repo_lacks_fails_with_the_state_s_comment_and_leaves_hosts_blocked(fresh):
    code, ret, progress = scenario(fresh, "run", "update_website_states_missing")
    assert code == 1, ret
    location = f"features/update_website_states_missing.feature:{APPLY_LINE}"
    assert sorted(ret["failed_hosts"]) == WEB
    for host in WEB:
        failed = ret["failed_hosts"][host]
        assert failed["location"] == location
        assert failed["reason"].startswith("mywebapp-package (pkg.installed): Problem encountered installing"), failed
        assert NOT_FOUND in failed["reason"]
    assert step(ret, location)["hosts"]["web1"]["summary"] == "2 states, 0 changed, 2 failed"
    assert ret["still_blocked"] == WEB
    assert probes(fresh) == dict.fromkeys(WEB, False)  # the unblock never ran
    assert versions(fresh, WEB) == dict.fromkeys(WEB, "4.2.5-1")
    assert any(line.startswith("\u2718 When I apply the state") and NOT_FOUND in line for line in progress)


def test_compiled_states_feature_passes_through_orchestrate(fresh):
    code, states, _ = orchestrate(fresh, "orch_states.update_website_states")
    assert code == 0, states
    assert len(states) == 9 and all(s["result"] is True for s in states.values()), states
    applied = states[f"{FEATURE}:{APPLY_LINE} When I apply the state mywebapp with pillar mywebapp:version=4.2.6-3"]
    assert applied["comment"].startswith("States ran successfully. Updating ") and all(
        h in applied["comment"] for h in WEB
    ), applied["comment"]
    in_place = states[f"{FEATURE}:{IN_PLACE_LINE} Then the state mywebapp should be in place"]
    assert all(in_place["changes"]["ret"][h]["ok"] is True for h in WEB), in_place
    assert versions(fresh, WEB) == dict.fromkeys(WEB, "4.2.6-3")
    assert probes(fresh) == dict.fromkeys(WEB, True)


def test_compiled_missing_version_fails_at_the_state_and_never_unblocks(fresh):
    code, states, stdout = orchestrate(fresh, "orch_states.update_website_states_missing")
    assert code != 0
    sid = f"features/update_website_states_missing.feature:{APPLY_LINE} When I apply the state mywebapp with pillar "
    failed = states[sid + "mywebapp:version=9.9.9-1"]
    assert failed["result"] is False and all(h in failed["comment"] for h in WEB), failed
    assert NOT_FOUND in json.dumps(failed["changes"])  # the minions' state returns, with the comment
    # failhard + the require chain: nothing after the failed state ran
    assert all(s["result"] is not True for sid_, s in states.items() if ":20 " in sid_ or ":21 " in sid_)
    assert probes(fresh) == dict.fromkeys(WEB, False)  # still blocked, as scenario.run leaves them
    assert versions(fresh, WEB) == dict.fromkeys(WEB, "4.2.5-1")
    assert NOT_FOUND in stdout


def test_hosts_not_in_place_fail_the_run_and_the_compiled_check_alike(fresh):
    # Fresh hosts have 4.2.5-1: with the pillar's 4.2.6-3 the package (and so the service) would change.
    code, ret, _ = scenario(fresh, "run", "mywebapp_in_place")
    assert code == 1
    reasons = {h: r["reason"] for h, r in ret["failed_hosts"].items()}
    assert sorted(reasons) == WEB
    assert all(r.startswith("mywebapp-package (pkg.installed) would change: ") for r in reasons.values()), reasons

    code, states, _ = orchestrate(fresh, "orch_states.mywebapp_in_place")
    (state,) = states.values()
    assert code != 0 and state["result"] is False, state
    assert {h: state["changes"]["ret"][h]["reason"] for h in WEB} == reasons  # the same words, judged alike

    # orchestrate's own salt.state in test mode would have let these hosts through
    code, states, _ = orchestrate(fresh, "orch_states.salt_state_test_mode")
    (state,) = states.values()
    assert code == 0 and state["result"] is None, state
    assert versions(fresh, WEB) == dict.fromkeys(WEB, "4.2.5-1")  # nothing was changed by any check
