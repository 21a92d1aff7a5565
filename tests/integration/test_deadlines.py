"""A step that hangs, a stop that waits, a disk that fills, on real daemons.

One sandbox of two hosts whose master says `scenario_step_deadline: 10` and
`scenario_stop_grace: 5`, and a site library step calling `test.sleep` on them.
"""

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest
import yaml

from tests.support.paths import TESTS
from tests.support.scenario_cli import (
    LB,
    Background,
    minion_job_ids,
    probes,
    release_holds,
    scenario,
    unbuffered_env,
)

pytestmark = pytest.mark.slow

HOSTS = ["web1", "web2"]
DEADLINE = 10
GRACE = 5
SPEC = {
    "lb": LB,
    "repo": {"mywebapp": ["4.2.5-1"]},
    "hosts": {h: {"grains": {"roles": ["dev_server"]}, "packages": {"mywebapp": "4.2.5-1"}} for h in HOSTS},
    "master": {"config": {"scenario_step_deadline": DEADLINE, "scenario_stop_grace": GRACE}},
}
STEPS = """\
- step: "I sleep {n} seconds"
  kind: when
  function: test.sleep
  args: ["{n}"]
"""
FEATURE = """\
Feature: {name}
  Scenario: A step that takes its time
    Given the load balancer has ip address 198.51.100.10
    And I want to update hosts with class roles::dev_server
    When I block the load balancer
    And I sleep {seconds} seconds
    And I unblock the load balancer
"""
BLOCKED = "I block the load balancer"
FULL_FS = TESTS / "support" / "full_fs_run.py"


def _wait_for_the_sleep_on_every_host(sb, timeout=60):
    """Until test.sleep runs on every host: a signal sent right after the block step's progress
    line can land before the sleep step is published, and then that step is skipped, not in flight."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        proc = sb.salt("-L", ",".join(HOSTS), "saltutil.running", "--out=json", "--static", timeout=60)
        running = json.loads(proc.stdout or "{}")
        if all(any(j.get("fun") == "test.sleep" for j in running.get(h) or []) for h in HOSTS):
            return
        time.sleep(0.2)
    pytest.fail(f"test.sleep never ran on every host: {running}")


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("deadline_root")
    (root / "features" / "steps").mkdir(parents=True)
    (root / "features" / "steps" / "sleeping.yaml").write_text(STEPS)
    for name, seconds in (("hang", 300), ("nap", 4)):
        (root / "features" / f"{name}.feature").write_text(FEATURE.format(name=name, seconds=seconds))
    return root


@pytest.fixture(scope="module")
def sb(make_sandbox, root):
    return make_sandbox(SPEC, f"dl{os.getpid() % 100000}", file_roots=[str(root)])


@pytest.fixture
def clean(sb):
    _unblock(sb)
    yield sb
    _unblock(sb)


def _unblock(sb):
    # Each test's run leaves its hosts held (as it must); the next test starts from released hosts.
    release_holds(sb)
    sb.salt("-L", ",".join(HOSTS), "lbgate.unblock", LB, "--out=json", "-t", "20", timeout=60, check=True)


def _sleep_step(ret):
    return next(s for s in ret["scenarios"][0]["steps"] if s["text"].startswith("I sleep"))


def _no_job_left(sb, jids):
    """saltutil.find_job of every jid on every host answers {}: nothing still runs."""
    for jid in jids:
        proc = sb.salt("-L", ",".join(HOSTS), "saltutil.find_job", jid, "--out=json", "--static", timeout=60)
        found = json.loads(proc.stdout)
        assert found == {host: {} for host in HOSTS}, found


def _history_line(sb):
    code, ret, _ = scenario(sb, "history", "limit=1")
    assert code == 0, ret
    return ret["lines"][0]


def test_a_hanging_step_fails_its_hosts_at_the_deadline_and_kills_the_job(clean):
    sb = clean
    started = time.monotonic()
    code, ret, _progress = scenario(sb, "run", "hang")
    took = time.monotonic() - started
    assert code == 1, ret
    step = _sleep_step(ret)
    assert step["status"] == "failed"
    gather_job_timeout = 2  # scenario_gather_job_timeout's default
    assert step["duration"] <= DEADLINE + gather_job_timeout + 5, step["duration"]
    for host in HOSTS:
        assert step["hosts"][host]["reason"].startswith(f"still running after {DEADLINE} s"), step["hosts"][host]
    assert took < 60  # not the 300 s the job would have taken
    _no_job_left(sb, step["jids"])
    # The hosts stay out of the balancer: the unblock never ran.
    assert ret["still_blocked"] == HOSTS and not any(probes(sb, HOSTS).values())


def test_sigterm_gives_the_step_its_grace_then_kills_it_and_the_run_reads_interrupted(clean):
    sb = clean
    run = Background(sb, "scenario.run", "hang")
    try:
        run.wait_for(BLOCKED)
        _wait_for_the_sleep_on_every_host(sb)
        signalled = time.monotonic()
        run.proc.send_signal(signal.SIGTERM)
        code, ret, _progress, stderr = run.finish()
        took = time.monotonic() - signalled
    finally:
        run.kill()
    assert code == 6, ret
    assert took <= GRACE + 5, (took, _sleep_step(ret)["duration"], ret.get("duration"))
    assert "Traceback" not in stderr and "SystemExit" not in stderr
    step = _sleep_step(ret)
    for host in HOSTS:
        assert step["hosts"][host]["reason"].startswith("interrupted mid-step: SIGTERM"), step["hosts"][host]
    _no_job_left(sb, step["jids"])
    assert ret["still_blocked"] == HOSTS and not any(probes(sb, HOSTS).values())
    assert "interrupted" in _history_line(sb)


def test_a_second_sigint_abandons_the_step_at_once(clean):
    sb = clean
    run = Background(sb, "scenario.run", "hang")
    try:
        run.wait_for(BLOCKED)
        _wait_for_the_sleep_on_every_host(sb)
        signalled = time.monotonic()
        run.proc.send_signal(signal.SIGINT)
        time.sleep(0.5)  # two signals, not one: the first must have been handled
        run.proc.send_signal(signal.SIGINT)
        code, ret, _progress, stderr = run.finish()
        took = time.monotonic() - signalled
    finally:
        run.kill()
    assert code == 6, ret
    assert took <= 5, took
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    step = _sleep_step(ret)
    for host in HOSTS:
        assert step["hosts"][host]["reason"].startswith("interrupted mid-step: SIGINT after SIGINT")
    _no_job_left(sb, step["jids"])


def _records_dir(sb):
    config = yaml.safe_load((sb.master_conf_dir / "master").read_text())
    return os.path.join(config["cachedir"], "scenario")


class InNamespace(Background):
    """`salt-run ARGS` under full_fs_run.py: a small tmpfs over the records directory."""

    def __init__(self, sb, mode, *args):
        salt_run = sb._master_argv(["salt-run", *args, "--out=json", "--out-indent=-1"])
        wrapper = [sys.executable, str(FULL_FS), _records_dir(sb), *mode, "--", *salt_run]
        argv = ["unshare", "-m", "--propagation", "private", "--", *wrapper]
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=unbuffered_env()
        )
        self.lines = queue.Queue()
        self.seen = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()


def test_a_full_records_filesystem_refuses_the_run_before_any_host_is_touched(clean):
    sb = clean
    jobs_before = minion_job_ids(sb)
    run = InNamespace(sb, ["full"], "scenario.run", "nap")
    try:
        code, ret, _progress, stderr = run.finish(timeout=120)
    finally:
        run.kill()
    assert code == 3, ret
    assert _records_dir(sb) in ret["error"] and "No space left on device" in ret["error"]
    assert "Traceback" not in stderr
    assert minion_job_ids(sb) == jobs_before  # no minion was asked anything
    assert all(probes(sb, HOSTS).values())


def test_a_records_filesystem_that_fills_mid_run_stops_it_at_the_next_step_boundary(clean, tmp_path):
    sb = clean
    trigger = tmp_path / "fill-now"
    run = InNamespace(sb, ["fill-on", str(trigger)], "scenario.run", "nap")
    try:
        run.wait_for(BLOCKED)
        trigger.touch()  # the disk fills while the 4 s step runs
        code, ret, _progress, stderr = run.finish(timeout=120)
    finally:
        run.kill()
    assert code == 6, ret
    assert "could not be written (No space left on device)" in ret["interrupted"]
    assert "Traceback" not in stderr
    steps = ret["scenarios"][0]["steps"]
    assert _sleep_step(ret)["status"] == "passed" and steps[-1]["status"] == "skipped"
    assert ret["still_blocked"] == HOSTS and not any(probes(sb, HOSTS).values())
    # The final record went to the journal (the released leases freed a page) or, if the
    # disk refused it, into the return in full (the unit tests check that case).
    missed = [w for w in ret["warnings"] if w.startswith("journal record not written")]
    assert all(ret["run_id"] in w for w in missed)
