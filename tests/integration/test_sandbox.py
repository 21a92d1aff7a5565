"""The sandbox itself, on a default-spec sandbox of this module's own: real daemons, real traffic, its CLI."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import REPO

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


@pytest.fixture(scope="module")
def sandbox(make_sandbox):
    """A default-spec sandbox of this module's own.

    These tests check the state `up` leaves (versions, rules, minions), and other modules run
    deployments on the session's sandbox, so sharing it would make them order-dependent.
    """
    own = make_sandbox(None, name=f"a{os.getpid()}")
    yield own
    own.down()


CLI = [sys.executable, "-m", "saltext.scenario.sandbox"]
CONSOLE_SCRIPT = str(Path(sys.executable).with_name("scenario-sandbox"))


def cli(sandbox, *args, script=False, timeout=120):
    argv = ([CONSOLE_SCRIPT] if script else CLI) + ["--name", sandbox.name, *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def as_json(proc):
    assert proc.stdout.strip(), f"no output; stderr: {proc.stderr}"
    return json.loads(proc.stdout)


def test_compound_ping_answers_exactly_web1_to_web3(sandbox):
    proc = cli(
        sandbox, "salt", "-C", "G@roles:dev_server and G@country:de", "test.ping", "--out=json", "--static", script=True
    )
    assert proc.returncode == 0, proc.stderr
    assert as_json(proc) == {"web1": True, "web2": True, "web3": True}


def test_every_host_answers_with_its_grains(sandbox):
    proc = sandbox.salt("*", "grains.item", "roles", "country", "host", "--out=json", "--static", timeout=60)
    assert proc.returncode == 0, proc.stderr
    grains = as_json(proc)
    assert set(grains) == {"web1", "web2", "web3", "web4", "db1"}
    assert grains["web4"] == {"roles": ["dev_server"], "country": "fr", "host": "web4"}
    assert grains["db1"]["roles"] == ["db_server"]


def test_salt_call_pkg_version(sandbox):
    proc = cli(sandbox, "salt-call", "web1", "pkg.version", "mywebapp")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["local:", "4.2.5-1"]
    versions = as_json(sandbox.salt("*", "pkg.version", "mywebapp", "--out=json", "--static", timeout=60))
    assert versions == {"web1": "4.2.5-1", "web2": "4.2.5-1", "web3": "4.2.5-1", "web4": "4.2.5-1", "db1": ""}


def test_packages_live_in_the_host_only(sandbox):
    assert sandbox.exec("web1", ["cat", "/opt/mywebapp/VERSION"]).stdout == "4.2.5-1\n"
    assert sandbox.exec("db1", ["ls", "-A", "/opt"]).stdout == ""
    assert not Path("/opt/mywebapp").exists()
    real = subprocess.run(["dpkg-query", "-W", "mywebapp"], capture_output=True, text=True, check=False)
    assert real.returncode != 0, "mywebapp leaked into the real machine's dpkg database"


def test_apt_sources_are_the_local_repo_only(sandbox):
    sources = sandbox.exec("web2", ["cat", "/etc/apt/sources.list"]).stdout
    assert sources == f"deb [trusted=yes] file:{sandbox.state_dir}/repo/main ./\n"
    assert sandbox.exec("web2", ["ls", "-A", "/etc/apt/sources.list.d"]).stdout == ""
    policy = sandbox.exec("web2", ["apt-cache", "policy", "mywebapp"]).stdout
    assert "4.2.6-3" in policy and "4.2.5-1" in policy


def test_nrpe_cfg_per_host(sandbox):
    cfg = sandbox.exec("web3", ["cat", "/etc/nagios/nrpe.cfg"]).stdout
    # Thresholds are nrpecfg's business (per-CPU and wide, for busy CI boxes); the check must exist and pass.
    assert "\ncommand[check_load]=/usr/lib/nagios/plugins/check_load " in cfg
    load_line = next(line for line in cfg.splitlines() if line.startswith("command[check_load]="))
    load = sandbox.exec("web3", load_line.split("=", 1)[1].split())
    assert load.returncode == 0, load.stdout
    assert "command[check_web]=/usr/lib/nagios/plugins/check_http -I 198.51.100.13 -p 80" in cfg
    assert "server_address=198.51.100.13" in cfg
    check = sandbox.exec(
        "web3", ["/usr/lib/nagios/plugins/check_http", "-I", "198.51.100.13", "-p", "80", "-s", "4.2.5-1"]
    )
    assert check.returncode == 0, check.stdout


def test_probe_reachable_then_blocked_by_a_drop_rule(sandbox):
    real_rules = subprocess.run(["iptables", "-S"], capture_output=True, text=True, check=True).stdout
    probe = cli(sandbox, "probe", "web1")
    assert (probe.returncode, probe.stdout) == (0, "reachable\n")
    rule = ["-s", sandbox.lb, "-p", "tcp", "--dport", "80", "-j", "DROP"]
    added = cli(sandbox, "exec", "web1", "--", "iptables", "-I", "INPUT", *rule)
    assert added.returncode == 0, added.stderr
    try:
        probe = cli(sandbox, "probe", "web1")
        assert (probe.returncode, probe.stdout) == (1, "blocked\n")
        assert sandbox.probe("web2") is True
        assert subprocess.run(["iptables", "-S"], capture_output=True, text=True, check=True).stdout == real_rules
    finally:
        sandbox.exec("web1", ["iptables", "-D", "INPUT", *rule], check=True)
    assert sandbox.probe("web1") is True


def test_ipv6_probe_is_blocked_separately(sandbox):
    assert sandbox.probe("web2", ipv6=True) is True
    rule = ["-s", "2001:db8:100::10", "-p", "tcp", "--dport", "80", "-j", "DROP"]
    sandbox.exec("web2", ["ip6tables", "-I", "INPUT", *rule], check=True)
    try:
        probe = cli(sandbox, "probe", "web2", "--ipv6")
        assert (probe.returncode, probe.stdout) == (1, "blocked\n")
        assert sandbox.probe("web2") is True, "an IPv6 rule must not block IPv4"
    finally:
        sandbox.exec("web2", ["ip6tables", "-D", "INPUT", *rule], check=True)
    assert sandbox.probe("web2", ipv6=True) is True


def test_web_service_reports_the_installed_version(sandbox):
    assert sandbox.web("web4") == "mywebapp 4.2.5-1"
    assert sandbox.web("db1") == "mywebapp not installed"


def test_stop_and_start_a_minion(sandbox):
    # Stopped from another process: the fixture's Sandbox object must see it (state re-read).
    stopped = cli(sandbox, "stop", "web3")
    assert stopped.returncode == 0, stopped.stderr
    try:
        assert sandbox.status()["hosts"]["web3"]["minion"]["running"] is False
        ping = sandbox.salt("-L", "web3,web2", "test.ping", "--out=json", "--static", "-t", "3", timeout=60)
        answers = as_json(ping)
        assert answers["web2"] is True
        assert answers.get("web3") is not True
        assert sandbox.probe("web3") is True, "stopping the minion must leave the web service up"
    finally:
        sandbox.start("web3")
    ping = sandbox.salt("-L", "web3", "test.ping", "--out=json", "--static", timeout=60)
    assert as_json(ping) == {"web3": True}
    assert sandbox.status()["up"] is True


def test_status_cli(sandbox):
    proc = cli(sandbox, "status", "--json")
    assert proc.returncode == 0, proc.stderr
    status = as_json(proc)
    assert status["up"] is True
    assert list(status["hosts"]) == ["web1", "web2", "web3", "web4", "db1"]
    assert status["hosts"]["web1"]["address"] == "198.51.100.11"
    assert status["lb"]["address"] == "198.51.100.10"
    text = cli(sandbox, "status", script=True)
    assert text.returncode == 0
    assert f"sandbox {sandbox.name}: up" in text.stdout


def test_pass_through_exit_codes(sandbox):
    assert cli(sandbox, "exec", "db1", "--", "false").returncode == 1
    assert cli(sandbox, "salt-call", "db1", "--retcode-passthrough", "test.retcode", "3").returncode == 3
    unknown = cli(sandbox, "probe", "nohost")
    assert unknown.returncode == 2 and "has no host 'nohost'" in unknown.stderr


def test_master_knows_its_config(sandbox):
    proc = sandbox.salt_run("config.get", "scenario_lb_address", "--out=json", timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == "198.51.100.10"
    runner = sandbox.popen_in_master(["salt-run", "test.arg", "hello", "--out=json"])
    out, err = runner.communicate(timeout=60)
    assert runner.returncode == 0, err
    assert json.loads(out)["args"] == ["hello"]


def test_minions_got_the_repo_modules(sandbox):
    # _modules/__init__.py only makes the folder a package for pip; Salt loads no module from it.
    modules = sorted(p.stem for p in (REPO / "_modules").glob("*.py") if p.stem != "__init__")
    if not modules:
        pytest.skip("no _modules in this checkout yet")
    listed = as_json(sandbox.salt("web1", "sys.list_modules", "--out=json", "--static", timeout=60))["web1"]
    assert set(modules) <= set(listed)
