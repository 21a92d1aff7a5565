"""Helpers for the scenario integration tests: salt-run scenario.* in a sandbox, parsed."""

import contextlib
import json
import os
import queue
import threading
import time
from pathlib import Path

import yaml

from tests.support.paths import TESTS

# The integration tests' own features; sandboxes get it as an extra file root.
FILES = TESTS / "integration" / "scenario_files"
WEB = ["web1", "web2", "web3"]
LB = "198.51.100.10"


def scenario(sb, func, *args, timeout=180, master=1):
    """(exit code, final return, progress lines) of `salt-run scenario.<func> ARGS` on master ``master``."""
    proc = sb.salt_run(f"scenario.{func}", *args, "--out=json", "--out-indent=-1", timeout=timeout, master=master)
    return parse(proc.returncode, proc.stdout, proc.stderr)


def parse(returncode, stdout, stderr=""):
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert lines, f"no output (exit {returncode}); stderr: {stderr[-2000:]}"
    docs = [json.loads(line) for line in lines]
    progress = [d["event"]["message"] for d in docs[:-1] if d.get("suffix") == "progress"]
    return returncode, docs[-1], progress


def versions(sb, hosts=("web1", "web2", "web3", "web4")):
    proc = sb.salt("-L", ",".join(hosts), "pkg.version", "mywebapp", "--out=json", "--static", "-t", "20", timeout=60)
    return json.loads(proc.stdout)


def probes(sb, hosts=WEB):
    return {h: sb.probe(h, timeout=0.5) for h in hosts}


def minion_job_ids(sb):
    """Jids of jobs published to minions (runner jobs such as scenario.* itself left out)."""
    proc = sb.salt_run("jobs.list_jobs", "--out=json", timeout=60)
    jobs = json.loads(proc.stdout or "{}")
    return {jid for jid, job in jobs.items() if not str(job.get("Function", "")).startswith(("runner.", "wheel."))}


def holds(sb):
    """{host: hold} of every hold in the sandbox master's fleet store (`scenario.holds`)."""
    code, ret, _ = scenario(sb, "holds", timeout=60)
    assert code == 0, ret
    return {h["host"]: h for h in ret["holds"]}


def _held_runs(sb):
    """The run ids holding hosts, read from the master's local fleet store (`<cachedir>/scenario/
    holds/*.json`) without a salt-run: reset() asks before every test, and most have none."""
    config = yaml.safe_load((Path(sb.master_conf_dir) / "master").read_text(encoding="utf-8"))
    directory = Path(config["cachedir"]) / "scenario" / "holds"
    runs = set()
    for path in directory.glob("*.json") if directory.is_dir() else ():
        with contextlib.suppress(FileNotFoundError, ValueError):
            runs.add(json.loads(path.read_text(encoding="utf-8"))["run_id"])
    return sorted(runs)


def release_holds(sb, reason="test cleanup"):
    """Release every hold with `salt-run scenario.release RUN_ID reason=...`: a test whose run
    failed on purpose leaves its hosts held, and the next run on them would be refused (exit 4).
    Returns the run ids released."""
    runs = _held_runs(sb)
    for run_id in runs:
        code, ret, _ = scenario(sb, "release", run_id, f"reason={reason}", timeout=60)
        assert code == 0, ret
    return runs


def reset(sb, hosts=WEB, version="4.2.5-1"):
    """Back to the starting line: no holds, unblocked and at `version` (through our own modules)."""
    release_holds(sb)
    tgt = ",".join(hosts)
    sb.salt("-L", tgt, "lbgate.unblock", LB, "--out=json", "-t", "20", timeout=60, check=True)
    sb.salt("-L", tgt, "pkgcheck.update", "mywebapp", version, "--out=json", "-t", "60", timeout=120, check=True)
    assert all(probes(sb, hosts).values())


NRPE_CFG = "/etc/nagios/nrpe.cfg"
OVERLOADED = "command[check_load]=/usr/lib/nagios/plugins/check_dummy 2 overloaded"


@contextlib.contextmanager
def overloaded(sb, host):
    """`host`'s NRPE check_load reports CRITICAL inside the block (its nrpe.cfg, in its mount namespace)."""
    sb.exec(host, ["cp", "-p", NRPE_CFG, f"{NRPE_CFG}.orig"], check=True)
    try:
        sb.exec(host, ["sed", "-i", f"s|^command\\[check_load\\]=.*|{OVERLOADED}|", NRPE_CFG], check=True)
        yield sb
    finally:
        sb.exec(host, ["mv", f"{NRPE_CFG}.orig", NRPE_CFG], check=True)


def step(ret, location):
    for scenario_ in ret["scenarios"]:
        for st in scenario_["steps"]:
            if st["location"] == location:
                return st
    raise AssertionError(f"no step at {location}")


def statuses(ret):
    return [st["status"] for st in ret["scenarios"][0]["steps"]]


def unbuffered_env():
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


class BlockSampler:
    """Probes every host in its own thread until stopped; remembers when each was seen blocked.

    A probe that times out means the SYN was dropped at its start, so a sample is the
    host's state at the probe's start time.
    """

    def __init__(self, sb, hosts, timeout=0.3):
        self.sb, self.hosts, self.timeout = sb, list(hosts), timeout
        self.samples = {h: [] for h in self.hosts}  # host -> [(t, blocked)]
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, args=(h,), daemon=True) for h in self.hosts]

    def _loop(self, host):
        while not self._stop.is_set():
            t = time.monotonic()
            self.samples[host].append((t, not self.sb.probe(host, timeout=self.timeout)))

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def blocked_intervals(self, host):
        """[start, end] of each run of consecutive blocked samples (a lower bound of the real block)."""
        out, start, last = [], None, None
        for t, blocked in self.samples[host]:
            if blocked:
                start = t if start is None else start
                last = t
            elif start is not None:
                out.append((start, last))
                start = None
        if start is not None:
            out.append((start, last))
        return out

    def max_simultaneously_blocked(self):
        edges = []
        for host in self.hosts:
            for start, end in self.blocked_intervals(host):
                edges += [(start, 1), (end, -1)]
        # At equal times count the start first: touching intervals count as overlapping.
        edges.sort(key=lambda e: (e[0], -e[1]))
        most = now = 0
        for _t, delta in edges:
            now += delta
            most = max(most, now)
        return most


class Background:
    """`salt-run <args>` in the background (on master ``master``), its output read line by line as it comes."""

    def __init__(self, sb, *args, master=1):
        argv = ["salt-run", *args, "--out=json", "--out-indent=-1"]
        self.proc = sb.popen_in_master(argv, master=master, env=unbuffered_env())
        self.lines = queue.Queue()
        self.seen = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, text, timeout=120):
        """Read output until a line contains `text` (e.g. a finished step's progress line)."""
        while True:
            line = self.lines.get(timeout=timeout)
            assert line is not None, f"{text!r} never came: {''.join(self.seen)}"
            self.seen.append(line)
            if text in line:
                return line

    def finish(self, timeout=180):
        """(exit code, final return, progress lines, stderr) once the command ends."""
        self.proc.wait(timeout=timeout)
        self.reader.join(timeout=10)
        while (line := self.lines.get(timeout=10)) is not None:
            self.seen.append(line)
        stderr = self.proc.stderr.read()
        code, ret, progress = parse(self.proc.returncode, "".join(self.seen), stderr)
        return code, ret, progress, stderr

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
