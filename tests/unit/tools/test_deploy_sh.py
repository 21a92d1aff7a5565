"""tools/ci/deploy.sh against a tiny fake salt-api (loopback, ephemeral port): login, runner_async
scenario.run, scenario.status polled until done, the run's exit code, the JUnit report."""

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.http_receiver import Receiver, closed_port

SCRIPT = Path(__file__).resolve().parents[3] / "tools" / "ci" / "deploy.sh"
JID = "20261204180000123456"
TOKEN = "tok-0123456789abcdef"
PASSWORD = "pw-s3cret"


def _status(state, **extra):
    return {"retcode": 0, "result": "status", "run_id": "20261204180000-1a2b3c4d", "state": state, **extra}


class FakeSaltApi:
    """Answers /login and / (runner_async scenario.run, runner scenario.status) like rest_cherrypy."""

    def __init__(self, statuses, allow_run=True, report=True):
        self.statuses = list(statuses)
        self.report = report
        self.allow_run = allow_run
        self.started = []
        self.fetched = []

    def __call__(self, req):
        if req.path == "/login":
            creds = req.json()
            if creds != {"username": "ci", "password": PASSWORD, "eauth": "file"}:
                return 401, {}, b"Could not authenticate using provided credentials"
            return 200, {}, {"return": [{"token": TOKEN, "user": "ci", "eauth": "file", "perms": []}]}
        if req.headers.get("X-Auth-Token") != TOKEN:
            return 401, {}, b"No permission"
        (low,) = req.json()
        if low["client"] == "runner_async" and low["fun"] == "scenario.run":
            if not self.allow_run:
                return 401, {}, b"No permission"
            self.started.append(low["kwarg"])
            return 200, {}, {"return": [{"tag": f"salt/run/{JID}", "jid": JID}]}
        if low["client"] == "runner" and low["fun"] == "scenario.report_file":
            self.fetched.append(low["kwarg"])
            if not self.report:
                return 200, {}, {"return": [{"retcode": 1, "result": "error", "error": "too big"}]}
            content = "<testsuites>x</testsuites>"
            return 200, {}, {"return": [{"retcode": 0, "result": "report_file", "content": content}]}
        if low["client"] == "runner" and low["fun"] == "scenario.status" and low["kwarg"] == {"jid": JID}:
            answer = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
            return 200, {}, {"return": [answer]}
        return 400, {}, b"unexpected"


def _deploy(url, *args, password=PASSWORD, timeout=30):
    env = {**os.environ, "SALTAPI_URL": url, "SALTAPI_USER": "ci", "SALTAPI_PASSWORD": password}
    return subprocess.run(
        ["bash", str(SCRIPT), "--poll", "0.1", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_syntax_and_help():
    assert subprocess.run(["bash", "-n", str(SCRIPT)], check=False).returncode == 0
    out = subprocess.run(["bash", str(SCRIPT), "--help"], capture_output=True, text=True, check=False)
    assert out.returncode == 0 and "Usage: deploy.sh [options] FEATURE" in out.stdout


def test_happy_path(tmp_path):
    junit = tmp_path / "update_website-1.junit.xml"
    junit.write_text("<testsuites/>", encoding="utf-8")
    api = FakeSaltApi(
        [
            "No run with jid yet",  # the run has not written its first record
            _status("running", batch=[1, 2], step="When I update the package mywebapp"),
            _status("running", batch=[1, 2], step="When I update the package mywebapp"),
            _status("running", batch=[2, 2], step="Then the service mywebapp should be running"),
            _status("passed", exit_code=0, batch=[2, 2], reports={"junit_xml": str(junit)}),
        ]
    )
    out_file = tmp_path / "junit.xml"
    with Receiver(api) as rx:
        done = _deploy(
            rx.url, "--batch", "1,50%", "--report-dir", "/srv/reports", "--junit-out", str(out_file), "update_website"
        )
    assert done.returncode == 0, done.stderr
    assert api.started == [{"name": "update_website", "batch": "1,50%", "report_dir": "/srv/reports"}]
    lines = done.stdout.splitlines()
    assert lines[0] == f"deploy.sh: started scenario.run update_website (jid {JID})"
    progress = [line for line in lines if line.startswith("deploy.sh: running")]
    assert progress == [
        "deploy.sh: running, run 20261204180000-1a2b3c4d, batch 1/2, step: When I update the package mywebapp",
        "deploy.sh: running, run 20261204180000-1a2b3c4d, batch 2/2, step: Then the service mywebapp should be running",
    ]
    assert f"deploy.sh: JUnit report on the master: {junit}" in lines
    assert out_file.read_text(encoding="utf-8").strip() == "<testsuites>x</testsuites>", "through salt-api"
    assert api.fetched == [{"run_id": "20261204180000-1a2b3c4d", "kind": "junit_xml"}]
    assert lines[-1] == "deploy.sh: passed (exit 0)"
    assert PASSWORD not in done.stdout + done.stderr and TOKEN not in done.stdout + done.stderr
    assert all(r.headers.get("X-Auth-Token") == TOKEN for r in rx.requests[1:])


def test_a_junit_report_salt_api_cannot_hand_over_is_copied_when_readable(tmp_path):
    junit = tmp_path / "big.junit.xml"
    junit.write_text("<testsuites/>", encoding="utf-8")
    api = FakeSaltApi([_status("passed", exit_code=0, reports={"junit_xml": str(junit)})], report=False)
    out_file = tmp_path / "junit.xml"
    with Receiver(api) as rx:
        done = _deploy(rx.url, "--junit-out", str(out_file), "update_website")
    assert done.returncode == 0, done.stderr
    assert "salt-api did not hand over the JUnit report of run 20261204180000-1a2b3c4d: too big" in done.stderr
    assert out_file.read_text(encoding="utf-8") == "<testsuites/>"


def test_a_junit_report_the_job_cannot_read_is_fetched_through_salt_api(tmp_path):
    done_status = _status("failed", exit_code=1, reports={"junit_xml": "/srv/on/the/master.junit.xml"})
    api = FakeSaltApi([done_status])
    out_file = tmp_path / "junit.xml"
    with Receiver(api) as rx:
        done = _deploy(rx.url, "--junit-out", str(out_file), "update_website")
    assert done.returncode == 1, done.stderr
    assert api.fetched == [{"run_id": "20261204180000-1a2b3c4d", "kind": "junit_xml"}]
    assert out_file.read_text(encoding="utf-8").strip() == "<testsuites>x</testsuites>"
    assert f"deploy.sh: JUnit report fetched through salt-api to {out_file}" in done.stdout


def test_a_failed_run_exits_1_naming_the_host():
    api = FakeSaltApi(
        [
            _status("running", batch=[1, 2], step="When I update the package mywebapp"),
            _status("failed", exit_code=1, batch=[1, 2], failed=["web2"], held=["web2"], reports={}),
        ]
    )
    with Receiver(api) as rx:
        done = _deploy(rx.url, "update_website")
    assert done.returncode == 1
    assert "deploy.sh: failed, run 20261204180000-1a2b3c4d, batch 1/2, failed: web2, held: web2" in done.stdout
    assert done.stdout.splitlines()[-1] == "deploy.sh: failed (exit 1)"


def test_exit_code_of_a_refused_run():
    with Receiver(FakeSaltApi([_status("refused", exit_code=4)])) as rx:
        assert _deploy(rx.url, "update_website").returncode == 4


def test_login_refused_is_77_and_nothing_starts():
    api = FakeSaltApi([_status("passed", exit_code=0)])
    with Receiver(api) as rx:
        done = _deploy(rx.url, "update_website", password="wrong")
    assert done.returncode == 77 and "login refused for user ci" in done.stderr
    assert api.started == [] and "wrong" not in done.stderr


def test_not_allowed_to_run_is_77():
    api = FakeSaltApi([_status("passed", exit_code=0)], allow_run=False)
    with Receiver(api) as rx:
        done = _deploy(rx.url, "update_website")
    assert done.returncode == 77 and "not allowed to run scenario.run" in done.stderr


def test_the_deadline_ends_the_wait_not_the_run():
    with Receiver(FakeSaltApi([_status("running", batch=[1, 3])])) as rx:
        done = _deploy(rx.url, "--deadline", "1", "update_website")
    assert done.returncode == 75
    assert "the run goes on: salt-run scenario.status 20261204180000-1a2b3c4d" in done.stderr


def test_salt_api_down_is_69():
    done = _deploy(f"http://127.0.0.1:{closed_port()}", "update_website")
    assert done.returncode == 69 and "unreachable" in done.stderr


@pytest.mark.parametrize(
    ("args", "why"),
    [
        ([], "which feature?"),
        (["a", "b"], "one feature at a time"),
        (["--report-dir", "relative", "x"], "absolute"),
        (["--deadline", "soon", "x"], "whole number"),
        (["--bogus", "x"], "unknown option --bogus"),
        (["x;rm"], "not a scenario name"),
    ],
)
def test_usage_errors_are_64(args, why):
    done = _deploy("http://127.0.0.1:9", *args)
    assert done.returncode == 64 and why in done.stderr


def test_the_gitlab_example_publishes_what_deploy_sh_writes():
    import yaml

    job = yaml.safe_load((SCRIPT.parent / "gitlab-ci.example.yml").read_text(encoding="utf-8"))["deploy"]
    script = " ".join(job["script"])
    assert script.startswith("tools/ci/deploy.sh ")
    junit = job["artifacts"]["reports"]["junit"]
    assert f'--junit-out "{junit}"' in script and job["artifacts"]["when"] == "always"
