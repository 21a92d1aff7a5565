"""Access control: who may call scenario.run under external_auth (the `file` eauth module).

deployer may run `@runner: [scenario.run, scenario.plan]`; intern only `@runner: [test.*]`.
salt-run in Salt 3008.4 reports an eauth denial as text and still exits 0 (the runner never
runs, so it cannot set a retcode): the tests check the message and that nothing happened.
"""

import json
import os

import pytest

from tests.support.scenario_cli import parse

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

PASSWORD = "not-a-secret-0"
DENIED = 'Authentication failure of type "eauth" occurred for user {}'


def _spec(users_file):
    return {
        "lb": "198.51.100.10",
        "repo": {"mywebapp": ["4.2.5-1", "4.2.6-3"]},
        "hosts": {"web1": {"grains": {"roles": ["dev_server"], "country": "de"}, "packages": {"mywebapp": "4.2.5-1"}}},
        "master": {
            "config": {
                "external_auth": {
                    "file": {
                        "^filename": str(users_file),
                        "^filetype": "text",
                        "^hashtype": "plaintext",
                        "deployer": [{"@runner": ["scenario.run", "scenario.plan"]}],
                        "intern": [{"@runner": ["test.*"]}],
                    }
                }
            }
        },
    }


@pytest.fixture(scope="module")
def sb(make_sandbox, tmp_path_factory):
    users = tmp_path_factory.mktemp("eauth") / "users"
    users.write_text(f"deployer:{PASSWORD}\nintern:{PASSWORD}\n")
    users.chmod(0o600)
    sandbox = make_sandbox(_spec(users), f"ac{os.getpid() % 100000}")
    yield sandbox
    sandbox.down()


def as_user(sb, user, *args, password=PASSWORD):
    return sb.salt_run(
        "-a", "file", "--username", user, "--password", password, *args, "--out=json", "--out-indent=-1", timeout=180
    )


def version(sb):
    return json.loads(sb.salt("web1", "pkg.version", "mywebapp", "--out=json", "--static", timeout=60).stdout)["web1"]


@pytest.mark.parametrize(
    "user, password, args",
    [
        ("intern", PASSWORD, ("scenario.run", "update_website")),  # no scenario.* at all
        ("deployer", "wrong", ("scenario.run", "update_website")),  # bad password
        ("deployer", PASSWORD, ("scenario.validate", "update_website")),  # not on deployer's list
    ],
)
def test_users_without_the_permission_are_denied_and_nothing_runs(sb, user, password, args):
    proc = as_user(sb, user, *args, password=password)
    said = json.loads(proc.stdout.splitlines()[0])  # salt-run prints the denial as a JSON string
    assert isinstance(said, str) and DENIED.format(user) in said, proc.stdout[-2000:]
    assert version(sb) == "4.2.5-1" and sb.probe("web1")
    # no run of update_website ever took its lock (the deployer test below is the first to run it)
    assert not (
        sb.state_dir / "m" / "var" / "cache" / "salt" / "master" / "scenario" / "locks" / "update_website.lock"
    ).exists()


def test_deployer_runs_the_scenario_and_gets_its_exit_code(sb):
    code, ret, _ = parse(*_out(as_user(sb, "deployer", "scenario.plan", "update_website")))
    assert code == 0 and ret["result"] == "plan" and ret["pinned"] == ["web1"]
    code, ret, _ = parse(*_out(as_user(sb, "deployer", "scenario.run", "../x")))
    assert code == 2 and "path traversal" in ret["error"]  # the retcode comes through the master
    code, ret, _ = parse(*_out(as_user(sb, "deployer", "scenario.run", "update_website")))
    assert code == 0 and ret["retcode"] == 0 and ret["result"] == "passed", ret
    assert version(sb) == "4.2.6-3" and sb.probe("web1")


def _out(proc):
    return proc.returncode, proc.stdout, proc.stderr
