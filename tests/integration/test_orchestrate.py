"""Orchestrate: the SLS of scenario.compile and orch/deploy.sls give the verdict scenario.run gives.

Two sandboxes: the session's default one (everything passes) and one where web2's apt source
lacks 4.2.6-3 (the version check fails on web2) and web3's load check is CRITICAL. The SLS for
the second is compiled at test time, because the pinned list depends on the fleet, and served
from a file root of its own.
"""

import copy
import json
import os
import time

import pytest
import yaml

from tests.support.paths import REPO
from tests.support.scenario_cli import WEB, probes, reset, scenario, versions

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

UPDATE = "features/update_website.feature"
VERSION_CHECK = f"{UPDATE}:12 Then the package version for mywebapp should be 4.2.6-3"
UNBLOCK = f"{UPDATE}:15 When I unblock the load balancer"


def _without_compile_line(sls):
    return [line for line in sls.splitlines() if not line.startswith("# Compiled by")]


def orchestrate(sb, sls):
    """(exit code, {state id: state return}, raw stdout) of `salt-run state.orchestrate SLS`."""
    proc = sb.salt_run("state.orchestrate", sls, "--out=json", "--out-indent=-1", timeout=300)
    lines = [line for line in proc.stdout.splitlines() if line.strip().startswith("{")]
    assert lines, f"no output (exit {proc.returncode}): {proc.stdout[-2000:]} {proc.stderr[-2000:]}"
    data = json.loads(lines[-1])
    states = {}
    for ret in next(iter(data["data"].values())).values():
        states[ret["__id__"]] = ret
    return proc.returncode, states, proc.stdout


def compile_sls(sb, name="update_website"):
    code, ret, _ = scenario(sb, "compile", name)
    assert code == 0 and ret["retcode"] == 0, ret
    return ret


@pytest.fixture
def fresh(sandbox):
    reset(sandbox)
    yield sandbox
    reset(sandbox)


def test_committed_example_is_what_compile_gives_on_the_default_sandbox(sandbox):
    ret = compile_sls(sandbox)
    assert ret["pinned"] == WEB and len(ret["states"]) == 10
    committed = (REPO / "orch" / "update_website.sls").read_text()
    assert _without_compile_line(ret["sls"]) == _without_compile_line(committed)


def test_compiled_orchestration_passes_like_the_run(fresh):
    code, states, _ = orchestrate(fresh, "orch.update_website")
    assert code == 0
    assert len(states) == 10 and all(s["result"] is True for s in states.values()), states
    assert states[VERSION_CHECK]["changes"]["ret"]["web2"]["ok"] is True
    assert versions(fresh, WEB) == dict.fromkeys(WEB, "4.2.6-3")
    assert probes(fresh) == dict.fromkeys(WEB, True)


def test_deploy_orchestration_passes_and_announces(fresh):
    code, states, _ = orchestrate(fresh, "orch.deploy")
    assert code == 0, states
    assert states["update_website"]["result"] is True
    assert states["update_website"]["changes"]["return"]["retcode"] == 0
    assert states["announce"]["result"] is True
    assert versions(fresh, WEB) == dict.fromkeys(WEB, "4.2.6-3")


# -- a fleet where web2 cannot get 4.2.6-3 ---------------------------------------------------------


def _failing_spec():
    from saltext.scenario.sandbox import spec as sandbox_spec

    data = copy.deepcopy(yaml.safe_load(sandbox_spec.DEFAULT_SPEC.read_text(encoding="utf-8")))
    data["hosts"]["web2"]["repo"] = {"mywebapp": ["4.2.5-1"]}
    data["hosts"]["web3"]["nrpe"] = {"check_load": "/usr/lib/nagios/plugins/check_dummy 2 overloaded"}
    return data


LOAD_WITHIN = """Feature: Load settles
    Scenario: The load check passes within a few seconds
        Given I want to update hosts with class roles::dev_server
        And I want to update hosts with fact country=de
        Then the NRPE check check_load should pass within 3 seconds
"""


@pytest.fixture(scope="module")
def compiled_root(tmp_path_factory):
    return tmp_path_factory.mktemp("orch-root")


@pytest.fixture(scope="module")
def failing(make_sandbox, compiled_root):
    (compiled_root / "features").mkdir()
    (compiled_root / "features" / "load_within.feature").write_text(LOAD_WITHIN)
    sb = make_sandbox(_failing_spec(), f"of{os.getpid() % 100000}", file_roots=[str(compiled_root)])
    (compiled_root / "orch_compiled").mkdir()
    for name in ("update_website", "load_within"):
        (compiled_root / "orch_compiled" / f"{name}.sls").write_text(compile_sls(sb, name)["sls"])
    yield sb
    sb.down()


@pytest.fixture
def fresh_failing(failing):
    reset(failing)
    yield failing
    reset(failing)


def test_compiled_orchestration_fails_where_the_run_fails_and_unblock_never_runs(fresh_failing):
    code, states, stdout = orchestrate(fresh_failing, "orch_compiled.update_website")
    assert code != 0
    failed = states[VERSION_CHECK]
    assert failed["result"] is False and "web2" in failed["comment"], failed
    assert failed["changes"]["ret"]["web2"]["installed"] == "4.2.5-1"
    assert VERSION_CHECK in stdout and "web2" in stdout
    # failhard + the require chain: nothing after the failed check ran
    assert states.get(UNBLOCK, {"result": False})["result"] is False
    assert probes(fresh_failing) == dict.fromkeys(WEB, False)  # still blocked, as scenario.run leaves them


def test_scenario_run_gives_the_same_verdict_on_that_fleet(fresh_failing):
    code, ret, _ = scenario(fresh_failing, "run", "update_website")
    assert code == 1 and ret["failed_hosts"]["web2"]["location"] == f"{UPDATE}:12"
    assert probes(fresh_failing) == dict.fromkeys(WEB, False)


def test_deploy_orchestration_fails_and_does_not_announce(fresh_failing):
    code, states, stdout = orchestrate(fresh_failing, "orch.deploy")
    assert code != 0
    assert states["update_website"]["result"] is False
    assert states["update_website"]["changes"]["return"]["retcode"] == 1
    assert states.get("announce", {"result": False})["result"] is not True
    assert f"{UPDATE}:12" in stdout and "web2" in stdout


def test_within_steps_are_retried_until_their_deadline(failing):
    started = time.monotonic()
    code, states, _ = orchestrate(failing, "orch_compiled.load_within")
    (state,) = states.values()
    assert code != 0 and state["result"] is False and "web3" in state["comment"], state
    # retry: {attempts: 4, interval: 1}: Salt nests the comments of attempts 1..3 before the last one
    assert "Attempt 3: " in state["comment"] and "Attempt 4" not in state["comment"], state["comment"]
    assert time.monotonic() - started >= 3
