"""The `local` fleet store's own behaviour (the shared contract is tests/functional/test_fleet_store.py):
a dead holder's flocks are dropped by the kernel, and a directory that cannot be written is
StoreUnavailable (exit 3) naming the path, with no traceback."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from saltext.scenario.engine.errors import LockHeld
from saltext.scenario.engine.store import RunInfo, StoreUnavailable
from saltext.scenario.engine.store.local import LocalStore

RUN_A = "20261204120000-0000000a"
RUN_B = "20261204120000-0000000b"

HOLDER = textwrap.dedent(
    """
    import sys, time
    from saltext.scenario.engine.store import RunInfo
    from saltext.scenario.engine.store.local import LocalStore

    store = LocalStore(sys.argv[1], "m1")
    run = store.open_run(RunInfo(sys.argv[2], "m1", "update_website", "alice", 1))
    run.claim(["app4", "app5"])
    run.hold(["app4", "app5"], "When I block the load balancer", "taken out of the balancer")
    print("claimed", flush=True)
    time.sleep(120)
    """
)


def test_a_killed_holder_loses_its_claims_but_not_its_holds(tmp_path):
    root = str(tmp_path / "scenario")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, root, RUN_A], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "claimed"
        store = LocalStore(root, "m2")
        with store.open_run(RunInfo(RUN_B, "m2", "billing", "bob", 2)) as other, pytest.raises(LockHeld) as refused:
            other.claim(["app4", "app5"])
        assert f"run {RUN_A} (feature 'update_website', master m1) is running on app4, app5" in str(refused.value)
        os.kill(holder.pid, signal.SIGKILL)
    finally:
        holder.kill()
        holder.wait(timeout=10)
        holder.stdout.close()

    (dead,) = store.live_runs()
    assert dead.info.run_id == RUN_A and not dead.alive
    assert [h.host for h in dead.holds] == ["app4", "app5"]
    with store.open_run(RunInfo(RUN_B, "m2", "billing", "bob", 2)) as other:
        with pytest.raises(LockHeld, match=f"app4 is held by run {RUN_A}"):
            other.claim(["app4"])
        store.release(RUN_A, user="bob", reason="checked by hand")
        other.claim(["app4", "app5"])  # the kernel dropped the dead run's flocks
        assert other.hosts == ("app4", "app5")


def test_a_store_under_a_file_is_unavailable_naming_the_path(tmp_path):
    blocker = tmp_path / "cache"
    blocker.write_text("not a directory")
    store = LocalStore(str(blocker / "scenario"), "m1")
    with pytest.raises(StoreUnavailable) as failed:
        store.check()
    assert failed.value.retcode == 3
    assert str(blocker / "scenario" / "leases") in str(failed.value)
    assert "Not a directory" in str(failed.value) and "nothing was changed" in str(failed.value)


def test_a_hold_that_cannot_be_written_names_its_path(tmp_path):
    store = LocalStore(str(tmp_path / "scenario"), "m1")
    store.check()
    with store.open_run(RunInfo(RUN_A, "m1", "update_website", "alice", 1)) as run:
        run.claim(["web1"])
        os.rmdir(store.holds_dir)
        open(store.holds_dir, "w").close()  # the directory is gone, a file in its place
        with pytest.raises(StoreUnavailable) as failed:
            run.hold(["web1"], "When I block the load balancer", "out")
    assert str(tmp_path / "scenario" / "holds" / "web1.json") in str(failed.value)
    assert "nothing was changed" not in str(failed.value)  # mid-run: the engine stops the run
    with pytest.raises(StoreUnavailable, match="holds"):
        store.check()


READ_ONLY_CHECK = textwrap.dedent(
    """
    import subprocess, sys
    from saltext.scenario.engine.store import StoreUnavailable
    from saltext.scenario.engine.store.local import LocalStore

    directory = sys.argv[1]
    subprocess.run(["mount", "--bind", directory, directory], check=True)
    subprocess.run(["mount", "-o", "remount,bind,ro", directory, directory], check=True)
    try:
        LocalStore(directory + "/scenario", "m1").check()
    except StoreUnavailable as exc:
        print(exc)
    """
)


def test_a_read_only_filesystem_is_unavailable_naming_the_path(tmp_path):
    cache = tmp_path / "cache"
    LocalStore(str(cache / "scenario"), "m1").check()  # its directories exist; then none is writable
    if os.geteuid() == 0:
        # root writes through permissions: a read-only bind mount, in a mount namespace of the
        # child's own, so nothing outside the test sees it
        argv = ["unshare", "--mount", "--propagation", "private", sys.executable, "-c", READ_ONLY_CHECK, str(cache)]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        message = result.stdout
    else:
        for directory in ("leases", "holds", "live", "answers"):
            os.chmod(cache / "scenario" / directory, 0o500)
        with pytest.raises(StoreUnavailable) as failed:
            LocalStore(str(cache / "scenario"), "m1").check()
        message = str(failed.value)
    assert str(cache / "scenario" / "leases") in message
    assert "Read-only file system" in message or "Permission denied" in message
    assert "Traceback" not in message


def test_the_store_records_are_json_a_human_can_read(tmp_path):
    store = LocalStore(str(tmp_path / "scenario"), "m1")
    with store.open_run(RunInfo(RUN_A, "m1", "update_website", "alice", 1)) as run:
        run.claim(["web1"])
        run.hold(["web1"], "When I block the load balancer", "taken out of the balancer")
        lease = json.loads((tmp_path / "scenario" / "leases" / "web1.lease").read_text())
        assert lease["run_id"] == RUN_A and lease["feature"] == "update_website"
    hold = json.loads((tmp_path / "scenario" / "holds" / "web1.json").read_text())
    assert hold["step"] == "When I block the load balancer" and hold["master"] == "m1"


def test_threads_of_one_process_check_the_store_side_by_side(tmp_path):
    # Reactor runs are threads of one process: with probe files named by pid only, one thread
    # unlinked the other's probe and a run was refused with "the fleet store cannot be written".
    import threading

    store = LocalStore(str(tmp_path / "scenario"), "m1")
    errors = []

    def check():
        try:
            for _ in range(200):
                store.check()
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=check) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
