"""The Sandbox: bring a spec'd Salt cluster up in namespaces, talk to it, take it down.

Everything a sandbox owns is written to <root>/<name>/state.json *before* it is created, so
`down` from a fresh process (or after a half-failed `up`) finds and removes all of it. This
module holds that record, the lookups into it, `status` and `down`; `up` is in cluster_up.py,
the calls into the cluster in cluster_calls.py, stopping and starting one daemon in
cluster_daemons.py.
"""

import json
import os
import re
import shutil
import sys
import threading
from pathlib import Path

from . import netns, procs
from .balancer import Balancer
from .cluster_calls import Calls
from .cluster_daemons import Daemons, webhook_url
from .cluster_up import BringUp
from .errors import SandboxError
from .hosts import Host
from .master import Master
from .spec import LB_MINION
from .waiting import STOP_GRACE

ROOT_ENV = "SCENARIO_SANDBOX_ROOT"
DEFAULT_ROOT = "/run/scenario-sandbox"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,23}$")
UNIX_PATH_MAX = 107


def _system_path():
    # Minions run iptables, dpkg, apt-get...: make sure the sbin dirs are on PATH whatever ours is.
    parts = [str(Path(sys.executable).parent), *os.environ.get("PATH", "").split(os.pathsep)]
    for extra in ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"):
        if extra not in parts:
            parts.append(extra)
    return os.pathsep.join(p for p in parts if p)


class Sandbox(BringUp, Daemons, Calls):
    """One named sandbox. Cheap to construct; `up` builds it, `down` removes it."""

    def __init__(self, name="default", root=None):
        if not isinstance(name, str) or not NAME.match(name):
            raise SandboxError(f"sandbox name {name!r}: use 1-24 characters [A-Za-z0-9_.-]")
        self.name = name
        self.tag = netns.tag_of(name)
        self.root_dir = Path(root or os.environ.get(ROOT_ENV) or DEFAULT_ROOT)
        self.state_dir = self.root_dir / name
        self.state_file = self.state_dir / "state.json"
        self.bin_dir = Path(sys.executable).parent
        self._lock = threading.Lock()
        self._record = None
        self._stamp = None
        self._building = False  # during up, the in-memory record is the truth
        self._children = []  # Popen objects of this process, reaped at stop/down

    def __repr__(self):
        return f"Sandbox(name={self.name!r}, state_dir={str(self.state_dir)!r})"

    # -- the record ----------------------------------------------------------------------------
    @property
    def record(self):
        """The state record, re-read whenever another process (a CLI stop/start) rewrote it."""
        if self._building and self._record is not None:
            return self._record
        try:
            stat = self.state_file.stat()
        except FileNotFoundError:
            self._record = None
            raise SandboxError(f"sandbox {self.name!r} is not up (no {self.state_file})") from None
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if self._record is None or stamp != self._stamp:
            try:
                self._record = json.loads(self.state_file.read_text())
            except (OSError, ValueError) as exc:
                raise SandboxError(f"sandbox {self.name!r}: unreadable {self.state_file}: {exc}") from exc
            self._stamp = stamp
        return self._record

    def _save(self):
        with self._lock:
            tmp = self.state_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(self._record, indent=1))
            tmp.replace(self.state_file)
            stat = self.state_file.stat()
            self._stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)

    @property
    def spec(self):
        return self.record["spec"]

    @property
    def hosts(self):
        return list(self.spec["hosts"])

    @property
    def lb(self):
        return self.spec["lb"]

    @property
    def minions(self):
        """Every minion id of the sandbox: the hosts, and the balancer's ``lb`` with haproxy."""
        return self.hosts + ([LB_MINION] if self.spec.get("haproxy") else [])

    def _balancer(self):
        if not self.spec.get("haproxy"):
            raise SandboxError(f"sandbox {self.name!r} has no HAProxy (its spec has no haproxy: key)")
        return Balancer(self.state_dir, self.record["lb"]["netns"], self.bin_dir, self.spec)

    @property
    def master_conf_dir(self):
        """Master 1's config dir (`salt -c <this>` inside its netns)."""
        return self.state_dir / "m" / "conf"

    @property
    def master_count(self):
        return self.spec.get("masters", 1)

    def _master_key(self, master):
        """The record key of master ``master`` (1-based): "master", "master2"; refuses one the spec lacks."""
        count = self.master_count
        if isinstance(master, bool) or not isinstance(master, int) or not 1 <= master <= count:
            raise SandboxError(
                f"sandbox {self.name!r} has {count} master(s) (spec key masters); there is no master {master!r}"
            )
        return "master" if master == 1 else f"master{master}"

    def _master(self, master=1):
        """(record entry, Master) of master ``master``."""
        entry = self.record[self._master_key(master)]
        return entry, Master(self.state_dir, entry["netns"], self.bin_dir, master)

    def master_conf_dir_of(self, master=1):
        """Master ``master``'s config dir."""
        return self._master(master)[1].conf_dir

    def _minion_masters(self):
        """What a minion's `master:` option is: the address, or every master's (hot/hot)."""
        addresses = [self.record[self._master_key(n)]["address"] for n in range(1, self.master_count + 1)]
        return addresses[0] if len(addresses) == 1 else addresses

    def _host(self, name):
        if name not in self.spec["hosts"]:
            services = list(self.record.get("services", {}))
            also = f"; services: {', '.join(services)}" if services else ""
            raise SandboxError(f"sandbox {self.name!r} has no host {name!r}; hosts: {', '.join(self.hosts)}{also}")
        entry = self.record["hosts"][name]
        app = self.spec["app"]
        bad = self.spec.get("bad_builds", {}).get(app)
        return Host(self.state_dir, name, self.spec["hosts"][name], entry["netns"], self.bin_dir, app, bad)

    def _holder_pid(self, name):
        self._host(name)
        holder = self.record["hosts"][name].get("holder")
        if not procs.alive(holder):
            raise SandboxError(f"sandbox {self.name!r}: the namespaces of host {name!r} are gone")
        return holder["pid"]

    def _env(self):
        env = dict(os.environ)
        env["PATH"] = _system_path()
        env["DEBIAN_FRONTEND"] = "noninteractive"
        return env

    def _check_path_lengths(self, normal):
        longest = max(len(h) for h in normal["hosts"])
        sock = self.state_dir / "h" / ("x" * longest) / "s" / "minion_event_0123456789_pull.ipc"
        if len(str(sock)) > UNIX_PATH_MAX:
            raise SandboxError(
                f"state dir {self.state_dir} is too long for unix sockets ({len(str(sock))} > {UNIX_PATH_MAX});"
                f" use a shorter name, host names or {ROOT_ENV}"
            )

    def _minion_record(self, minion):
        if minion == LB_MINION and self.spec.get("haproxy"):
            return self.record["lb"].get("minion")
        return self.record["hosts"][minion].get("minion")

    def status(self):
        """What is there and what runs: {name, up, master, lb, hosts: {name: {...}}}."""
        base = {"name": self.name, "tag": self.tag, "state_dir": str(self.state_dir)}
        try:
            record = self.record
        except SandboxError:
            leftovers = netns.existing(self.tag)
            return {**base, "exists": bool(leftovers), "up": False, "netns_leftovers": leftovers, "hosts": {}}

        def proc_info(rec):
            return {"pid": rec["pid"] if rec else None, "running": procs.alive(rec)}

        hosts = {}
        for name, entry in record["hosts"].items():
            hosts[name] = {
                "address": entry["address"],
                "address6": entry["address6"],
                "netns": entry["netns"],
                "grains": record["spec"]["hosts"][name]["grains"],
                "namespaces": proc_info(entry.get("holder")),
                "minion": proc_info(entry.get("minion")),
                "web": proc_info(entry.get("web")),
            }
        masters = []
        for n in range(1, record["spec"].get("masters", 1) + 1):
            entry, server = self._master(n)
            masters.append(
                {
                    "index": n,
                    "address": entry["address"],
                    "netns": entry["netns"],
                    "conf_dir": str(server.conf_dir),
                    **proc_info(entry.get("proc")),
                }
            )
        master = masters[0]
        lb = {"address": record["lb"]["address"], "netns": record["lb"]["netns"]}
        if record["spec"].get("haproxy"):
            lb["haproxy"] = proc_info(record["lb"].get("haproxy"))
            lb["minion"] = proc_info(record["lb"].get("minion"))
            lb["backend"] = record["spec"]["haproxy"]["backend"]
        hosts_running = all(
            h["minion"]["running"] and h["web"]["running"] and h["namespaces"]["running"] for h in hosts.values()
        )
        lb_running = all(lb[k]["running"] for k in ("haproxy", "minion") if k in lb)
        services = {
            name: {
                "address": entry["address"],
                "netns": entry["netns"],
                "url": daemon.url,
                **proc_info(entry.get("proc")),
            }
            for name, (entry, daemon) in ((n, self._service(n)) for n in record.get("services", {}))
        }
        running = (
            all(m["running"] for m in masters)
            and hosts_running
            and lb_running
            and all(s["running"] for s in services.values())
        )
        return {
            **base,
            "exists": True,
            "up": bool(record.get("up")) and running,
            "complete": bool(record.get("up")),
            "master": master,
            "masters": masters,
            "services": services,
            "webhook": {"url": webhook_url(), **proc_info(record["webhook"]["proc"])}
            if record.get("webhook")
            else None,
            "lb": lb,
            "hosts": hosts,
            "notes": record.get("notes", []),
            "timings": record.get("timings", {}),
        }

    # -- down -----------------------------------------------------------------------------------------
    @staticmethod
    def _proc_records(record):
        records = [record.get(key, {}).get("proc") for key in ("master", "master2")]
        records += [entry.get("proc") for entry in record.get("services", {}).values()]
        records.append((record.get("webhook") or {}).get("proc"))
        records += [record.get("lb", {}).get("haproxy"), record.get("lb", {}).get("minion")]
        for entry in record.get("hosts", {}).values():
            records += [entry.get("minion"), entry.get("web"), entry.get("holder")]
        return [r for r in records if r]

    def pids(self):
        """Every live process of this sandbox (daemons, their children, namespace holders)."""
        record = self.record
        return sorted(set(procs.members(self._proc_records(record))) | set(procs.marked(record["instance"])))

    def down(self):
        """Stop every process, delete every namespace and the state dir. Idempotent."""
        try:
            record = self.record
        except SandboxError:
            record = {}
        names = sorted(set(record.get("netns", [])) | set(netns.existing(self.tag)))
        procs.stop(
            self._proc_records(record),
            instance=record.get("instance"),
            grace=STOP_GRACE,
            netns_inodes=netns.inodes(names),
        )
        self._reap()
        failed = netns.delete(names)
        if self.state_dir.exists():
            shutil.rmtree(self.state_dir, ignore_errors=True)
        if record.get("root_created") or self.root_dir == Path(DEFAULT_ROOT):
            try:
                self.root_dir.rmdir()  # only when no other sandbox lives there
            except OSError:
                pass
        self._record = None
        if failed or self.state_dir.exists():
            raise SandboxError(f"down {self.name!r} left things behind: {failed or [str(self.state_dir)]}")

    def _reap(self):
        for proc in list(self._children):
            if proc.poll() is not None:
                self._children.remove(proc)
