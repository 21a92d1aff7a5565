"""Start, find and stop the sandbox's own processes.

Every process the sandbox starts is started in a session (and process group) of its own and
carries an environment marker naming its sandbox instance. Stopping kills recorded process
groups whose leader is verifiably the process we started (pid + start time), then sweeps
/proc for stragglers: members of those sessions started no earlier than their leader (Salt
rewrites its children's process titles, which clobbers /proc/PID/environ, so the marker alone
misses them), and anything still carrying the marker. Nothing is ever killed by name.
"""

import os
import signal
import subprocess
import time
from pathlib import Path

MARKER = "SCENARIO_SANDBOX_INSTANCE"


def _stat(pid):
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 2 (comm) may hold spaces and parentheses; the rest follows the last ')'.
    return stat[stat.rindex(")") + 2 :].split()


def start_time(pid):
    """Kernel start time of ``pid`` (clock ticks since boot), or None if it is gone or a zombie."""
    fields = _stat(pid)
    if fields is None or fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def alive(record):
    """True if the process described by ``record`` ({pid, start}) is still the one we started."""
    return bool(record) and start_time(record["pid"]) == record.get("start")


def spawn(argv, instance, log_path, env=None, cwd="/"):
    """Start a daemon in a new session with our marker; return (Popen, record)."""
    full_env = dict(os.environ if env is None else env)
    full_env[MARKER] = instance
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=full_env,
            cwd=cwd,
            start_new_session=True,
        )
    return proc, {"pid": proc.pid, "start": start_time(proc.pid)}


def marked(instance):
    """Pids of all live processes carrying ``instance`` as their marker."""
    needle = f"{MARKER}={instance}".encode()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            environ = Path(entry.path, "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0") and start_time(int(entry.name)) is not None:
            found.append(int(entry.name))
    return found


def members(records):
    """Live pids in the sessions/process groups led by ``records``, started no earlier than the leader."""
    leaders = {r["pid"]: r["start"] for r in records if r and r.get("start") is not None}
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        fields = _stat(entry.name)
        if fields is None or fields[0] in ("Z", "X"):
            continue
        group, session, started = int(fields[2]), int(fields[3]), int(fields[19])
        for leader in (session, group):
            if leader in leaders and started >= leaders[leader]:
                found.append(int(entry.name))
                break
    return found


def in_net_namespaces(inodes):
    """Live pids whose network namespace is one of ``inodes`` (st_ino of /run/netns/<name>).

    Whatever runs in a sandbox namespace was started into it through the sandbox (exec,
    salt-call, a daemon a test launched), so it belongs to the sandbox and goes with it.
    """
    wanted = {f"net:[{inode}]" for inode in inodes}
    found = []
    if not wanted:
        return found
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{entry.name}/ns/net") not in wanted:
                continue
        except OSError:
            continue
        if start_time(int(entry.name)) is not None:
            found.append(int(entry.name))
    return found


def _signal_group(record, sig):
    try:
        os.killpg(record["pid"], sig)
    except ProcessLookupError:
        pass


def stop(records, instance=None, grace=2.0, netns_inodes=()):
    """TERM the process groups of ``records`` (verified), KILL what is left after ``grace`` s.

    Then KILL stragglers: session members, processes carrying the ``instance`` marker, and
    anything still running inside the network namespaces ``netns_inodes``.
    """
    live = [r for r in records if alive(r)]
    for record in live:
        _signal_group(record, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(alive(r) for r in live):
        time.sleep(0.05)
    for record in live:
        if alive(record):
            _signal_group(record, signal.SIGKILL)
    # Members that outlived their leader, or marked processes that left the session.
    for _ in range(20):
        pids = set(members(records)) | set(marked(instance) if instance else []) | set(in_net_namespaces(netns_inodes))
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)
