"""The HAProxy spec end to end: a real HAProxy and minion lb in the LB namespace, request load
through it from the client namespace while the shipped drain features deploy, and a master
restart that every minion survives."""

import os
import subprocess
import sys
import threading

import pytest

from saltext.scenario.sandbox import HAPROXY_SPEC
from saltext.scenario.sandbox.balancer import Balancer

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

WEB = ["web1", "web2", "web3"]
OLD, NEW = "mywebapp 4.2.5-1", "mywebapp 4.2.6-3"


@pytest.fixture(scope="module")
def sandbox(make_sandbox):
    own = make_sandbox(HAPROXY_SPEC, name=f"ha{os.getpid()}")
    yield own
    own.down()


@pytest.fixture
def fresh(sandbox):
    """Every web host back at 4.2.5-1, unblocked, and UP in HAProxy."""
    proc = sandbox.salt("-L", ",".join(WEB), "pkgcheck.update", "mywebapp", "version=4.2.5-1", "--out=json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    sandbox.salt("-L", ",".join(WEB), "lbgate.unblock", sandbox.lb, "--out=json")
    balancer = Balancer(sandbox.state_dir, sandbox.record["lb"]["netns"], sandbox.bin_dir, sandbox.spec)
    balancer.wait_all_up(60, lambda: True)
    return sandbox


def deploy_under_load(sandbox, feature, seconds=60):
    """(salt-run exit code, load summary) of `scenario.run feature batch=1` with load at 20/s throughout."""
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("load", sandbox.load(20, seconds)))
    thread.start()
    proc = sandbox.salt_run("scenario.run", feature, "batch=1", timeout=seconds)
    thread.join(seconds + 60)
    assert not thread.is_alive()
    return proc, box["load"]


def test_status_shows_haproxy_and_the_lb_minion(sandbox):
    lb = sandbox.status()["lb"]
    assert lb["haproxy"]["running"] and lb["minion"]["running"] and lb["backend"] == "web"
    assert sandbox.minions == [*WEB, "db1", "lb"]


def test_load_through_haproxy_spreads_over_the_web_hosts(fresh):
    summary = fresh.load(20, 2)
    assert (summary["sent"], summary["ok"], summary["failed"]) == (40, 40, 0)
    assert summary["versions"] == {OLD: 40}


def test_load_cli_prints_the_summary_and_refuses_unbounded_values(fresh):
    def load(*args):
        argv = [sys.executable, "-m", "saltext.scenario.sandbox", "--name", fresh.name, "load", *args]
        return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)

    proc = load("--rate", "10", "--seconds", "1")
    assert proc.returncode == 0, proc.stderr
    assert "requests sent:  10" in proc.stdout and "failed:         0" in proc.stdout
    assert f"versions seen:  {OLD} (10)" in proc.stdout
    proc = load("--rate", "20", "--seconds", "100000")
    assert proc.returncode == 2 and "--seconds must be" in proc.stderr


def test_haproxy_rolling_deploy_under_load_drops_no_request(fresh):
    proc, load = deploy_under_load(fresh, "update_website_haproxy")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert load["failed"] == 0, load
    assert set(load["versions"]) == {OLD, NEW}
    stat = Balancer(fresh.state_dir, fresh.record["lb"]["netns"], fresh.bin_dir, fresh.spec).show_stat()
    assert stat == {"web1": "UP", "web2": "UP", "web3": "UP"}


def test_firewall_drain_feature_passes_and_leaves_every_host_reachable(fresh):
    proc = fresh.salt_run("scenario.run", "update_website_drain", "batch=1", timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "When I drain the load balancer within 30 seconds" in proc.stdout
    assert all(fresh.probe(host) for host in WEB)
    assert {fresh.web(host) for host in WEB} == {NEW}


def test_restart_master_brings_every_minion_back(sandbox):
    before = sandbox.record["master"]["proc"]["pid"]
    took = sandbox.restart_master()
    assert sandbox.record["master"]["proc"]["pid"] != before and took > 0
    assert sandbox.status()["up"]
    proc = sandbox.salt("*", "test.ping", "--out=json", "-t", "10")
    answered = sandbox._json_call(proc)
    assert answered == dict.fromkeys(sandbox.minions, True)
    # The runner still works against the restarted master.
    assert sandbox.salt_run("scenario.plan", "update_website_haproxy", timeout=60).returncode == 0
