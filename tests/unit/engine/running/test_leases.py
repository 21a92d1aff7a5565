"""Host leases: all or nothing, without waiting, named holders, dropped by the kernel."""

import json
import subprocess
import sys

import pytest

from saltext.scenario.engine.errors import EXIT_LOCKED, LockHeld
from saltext.scenario.engine.running.leases import HostLeases

HOLDER_A = {"run_id": "20261128000000-aaaaaaaa", "feature": "update_website", "pid": 1}
HOLDER_B = {"run_id": "20261128000001-bbbbbbbb", "feature": "update_db", "pid": 2}


def test_overlapping_hosts_are_refused_naming_the_holder_and_every_shared_host(tmp_path):
    first = HostLeases(str(tmp_path), HOLDER_A).acquire(["web1", "web2", "web3"])
    with pytest.raises(LockHeld) as caught:
        HostLeases(str(tmp_path), HOLDER_B).acquire(["web3", "web2", "web4"])
    message = str(caught.value)
    assert caught.value.retcode == EXIT_LOCKED
    assert "run 20261128000000-aaaaaaaa (feature 'update_website') holds web2, web3" in message
    assert "web4" not in message and "nothing was changed" in message
    first.release()


def test_a_refused_run_keeps_no_lease_all_or_nothing(tmp_path):
    first = HostLeases(str(tmp_path), HOLDER_A).acquire(["web2"])
    with pytest.raises(LockHeld):
        HostLeases(str(tmp_path), HOLDER_B).acquire(["web1", "web2", "web3"])
    # web1 (taken before web2 was found busy) and web3 are free again.
    HostLeases(str(tmp_path), HOLDER_B).acquire(["web1", "web3"]).release()
    first.release()
    HostLeases(str(tmp_path), HOLDER_B).acquire(["web1", "web2", "web3"]).release()


def test_disjoint_hosts_lease_side_by_side(tmp_path):
    a = HostLeases(str(tmp_path), HOLDER_A).acquire(["web1", "web2"])
    b = HostLeases(str(tmp_path), HOLDER_B).acquire(["db1"])
    assert (a.hosts, b.hosts) == (["web1", "web2"], ["db1"])
    a.release()
    b.release()


def test_host_names_cannot_leave_the_lease_directory(tmp_path):
    leases = HostLeases(str(tmp_path / "c"), HOLDER_A).acquire(["../../etc/x", "a/b"])
    files = sorted(p.name for p in (tmp_path / "c" / "scenario" / "leases").iterdir())
    assert files == ["..%2F..%2Fetc%2Fx.lease", "a%2Fb.lease"]
    assert not (tmp_path / "etc").exists()
    leases.release()


def test_the_kernel_drops_the_leases_of_a_holder_that_dies(tmp_path):
    code = (
        "import sys, time; from saltext.scenario.engine.running.leases import HostLeases;"
        f"HostLeases({str(tmp_path)!r}, {json.dumps(HOLDER_A)}).acquire(['web1']);"
        "print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockHeld, match="20261128000000-aaaaaaaa"):
            HostLeases(str(tmp_path), HOLDER_B).acquire(["web1"])
        holder.kill()
        holder.wait(timeout=10)
        HostLeases(str(tmp_path), HOLDER_B).acquire(["web1"]).release()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(timeout=10)
