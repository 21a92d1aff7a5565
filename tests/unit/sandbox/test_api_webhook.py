"""The spec's `api: true` (salt-api with file eauth test users) and the webhook receiver."""

import json
import threading
import urllib.request

import pytest
import yaml

from saltext.scenario.sandbox import Sandbox, SandboxError, cli, load_spec
from saltext.scenario.sandbox.master import Master
from saltext.scenario.sandbox.spec_services import services_of
from saltext.scenario.sandbox.webhook import make_handler

BASE = {"repo": {"mywebapp": ["4.2.5-1"]}, "hosts": {"web1": {"packages": {"mywebapp": "4.2.5-1"}}}}


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"api": "on"}, r"^api: must be true or false"),
        (
            {"master": {"config": {"rest_cherrypy": {"port": 1}}}},
            r"^master\.config: \['rest_cherrypy'\] are set by api",
        ),
        ({"master": {"config": {"external_auth": {"file": {}}}}}, r"\['external_auth\.file'\] are set by api"),
        ({"hosts": {**BASE["hosts"], "api": {}}}, r"^hosts\.api: "),
    ],
)
def test_bad_api_values_name_the_key(changes, message):
    with pytest.raises(SandboxError, match=message):
        load_spec({**BASE, "api": True, **changes})


def test_api_runs_in_master_1s_namespace_with_the_documented_master_options(tmp_path):
    api = services_of(tmp_path, load_spec({**BASE, "api": True}))["api"]
    assert (api.own_netns, api.after_masters, api.url) == (False, True, "http://198.51.100.2:8000")
    api.write_files()
    users = api.users()
    assert set(users) == {"deployer", "watcher"} and all(len(p) >= 20 for p in users.values())
    assert api.users_file.stat().st_mode & 0o777 == 0o600
    options = api.master_config()
    assert options["rest_cherrypy"] == {"host": "198.51.100.2", "port": 8000, "disable_ssl": True}
    assert options["netapi_enable_clients"] == ["runner_async", "runner", "local"]
    eauth = options["external_auth"]["file"]
    assert (eauth["^filename"], eauth["^filetype"]) == (str(api.users_file), "text")
    assert eauth["deployer"] == [{"@runner": [r"scenario\..*"]}, "@jobs"]
    assert eauth["watcher"] == [{"@runner": [r"scenario\.status"]}]
    master = Master(tmp_path, "ns", tmp_path)
    master.write_config("198.51.100.10", [], options)
    assert yaml.safe_load((master.conf_dir / "master").read_text())["external_auth"] == options["external_auth"]
    assert api.argv()[1:] == ["-c", str(master.conf_dir)]


def test_api_url_of_a_sandbox_without_api_is_refused(tmp_path):
    sandbox = Sandbox("noapi", root=tmp_path)
    sandbox._record, sandbox._building = {"spec": load_spec(BASE), "services": {}}, True
    with pytest.raises(SandboxError, match="runs no api"):
        sandbox.api_url()


def test_webhook_bounds_are_checked_before_anything_starts(tmp_path):
    sandbox = Sandbox("wh", root=tmp_path)
    with pytest.raises(SandboxError, match="--seconds must be more than 0 and at most 3600"):
        sandbox.webhook(0, tmp_path / "out")
    with pytest.raises(SandboxError, match="its directory does not exist"):
        sandbox.webhook(5, tmp_path / "missing" / "out")
    assert not (tmp_path / "wh").exists()


def test_webhook_handler_records_each_post_as_a_json_line(tmp_path):
    import http.server

    out = tmp_path / "hooks.jsonl"
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(str(out), threading.Lock()))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        for body in (b'{"event": "finished", "run": "r1"}', b"not json"):
            request = urllib.request.Request(f"{base}/a/b", data=body, headers={"X-Token": "t"}, method="POST")
            with urllib.request.urlopen(request, timeout=5) as answer:
                assert answer.status == 200
        with urllib.request.urlopen(f"{base}/health", timeout=5) as answer:
            assert answer.status == 200
    finally:
        server.shutdown()
        server.server_close()
    first, second = (json.loads(line) for line in out.read_text().splitlines())
    assert (first["path"], first["json"], first["headers"]["X-Token"]) == (
        "/a/b",
        {"event": "finished", "run": "r1"},
        "t",
    )
    assert (second["json"], second["body"]) == (None, "not json")


def test_api_url_and_webhook_are_commands():
    assert cli._split(["api-url"]) == (["api-url"], [])
    assert cli._split(["webhook", "--seconds", "5", "--out", "f"]) == (["webhook"], ["--seconds", "5", "--out", "f"])
