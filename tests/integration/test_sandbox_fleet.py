"""The sandbox's fleet-scale pieces on one sandbox of this module (etcd-spec.yaml with api: true):
two hot/hot salt-masters, the real etcd they share, salt-api, and the webhook receiver."""

import base64
import json
import os
import subprocess
import sys

import pytest
import yaml

from saltext.scenario.sandbox import ETCD_SPEC
from saltext.scenario.sandbox.netns import http

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

SPEC = {**yaml.safe_load(ETCD_SPEC.read_text()), "api": True}


@pytest.fixture(scope="module")
def sandbox(make_sandbox):
    own = make_sandbox(SPEC, name=f"fl{os.getpid()}")
    yield own
    own.down()


def cli(sandbox, *args, timeout=120):
    argv = [sys.executable, "-m", "saltext.scenario.sandbox", "--name", sandbox.name, *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def test_both_masters_answer_for_every_host_with_one_key(sandbox):
    for master in ("1", "2"):
        proc = cli(sandbox, "--master", master, "salt", "*", "test.ping", "--out=json", "--static")
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout) == dict.fromkeys(sandbox.hosts, True), master
    masters = json.loads(cli(sandbox, "status", "--json").stdout)["masters"]
    assert [(m["index"], m["address"], m["running"]) for m in masters] == [
        (1, "198.51.100.2", True),
        (2, "198.51.100.4", True),
    ]
    keys = {(sandbox.state_dir / d / "pki" / "master.pub").read_bytes() for d in ("m", "m2")}
    assert len(keys) == 1
    assert sandbox.salt_run("config.get", "interface", "--out=json", master=2).stdout.strip() == '"198.51.100.4"'


def _b64(text):
    return base64.b64encode(text.encode()).decode()


def etcd(sandbox, path, body):
    """POST to etcd's v3 JSON gateway from master 2's namespace: (status, parsed answer)."""
    status, text = http(sandbox.record["master2"]["netns"], "198.51.100.5", 2379, path, 10, "POST", json.dumps(body))
    return status, json.loads(text) if status else text


def test_etcd_serves_both_masters_takes_1000_claims_in_one_transaction_and_stops_and_starts(sandbox):
    claims = [_b64(f"/test/claims/host{n:04d}") for n in range(1000)]
    txn = {
        "compare": [{"key": k, "target": "CREATE", "create_revision": "0", "result": "EQUAL"} for k in claims],
        "success": [{"request_put": {"key": k, "value": _b64("run-1")}} for k in claims],
    }
    status, answer = etcd(sandbox, "/v3/kv/txn", txn)
    assert (status, answer.get("succeeded")) == (200, True), answer
    for master in (1, 2):
        options = sandbox.salt_run("config.get", "scenario_etcd_endpoints", "--out=json", master=master)
        assert json.loads(options.stdout) == ["http://198.51.100.5:2379"]

    stopped = cli(sandbox, "stop", "etcd")
    assert stopped.returncode == 0, stopped.stderr
    assert etcd(sandbox, "/v3/kv/range", {"key": claims[0]})[0] is None
    status = json.loads(cli(sandbox, "status", "--json").stdout)
    assert status["services"]["etcd"]["running"] is False and status["up"] is False

    started = cli(sandbox, "start", "etcd")
    assert started.returncode == 0, started.stderr
    status, answer = etcd(sandbox, "/v3/kv/range", {"key": claims[999]})
    assert status == 200 and answer["count"] == "1", "the data dir outlives a stop"
    assert sandbox.status()["up"] is True


def api_run(sandbox, user, password, fun, *args):
    """(status, body) of salt-api's /run with the runner client, asked from master 2's namespace."""
    low = [{"client": "runner", "fun": fun, "arg": list(args), "username": user, "password": password, "eauth": "file"}]
    return http(sandbox.record["master2"]["netns"], "198.51.100.2", 8000, "/run", 60, "POST", json.dumps(low))


def test_salt_api_logs_the_test_users_in_and_holds_them_to_their_acl(sandbox):
    url = cli(sandbox, "api-url")
    assert (url.returncode, url.stdout) == (0, "http://198.51.100.2:8000\n"), url.stderr
    users = sandbox.api_users()
    login = {"username": "deployer", "password": users["deployer"], "eauth": "file"}
    status, body = http(
        sandbox.record["master"]["netns"], "198.51.100.2", 8000, "/login", 30, "POST", json.dumps(login)
    )
    assert status == 200, body
    assert json.loads(body)["return"][0]["perms"] == ["@jobs", {"@runner": ["scenario\\..*"]}]
    status, body = api_run(sandbox, "deployer", users["deployer"], "scenario.plan", "update_website")
    assert status == 200 and "nothing was changed" in body, body
    assert api_run(sandbox, "watcher", users["watcher"], "scenario.plan", "update_website")[0] == 401
    assert api_run(sandbox, "deployer", "wrong", "scenario.plan", "update_website")[0] == 401


def test_webhook_receiver_records_posts_and_ends_by_itself(sandbox, tmp_path):
    out = tmp_path / "hooks.jsonl"
    url, proc = sandbox.webhook(3, out)
    assert url == "http://198.51.100.7:8080/"
    event = {"event": "started", "run": "r1", "state": "running"}
    status, _ = http(
        sandbox.record["master2"]["netns"], "198.51.100.7", 8080, "/hooks/ci", 5, "POST", json.dumps(event)
    )
    assert status == 200
    assert proc.wait(timeout=30) == 0
    (line,) = out.read_text().splitlines()
    recorded = json.loads(line)
    assert (recorded["path"], recorded["json"]) == ("/hooks/ci", event)
    assert recorded["headers"]["Content-Type"] == "application/json"
    assert sandbox.status()["webhook"]["running"] is False
