"""Deploying from CI through salt-api, and webhooks, on one sandbox (the default spec with api: true
and the master option scenario_notify pointing at the sandbox's webhook receiver's address).

- The webhook receiver hears started, batch, approval and finished of a canary run with an
  approval gate (approved from the test); with the receiver down the verdict and exit code
  are the same and the run took no more than timeout x tries longer. (First: the runs after it
  find the receiver's address refusing connections, not silent, and lose no time on it.)
  The master's scenario_notify names the webhook's URL by an sdb reference only (a yaml sdb
  profile): the secret in the URL reaches the receiver and never the returns, the journal,
  the reports or the master's log.
- tools/ci/deploy.sh (run in master 1's network namespace, where salt-api listens, as a CI job
  that shares nothing else with the master) deploys update_website: exit 0, the JUnit report
  fetched through salt-api, the runner job's success true and its return carrying the run id;
  a failing feature: exit 1, scenario.status names the failed host, the job's success false.
- Through salt-api (runner_async, the eauth user deployer): scenario.abort ends a canary run
  waiting at its approval gate (exit 1, the job's success false, its return the run id);
  scenario.resume of that run is a job of its own with its own run id, aborted again (exit 1,
  success false); resumed once more, scenario.approve releases each gate and the run passes
  (exit 0, the job's success true).
- The watcher user (eauth: scenario.status only) is refused scenario.run; nothing runs.
"""

import copy
import json
import os
import secrets
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from saltext.scenario.engine.records.notify import RETRY_PAUSE, TRIES
from tests.support.paths import REPO
from tests.support.scenario_cli import FILES, WEB, holds, probes, reset, scenario, versions

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

DEPLOY = str(REPO / "tools" / "ci" / "deploy.sh")
HOOK_URL = "http://198.51.100.7:8080/hooks"  # the sandbox's webhook receiver (sb.webhook)
# The secret part of the webhook's URL (as a chat service's token in its path): the master
# config names the URL only as HOOK_REF, an sdb profile (yaml driver) reads it from a file.
HOOK_TOKEN = f"t0ken-{secrets.token_hex(12)}"
HOOK_REF = "sdb://ci_secrets/deploy_hook"
NOTIFY_TIMEOUT = 2
HOOK_KINDS = ["started", "batch", "approval", "finished"]


def _spec(secrets_file):
    from saltext.scenario.sandbox import spec as sandbox_spec

    data = copy.deepcopy(yaml.safe_load(sandbox_spec.DEFAULT_SPEC.read_text(encoding="utf-8")))
    data["api"] = True
    data["master"] = {
        "config": {
            "ci_secrets": {"driver": "yaml", "files": [str(secrets_file)]},
            "scenario_notify": [{"url": HOOK_REF, "events": HOOK_KINDS, "format": "json"}],
            "scenario_notify_timeout": NOTIFY_TIMEOUT,
        }
    }
    return data


@pytest.fixture(scope="module")
def sb(make_sandbox, tmp_path_factory):
    secrets_file = tmp_path_factory.mktemp("sdb") / "ci_secrets.yaml"
    secrets_file.write_text(yaml.safe_dump({"deploy_hook": f"{HOOK_URL}/{HOOK_TOKEN}"}), encoding="utf-8")
    secrets_file.chmod(0o600)
    return make_sandbox(_spec(secrets_file), f"api{os.getpid() % 100000}", file_roots=[str(FILES)])


def _leaks(sb, secret, *shown):
    """Where `secret` shows up: in one of the `shown` answers (as JSON) or in a file the master
    writes: the journal, the write-ahead records, the reports, the logs (the master's, salt-api's)."""
    config = yaml.safe_load((Path(sb.master_conf_dir) / "master").read_text(encoding="utf-8"))
    found = [f"answer {i}" for i, answer in enumerate(shown) if secret in json.dumps(answer)]
    for directory in (Path(config["cachedir"]) / "scenario", Path(config["root_dir"]) / "var" / "log"):
        assert directory.is_dir(), directory
        found += [str(f) for f in directory.rglob("*") if f.is_file() and secret.encode() in f.read_bytes()]
    return found


# A salt-api client run in master 1's namespace: log in, then each (path, body) (GET if None).
CLIENT = r"""
import json, sys, urllib.error, urllib.request
req = json.load(sys.stdin)

def call(path, body, token=None):
    data = None if body is None else json.dumps(body).encode()
    r = urllib.request.Request(req["url"] + path, data=data, method="GET" if body is None else "POST")
    r.add_header("Content-Type", "application/json")
    r.add_header("Accept", "application/json")
    if token:
        r.add_header("X-Auth-Token", token)
    try:
        with urllib.request.urlopen(r, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")[:500]

status, login = call("/login", {"username": req["user"], "password": req["password"], "eauth": "file"})
if status != 200:
    print(json.dumps([[status, login]]))
    sys.exit(0)
token = login["return"][0]["token"]
print(json.dumps([call(path, body, token) for path, body in req["calls"]]))
"""


def api(sb, user, *calls):
    """[(HTTP status, answer)] of each (path, body) salt-api call as `user`."""
    request = {"url": sb.api_url(), "user": user, "password": sb.api_users()[user], "calls": list(calls)}
    proc = sb.popen_in_master([sys.executable, "-I", "-c", CLIENT], stdin=-1)
    out, err = proc.communicate(json.dumps(request), timeout=120)
    assert proc.returncode == 0, err
    return [tuple(answer) for answer in json.loads(out)]


def runner(fun, client="runner", **kwarg):
    return ("/", [{"client": client, "fun": fun, "kwarg": kwarg}])


def status_of(sb, **which):
    ((code, answer),) = api(sb, "deployer", runner("scenario.status", **which))
    assert code == 200, answer
    return answer["return"][0]


def job(sb, jid):
    """The runner job's record in the job cache (GET /jobs/JID): {"success", "return", ...}."""
    ((code, answer),) = api(sb, "deployer", (f"/jobs/{jid}", None))
    assert code == 200, answer
    (by_master,) = answer["return"]
    (data,) = by_master.values()  # the master's own id: a runner job has one "minion"
    return data


def deploy(sb, tmp_path, feature):
    """(exit code, stdout lines, stderr, jid, the fetched JUnit's path) of deploy.sh FEATURE as deployer."""
    env = {
        **os.environ,
        "SALTAPI_URL": sb.api_url(),
        "SALTAPI_USER": "deployer",
        "SALTAPI_PASSWORD": sb.api_users()["deployer"],
    }
    junit = tmp_path / f"{feature}.junit.xml"
    argv = ["bash", DEPLOY, "--poll", "0.5", "--deadline", "240", "--junit-out", str(junit), feature]
    argv[4:4] = ["--report-dir", str(tmp_path / "on-master")]
    proc = sb.popen_in_master(argv, env=env)
    out, err = proc.communicate(timeout=300)
    lines = out.splitlines()
    jid = lines[0].rsplit("(jid ", 1)[1].rstrip(")") if lines and "(jid " in lines[0] else None
    return proc.returncode, lines, err, jid, junit


def _wait_done(sb, jid, approve=True, deadline=180):
    """Poll scenario.status by jid, approving each gate the run waits at; the final status."""
    end = time.monotonic() + deadline
    approved = 0
    while time.monotonic() < end:
        answer = status_of(sb, jid=jid)
        if answer.get("retcode") == 0 and answer["state"] != "running":
            return answer, approved
        if answer.get("waiting") and approve:
            # Through salt-api too: the eauth user is who approved.
            ((code, decided),) = api(sb, "deployer", runner("scenario.approve", run_id=answer["run_id"]))
            assert code == 200 and decided["return"][0]["decision"] == "approve", decided
            approved += 1
        time.sleep(0.3)
    raise AssertionError(f"run of job {jid} not done after {deadline} s")


def _timed_run(sb, feature):
    started = time.monotonic()
    code, ret, _ = scenario(sb, "run", feature)
    return code, ret, time.monotonic() - started


def test_webhooks_hear_a_canary_run_with_an_approval_gate_and_a_dead_receiver_changes_nothing(sb, tmp_path):
    hooks = tmp_path / "hooks.jsonl"
    url, receiver = sb.webhook(240, hooks)
    try:
        ((code, started),) = api(sb, "deployer", runner("scenario.run", client="runner_async", name="canary_approval"))
        assert code == 200, started
        done, approved = _wait_done(sb, started["return"][0]["jid"])
        assert (done["state"], done["exit_code"], approved) == ("passed", 0, 2)
        posts = [json.loads(line) for line in hooks.read_text(encoding="utf-8").splitlines()]
        # The URL behind the sdb reference, secret and all, is where the posts went.
        assert {post["path"] for post in posts} == {f"/hooks/{HOOK_TOKEN}"}
        heard = [post["json"] for post in posts]
        kinds = [payload["event"] for payload in heard]
        assert kinds == ["started", "batch", "approval", "batch", "approval", "finished"], kinds
        assert all(payload["run_id"] == done["run_id"] and payload["state"] for payload in heard)
        assert heard[-1]["state"] == "passed" and heard[-1]["exit_code"] == 0
        assert heard[2]["approve"] == f"salt-run scenario.approve {done['run_id']}"
        ((_code, shown),) = api(sb, "deployer", runner("scenario.show", run_id=done["run_id"]))
        assert [a["user"] for a in shown["return"][0]["record"]["approvals"]] == ["deployer", "deployer"]

        up_code, up, up_seconds = _timed_run(sb, "ci_fails")
        assert up_code == 1 and not up.get("warnings"), up
    finally:
        receiver.terminate()
        receiver.wait(timeout=30)
    assert url.startswith("http://198.51.100.7:8080")

    down_code, down, down_seconds = _timed_run(sb, "ci_fails")
    assert (down_code, down["result"]) == (up_code, up["result"])
    assert any(f"not delivered after {TRIES} tries" in w for w in down["warnings"]), down.get("warnings")
    # At most timeout x tries (plus the pause between tries) longer. The 5 s margin is salt-run's
    # own start-up and the fleet's jitter between two runs on a busy machine; a notifier that
    # kept trying the dead receiver on each of the run's 3 notifications would cost 3 x 4.2 s.
    bound = NOTIFY_TIMEOUT * TRIES + RETRY_PAUSE
    assert down_seconds - up_seconds <= bound + 5.0, (down_seconds, up_seconds)
    journaled = scenario(sb, "show", down["run_id"])[1]["record"]
    assert journaled["warnings"] and set(journaled["warnings"]) <= set(down["warnings"])
    # The warning names the webhook by scheme and host only; the secret was printed nowhere.
    assert any("http://198.51.100.7:8080" in w for w in down["warnings"]), down["warnings"]
    assert _leaks(sb, HOOK_TOKEN, started, done, shown, up, down, journaled, heard) == []


def test_deploy_sh_through_salt_api_deploys_and_fetches_the_junit_report(sb, tmp_path):
    reset(sb)
    code, lines, err, jid, junit = deploy(sb, tmp_path, "update_website")
    assert code == 0, (lines, err)
    assert lines[-1] == "deploy.sh: passed (exit 0)"
    assert f"deploy.sh: JUnit report fetched through salt-api to {junit}" in lines
    suites = ET.parse(junit).getroot()
    assert suites.get("failures") == "0" and int(suites.get("tests")) > 0
    done = status_of(sb, jid=jid)
    assert (done["state"], done["exit_code"], done["failed"]) == ("passed", 0, [])
    assert versions(sb, WEB) == dict.fromkeys(WEB, "4.2.6-3")
    ran = job(sb, jid)
    assert ran["success"] is True and ran["return"]["run_id"] == done["run_id"]
    assert ran["return"]["retcode"] == 0


def test_deploy_sh_on_a_failing_feature_exits_1_and_status_names_the_host(sb, tmp_path):
    code, lines, err, jid, junit = deploy(sb, tmp_path, "ci_fails")
    assert code == 1, (lines, err)
    assert lines[-1] == "deploy.sh: failed (exit 1)"
    done = status_of(sb, jid=jid)
    assert (done["state"], done["exit_code"], done["failed"]) == ("failed", 1, ["web1"])
    assert any("failed: web1" in line for line in lines)
    assert ET.parse(junit).getroot().get("failures") == "1"
    ran = job(sb, jid)
    assert ran["success"] is False and ran["return"]["retcode"] == 1
    assert ran["return"]["run_id"] == done["run_id"]


def _wait_waiting(sb, jid, deadline=120):
    """Poll scenario.status by jid until the run waits at an approval gate; that status."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        answer = status_of(sb, jid=jid)
        if answer.get("retcode") == 0 and answer.get("waiting"):
            return answer
        assert answer.get("retcode") != 0 or answer["state"] == "running", answer
        time.sleep(0.3)
    raise AssertionError(f"run of job {jid} never waited for approval in {deadline} s")


def _started(sb, fun, **kwarg):
    """The jid salt-api answers a runner_async call of `fun` with (as the eauth user deployer)."""
    ((code, started),) = api(sb, "deployer", runner(fun, client="runner_async", **kwarg))
    assert code == 200, started
    return started["return"][0]["jid"]


def _abort_waiting(sb, jid, reason):
    """Abort, through salt-api, the run of job `jid` once it waits at its gate; its final status
    and its runner job's record."""
    waiting = _wait_waiting(sb, jid)
    ((code, decided),) = api(sb, "deployer", runner("scenario.abort", run_id=waiting["run_id"], reason=reason))
    assert code == 200 and decided["return"][0]["decision"] == "abort", decided
    aborted, approved = _wait_done(sb, jid, approve=False)
    assert aborted["run_id"] == waiting["run_id"] and approved == 0
    return aborted, job(sb, jid)


def test_abort_resume_and_approve_through_salt_api_and_the_jobs_success_follows_the_exit_code(sb):
    reset(sb)
    jid = _started(sb, "scenario.run", name="canary_approval")
    aborted, ran = _abort_waiting(sb, jid, "canary looks off")
    # scenario.abort: the approval step fails on every host of the batch (the canary, web1) and
    # the run halts as on any failed step: exit 1.
    assert (aborted["state"], aborted["exit_code"], aborted["failed"]) == ("failed", 1, ["web1"])
    assert ran["success"] is False and ran["return"]["retcode"] == 1
    assert ran["return"]["run_id"] == aborted["run_id"]
    assert ran["return"]["failed_hosts"]["web1"]["reason"] == "aborted by deployer: canary looks off"

    # A resume through salt-api that is aborted again: a run of its own, failed, success false.
    second = _started(sb, "scenario.resume", run_id=aborted["run_id"])
    again, resumed = _abort_waiting(sb, second, "still off")
    assert (again["state"], again["exit_code"], again["failed"]) == ("failed", 1, ["web1"])
    assert resumed["success"] is False and resumed["return"]["retcode"] == 1
    assert resumed["return"]["run_id"] == again["run_id"] not in (aborted["run_id"], None)
    assert resumed["return"]["resumes"] == aborted["run_id"]

    # Resumed once more: web1's batch starts over, waits at the gate, then web2 and web3's;
    # each approval through salt-api releases the gate, and the run passes.
    third = _started(sb, "scenario.resume", run_id=again["run_id"])
    assert len({jid, second, third}) == 3
    done, approved = _wait_done(sb, third)
    assert (done["state"], done["exit_code"], done["failed"], approved) == ("passed", 0, [], 2)
    passed = job(sb, third)
    assert passed["success"] is True and passed["return"]["retcode"] == 0
    assert passed["return"]["run_id"] == done["run_id"] not in (aborted["run_id"], again["run_id"])
    assert passed["return"]["resumes"] == again["run_id"]
    ((_code, shown),) = api(sb, "deployer", runner("scenario.show", run_id=done["run_id"]))
    assert [a["user"] for a in shown["return"][0]["record"]["approvals"]] == ["deployer", "deployer"]
    assert holds(sb) == {} and all(probes(sb, WEB).values())


def test_a_user_allowed_only_scenario_status_is_refused_scenario_run_and_nothing_runs(sb):
    journal = runner("scenario.history", limit=10000)
    ((_code, before),) = api(sb, "deployer", journal)
    runs = before["return"][0]["runs"]
    refused, allowed = api(
        sb,
        "watcher",
        runner("scenario.run", client="runner_async", name="update_website"),
        runner("scenario.status", run_id=runs[0]["run_id"]),
    )
    assert refused[0] == 401, refused
    assert allowed[0] == 200 and allowed[1]["return"][0]["state"] in ("passed", "failed"), allowed
    (_code, after), (_code2, active) = api(sb, "deployer", journal, runner("scenario.active"))
    assert after["return"][0]["runs"] == runs, "the journal is unchanged"
    assert active["return"][0]["runs"] == []
