"""The sandbox touches nothing outside itself: per-host repos, side-by-side sandboxes, a clean down.

Other sessions of this project may run their own sandboxes (namespaces ``sb<tag>-*``) and
throwaway test namespaces (``lbt-*``) on this machine while these tests run; the snapshot
comparison ignores exactly those, and nothing else.
"""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from saltext.scenario.sandbox import SandboxError, netns, procs
from saltext.scenario.sandbox.cluster import Sandbox

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

TWO_HOSTS = {
    "lb": "198.51.100.10",
    "repo": {"mywebapp": ["4.2.5-1", "4.2.6-3"]},
    "hosts": {
        # pinned's apt source offers only 4.2.5-1: the upgrade must fail there and only there.
        "pinned": {
            "grains": {"roles": ["dev_server"]},
            "packages": {"mywebapp": "4.2.5-1"},
            "repo": {"mywebapp": ["4.2.5-1"]},
        },
        "free": {"grains": {"roles": ["dev_server"]}, "packages": {"mywebapp": "4.2.5-1"}},
    },
}
ONE_HOST = {
    "lb": "198.51.100.10",
    "repo": {"mywebapp": ["1.0-1"]},
    "hosts": {"solo": {"packages": {"mywebapp": "1.0-1"}}},
}
FOREIGN_NETNS = re.compile(r"(sb[0-9a-f]{6}-\S+|lbt-\S+)")


def _out(argv):
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def snapshot():
    apt = {}
    for path in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        apt[str(path)] = path.read_text(errors="replace") if path.is_file() else None
    return {
        "netns": {line.split()[0] for line in _out(["ip", "netns", "list"]).splitlines() if line.strip()},
        "links": set(_out(["ip", "-o", "link"]).splitlines()),
        "mounts": set(Path("/proc/self/mounts").read_text().splitlines()),
        "iptables": _out(["iptables", "-S"]),
        "ip6tables": _out(["ip6tables", "-S"]),
        "nft": _out(["nft", "list", "ruleset"]),
        "apt": apt,
    }


def foreign(entry, own_tag):
    """True for namespaces (or their nsfs mounts) of other sandboxes / other test sessions."""
    match = FOREIGN_NETNS.search(entry)
    return bool(match) and f"sb{own_tag}-" not in entry


def changes(before, after, own_tag):
    diff = {}
    for key in ("netns", "links", "mounts"):
        changed = {e for e in before[key] ^ after[key] if not foreign(e, own_tag)}
        if changed:
            diff[key] = sorted(changed)
    for key in ("iptables", "ip6tables", "nft", "apt"):
        if before[key] != after[key]:
            diff[key] = (before[key], after[key])
    return diff


def json_docs(text):
    """Merge the per-minion JSON objects that `salt --out=json` (without --static) prints."""
    merged, decoder, index = {}, json.JSONDecoder(), 0
    text = text.strip()
    while index < len(text):
        doc, index = decoder.raw_decode(text, index)
        merged.update(doc)
        while index < len(text) and text[index].isspace():
            index += 1
    return merged


def _comm(pid):
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None


def wait_gone(pids, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [p for p in pids if procs.start_time(p) is not None]
        if not left:
            return []
        time.sleep(0.1)
    return left


@pytest.fixture(scope="module")
def two_hosts(make_sandbox):
    return make_sandbox(TWO_HOSTS, name=f"r{os.getpid()}")


def test_host_repo_override_fails_the_upgrade_on_that_host_only(two_hosts):
    # Not --static: with it, salt exits 0 even when a minion's job failed.
    proc = two_hosts.salt("-L", "pinned,free", "pkg.install", "mywebapp", "version=4.2.6-3", "--out=json", timeout=120)
    result = json_docs(proc.stdout)
    assert result["free"] == {"mywebapp": {"old": "4.2.5-1", "new": "4.2.6-3"}}
    assert "Version '4.2.6-3' for 'mywebapp' was not found" in result["pinned"]
    assert proc.returncode != 0
    versions = json.loads(two_hosts.salt("*", "pkg.version", "mywebapp", "--out=json", "--static", timeout=60).stdout)
    assert versions == {"pinned": "4.2.5-1", "free": "4.2.6-3"}
    assert two_hosts.web("free") == "mywebapp 4.2.6-3"
    assert two_hosts.web("pinned") == "mywebapp 4.2.5-1"


def test_two_sandboxes_side_by_side(sandbox, two_hosts):
    assert sandbox.tag != two_hosts.tag
    mine = json.loads(sandbox.salt("*", "test.ping", "--out=json", "--static", timeout=60).stdout)
    theirs = json.loads(two_hosts.salt("*", "test.ping", "--out=json", "--static", timeout=60).stdout)
    assert set(mine) == {"web1", "web2", "web3", "web4", "db1"}
    assert set(theirs) == {"pinned", "free"}
    # Same addresses in both, separate networks: web1 and pinned are both 198.51.100.11.
    assert sandbox.record["hosts"]["web1"]["address"] == two_hosts.record["hosts"]["pinned"]["address"]
    assert sandbox.web("web1").startswith("mywebapp ")  # the session sandbox may have been deployed to
    assert two_hosts.probe("pinned") and sandbox.probe("web1")
    assert not set(sandbox.record["netns"]) & set(two_hosts.record["netns"])


def test_up_adds_only_its_namespaces_and_down_leaves_nothing(make_sandbox):
    name = f"z{os.getpid()}"
    tag = Sandbox(name).tag
    before = snapshot()
    sandbox = make_sandbox(ONE_HOST, name=name)
    during = snapshot()
    diff = changes(before, during, tag)
    # While up, the root namespace gains the `ip netns` nsfs mounts and names, nothing else.
    assert set(diff) <= {"netns", "mounts"}, diff
    assert all(n.startswith(f"sb{tag}-") for n in diff["netns"])
    assert all(f"/run/netns/sb{tag}-" in m and " nsfs " in m for m in diff["mounts"])
    instance = sandbox.record["instance"]
    # A daemon started into the host by hand (as a test would start nrpe) goes with the sandbox too.
    # Not captured: the daemon would hold the pipes open and the call would wait for it.
    stray = sandbox.exec("solo", ["setsid", "-f", "sleep", "3600"], capture=False)
    assert stray.returncode == 0
    deadline = time.monotonic() + 5
    while True:  # setsid -f returns before its child has exec'd sleep
        in_sandbox = procs.in_net_namespaces(netns.inodes(sandbox.record["netns"]))
        strays = [p for p in in_sandbox if _comm(p) == "sleep"]
        if len(strays) == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(strays) == 2  # the namespace holder and the stray
    pids = sandbox.pids() + strays
    assert len(pids) >= 10  # master (+ its ~10 workers), holder, web, minion (+ its children)
    assert sandbox.web("solo") == "mywebapp 1.0-1"

    # down from a fresh process, as a user would after `up` in another shell.
    down = subprocess.run(
        [sys.executable, "-m", "saltext.scenario.sandbox", "--name", name, "down"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert down.returncode == 0, down.stderr
    assert wait_gone(pids) == []
    assert procs.marked(instance) == []
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids if procs.start_time(pid) is not None)
    assert not sandbox.state_dir.exists()
    assert changes(before, snapshot(), tag) == {}
    # Idempotent.
    sandbox.down()


def test_failed_up_cleans_up_after_itself(make_sandbox, monkeypatch):
    name = f"f{os.getpid()}"
    sandbox = make_sandbox(ONE_HOST, name=name, up=False)
    before = snapshot()
    seen = {}

    def broken_ping(self, attempts=5, master=1):
        # By now the network, master, namespace holder, web service and minion all run.
        seen["pids"] = self.pids()
        seen["netns"] = list(self.record["netns"])
        raise SandboxError("ping failed on purpose")

    monkeypatch.setattr(Sandbox, "_ping_all", broken_ping)
    with pytest.raises(SandboxError, match="on purpose"):
        sandbox.up(spec=ONE_HOST)
    assert len(seen["netns"]) == 4  # switch, lb, master, one host
    assert len(seen["pids"]) >= 10  # master and workers, holder, web, minion
    assert wait_gone(seen["pids"]) == []
    assert not sandbox.state_dir.exists()
    assert changes(before, snapshot(), sandbox.tag) == {}


def test_up_twice_is_refused(two_hosts):
    again = Sandbox(two_hosts.name)
    with pytest.raises(SandboxError, match="already up"):
        again.up(spec=TWO_HOSTS)
    assert two_hosts.status()["up"] is True
