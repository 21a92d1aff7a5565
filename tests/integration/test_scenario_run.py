"""salt-run scenario.* (run, plan, validate, list, steps) against a real sandbox on the default spec.
(The bus-events test moved to test_reports_events.py, which checks events, reports and the
journal of the same runs.)

The session's sandbox (default spec; its file_roots add tests/integration/scenario_files,
which holds the test features and step libraries), shared with other modules. Tests compare
states before and after, or reset the fleet first, so their order does not matter.
"""

import time

import pytest

from tests.support.scenario_cli import (
    LB,
    WEB,
    BlockSampler,
    minion_job_ids,
    overloaded,
    parse,
    probes,
    reset,
    scenario,
    statuses,
    step,
    unbuffered_env,
    versions,
)

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


@pytest.fixture(scope="module")
def sb(sandbox):
    return sandbox


def test_update_website_passes_on_exactly_web1_to_web3_and_reruns_without_change(sb):
    code, ret, progress = scenario(sb, "run", "update_website")
    assert code == 0, ret
    assert ret["retcode"] == 0 and ret["result"] == "passed"
    assert ret["pinned"] == WEB
    assert set(statuses(ret)) == {"passed"}
    for st in ret["scenarios"][0]["steps"]:
        if st["call"]:
            assert sorted(st["hosts"]) == WEB and all(h["status"] == "passed" for h in st["hosts"].values())
    assert ret["summary"].startswith("1 scenario (1 passed), 14 steps (14 passed), 3 hosts")
    assert versions(sb) == {"web1": "4.2.6-3", "web2": "4.2.6-3", "web3": "4.2.6-3", "web4": "4.2.5-1"}
    assert all(probes(sb, ["web1", "web2", "web3", "web4"]).values())
    # live progress: one line per step, with location and host counts
    block = next(line for line in progress if "I block the load balancer" in line)
    assert "features/update_website.feature:9" in block and "3 passed, 0 failed" in block

    code, again, _ = scenario(sb, "run", "update_website")
    assert code == 0, again
    update = step(again, "features/update_website.feature:11")
    assert all(h["ret"]["changed"] is False for h in update["hosts"].values())
    block = step(again, "features/update_website.feature:9")
    assert all(h["ret"]["changed"] is True for h in block["hosts"].values())  # unblocked at the end of run 1


def test_plan_and_test_mode_show_calls_and_change_nothing(sb):
    before = (versions(sb), probes(sb, ["web1", "web2", "web3", "web4"]))
    for func, extra in (("plan", ()), ("run", ("test=True",))):
        code, ret, _ = scenario(sb, func, "update_website", *extra)
        assert code == 0, ret
        assert ret["result"] == "plan" and ret["pinned"] == WEB
        calls = [st["call"] for st in ret["scenarios"][0]["steps"] if st["call"]]
        assert calls[0] == {"fun": "lbgate.block", "args": [LB], "kwargs": {}, "lb_effect": "block"}
        assert {"fun": "pkgcheck.verify", "args": ["mywebapp", "4.2.6-3"], "kwargs": {}} in calls
    assert (versions(sb), probes(sb, ["web1", "web2", "web3", "web4"])) == before
    human = sb.salt_run("scenario.plan", "update_website", timeout=120)
    assert human.returncode == 0
    assert "pinned: web1, web2, web3" in human.stdout and "\u2192 lbgate.block 198.51.100.10" in human.stdout


@pytest.mark.parametrize(
    "name,location,words",
    [
        ("undefined_step", "features/undefined_step.feature:8", "undefined step"),
        ("ambiguous", "features/ambiguous.feature:7", "ambiguous"),
        ("bad_ip", "features/bad_ip.feature:3", "198.51.100.300"),
        ("shell_package", "features/shell_package.feature:7", "mywebapp; rm -rf /"),
        ("jinja", "features/jinja.feature:4", "Jinja"),
    ],
)
def test_invalid_features_exit_2_and_run_nothing(sb, name, location, words):
    jobs = minion_job_ids(sb)
    for func in ("validate", "run"):
        code, ret, _ = scenario(sb, func, name)
        assert code == 2, ret
        assert location in ret["error"] and words in ret["error"]
    assert minion_job_ids(sb) == jobs  # not even a discovery ping was published


@pytest.mark.parametrize(
    "name,why",
    [("../../etc/passwd", "traversal"), ("/etc/passwd", "absolute"), ("salt://features/update_website", "scheme")],
)
def test_bad_names_exit_2(sb, name, why):
    code, ret, _ = scenario(sb, "run", name)
    assert code == 2 and why in ret["error"] and "root:" not in str(ret)


def test_site_step_library_step_runs(sb):
    code, ret, _ = scenario(sb, "run", "files_check")
    assert code == 0, ret
    st = step(ret, "features/files_check.feature:7")
    assert st["call"] == {"fun": "file.file_exists", "args": ["/opt/mywebapp/VERSION"], "kwargs": {}}
    assert {h: r["ret"] for h, r in st["hosts"].items()} == dict.fromkeys(WEB, True)
    code, steps, _ = scenario(sb, "steps")
    assert code == 0
    assert {
        "kind": "then",
        "pattern": "the file {path} should exist",
        "origin": "features/steps/files.yaml (step #1)",
    } in steps["steps"]


def test_list(sb):
    code, ret, _ = scenario(sb, "list")
    assert code == 0 and {"update_website", "rolling_update", "midrun"} <= set(ret["features"])


def test_dead_host_with_prediscover_exits_3_and_touches_nothing(sb):
    before = (versions(sb, ["web1", "web3"]), probes(sb))
    sb.stop("web2")
    try:
        code, ret, _ = scenario(sb, "run", "update_website")  # how fast: bench/ (dead host)
        assert code == 3, ret
        assert "web2" in ret["error"] and "pre-discovery" in ret["error"]
        assert (versions(sb, ["web1", "web3"]), probes(sb)) == before
    finally:
        sb.start("web2")


def test_host_stopped_mid_run_fails_with_no_response_quickly(sb):
    reset(sb, version="4.2.6-3")
    proc = sb.popen_in_master(
        ["salt-run", "scenario.run", "midrun", "timeout=3", "--out=json", "--out-indent=-1"], env=unbuffered_env()
    )
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if "I block the load balancer" in line:
                sb.stop("web2")
                break
        out, err = proc.communicate(timeout=120)
        code, ret, _ = parse(proc.returncode, "".join(lines) + out, err)
        assert code == 1, ret
        failed = [st for st in ret["scenarios"][0]["steps"] if st["status"] == "failed"]
        assert len(failed) == 1
        (bad,) = failed
        assert bad["hosts"]["web2"]["reason"] == "no response"
        assert bad["hosts"]["web1"]["status"] == "passed" and bad["hosts"]["web3"]["status"] == "passed"
        # timeout=3 plus the 2 s gather_job_timeout plus the 4 s the step itself takes, not Salt's 15 s
        assert bad["duration"] < 3 + 2 + 4 + 2, bad["duration"]
        assert ret["failed_hosts"]["web2"]["reason"] == "no response"
        assert ret["still_blocked"] == WEB
        assert statuses(ret)[-2:] == ["skipped", "skipped"]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        sb.start("web2")
        reset(sb, version="4.2.6-3")


def test_batch_1_never_blocks_two_hosts_at_once(sb):
    with BlockSampler(sb, WEB) as sampler:
        code, ret, progress = scenario(sb, "run", "update_website", "batch=1")
        time.sleep(0.5)
    assert code == 0, ret
    assert ret["batches"] == [["web1"], ["web2"], ["web3"]]
    assert any(line.startswith("[batch 3/3]") for line in progress)
    # each host was seen blocked, never two at a time
    assert all(sampler.blocked_intervals(h) for h in WEB), sampler.samples
    assert sampler.max_simultaneously_blocked() == 1
    first_block = {h: sampler.blocked_intervals(h)[0][0] for h in WEB}
    assert first_block["web1"] < first_block["web2"] < first_block["web3"]


def test_seed_feature_runs_verbatim(sb):
    code, ret, _ = scenario(sb, "validate", "seed")
    assert code == 0, ret
    assert ret["warnings"] == ["features/seed.feature:2: steps under Feature: treated as Background"]
    assert ret["target"] == "G@roles:dev_server and G@country:de"
    reset(sb, version="4.2.6-3")
    try:
        code, ret, _ = scenario(sb, "run", "seed")
        # Every step matches and runs; the seed promises an .el5 build that Debian hosts do not have.
        assert code == 1, ret
        assert statuses(ret)[:7] == ["passed"] * 7
        assert {v["location"] for v in ret["failed_hosts"].values()} == {"features/seed.feature:10"}
        assert "expected '4.2.6-3.el5'" in ret["failed_hosts"]["web1"]["reason"]
        assert step(ret, "features/seed.feature:7")["call"]["args"] == [LB]  # from the master option
    finally:
        reset(sb, version="4.2.6-3")


@pytest.mark.parametrize("sls,exit_ok", [("scenario_orch_tests.passing", True), ("scenario_orch_tests.failing", False)])
def test_orchestrate_takes_the_scenario_verdict(sb, sls, exit_ok):
    proc = sb.salt_run("state.orchestrate", sls, "--out=json", timeout=180)
    assert (proc.returncode == 0) is exit_ok, proc.stdout[-3000:] + proc.stderr[-2000:]
    if not exit_ok:
        assert "features/undefined_step.feature:8" in proc.stdout


def _jids(ret):
    return {jid for st in ret["scenarios"][0]["steps"] for jid in st["jids"]}


def _verdicts(ret):
    return [
        (st["text"], st["status"], {h: (r["status"], r.get("reason")) for h, r in st["hosts"].items()})
        for st in ret["scenarios"][0]["steps"]
    ]


def test_update_website_takes_4_publishes_where_it_took_10_with_the_same_verdicts(sb):
    reset(sb)
    code, fused, _ = scenario(sb, "run", "update_website")
    assert code == 0, fused
    reset(sb)
    code, alone, _ = scenario(sb, "run", "update_website_no_pipeline")
    assert code == 0, alone
    assert (len(_jids(fused)), len(_jids(alone))) == (4, 10)
    assert _verdicts(fused) == _verdicts(alone)
    # The jobs the minions saw: each publish is one job for all of its steps.
    block, check = step(fused, "features/update_website.feature:9"), step(fused, "features/update_website.feature:10")
    assert block["jids"] == check["jids"]


def test_a_failing_run_gives_the_same_verdicts_with_and_without_pipelining(sb):
    results = []
    for name in ("update_website", "update_website_no_pipeline"):
        reset(sb)
        with overloaded(sb, "web2"):
            code, ret, _ = scenario(sb, "run", name)
        assert code == 1, ret
        results.append(ret)
    fused, alone = results
    assert _verdicts(fused) == _verdicts(alone)
    assert fused["failed_hosts"]["web2"]["reason"] == alone["failed_hosts"]["web2"]["reason"]
    assert "CRITICAL" in fused["failed_hosts"]["web2"]["reason"]
    assert fused["still_blocked"] == alone["still_blocked"] == WEB
    assert len(_jids(fused)) < len(_jids(alone))
    reset(sb)
