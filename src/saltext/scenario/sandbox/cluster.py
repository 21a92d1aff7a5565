"""The Sandbox: bring a spec'd Salt cluster up in namespaces, talk to it, take it down.

Everything a sandbox owns is written to <root>/<name>/state.json *before* it is created, so
`down` from a fresh process (or after a half-failed `up`) finds and removes all of it.
"""

import concurrent.futures
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from . import aptrepo, loadgen, netns, procs, webhook
from .api import Api
from .balancer import Balancer
from .errors import SandboxError
from .etcd import Etcd
from .hosts import WEB_PORT, Host
from .master import Master, master_keypair
from .prometheus import Prometheus
from .spec import CLIENT_ADDRESS, LB_MINION, MASTER_ADDRESSES, WEBHOOK_ADDRESS, address6, load_spec

ROOT_ENV = "SCENARIO_SANDBOX_ROOT"
DEFAULT_ROOT = "/run/scenario-sandbox"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,23}$")
SALT_TOOLS = {"salt", "salt-run", "salt-call", "salt-key", "salt-cp", "salt-master", "salt-minion"}
UNIX_PATH_MAX = 107

READY_TIMEOUT = 90
STOP_GRACE = 1.0
HAPROXY_UP_TIMEOUT = 30
SERVICE_TIMEOUT = 60


def services_of(state_dir, spec):
    """{name: Service} of the service daemons the spec asks for, in start order."""
    found = []
    if spec.get("store") == "etcd":
        found.append(Etcd(state_dir, spec))
    if spec.get("prometheus"):
        found.append(Prometheus(state_dir, spec))
    if spec.get("api"):
        found.append(Api(state_dir, spec))
    return {service.name: service for service in found}


def _system_path():
    # Minions run iptables, dpkg, apt-get...: make sure the sbin dirs are on PATH whatever ours is.
    parts = [str(Path(sys.executable).parent), *os.environ.get("PATH", "").split(os.pathsep)]
    for extra in ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"):
        if extra not in parts:
            parts.append(extra)
    return os.pathsep.join(p for p in parts if p)


class Sandbox:
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

    # -- up --------------------------------------------------------------------------------------
    def up(self, spec=None, file_roots=()):
        """Build and start the cluster described by ``spec`` (None = the default spec)."""
        if self.state_dir.exists():
            try:
                record = self.record
            except SandboxError:
                record = {}
            if record and any(procs.alive(r) for r in self._proc_records(record)):
                state = (
                    "already up" if record.get("up") else "being brought up by another process (or a killed up left it)"
                )
                raise SandboxError(
                    f"sandbox {self.name!r} is {state}; run `scenario-sandbox --name {self.name} down` first"
                )
            self.down()  # leftovers of a crashed run: nothing of it runs any more
        normal = load_spec(spec)
        for root in file_roots:
            if not Path(root).is_dir():
                raise SandboxError(f"--file-root {root}: not a directory")
        self._check_path_lengths(normal)

        started = time.monotonic()
        root_created = not self.root_dir.exists()
        try:
            self.state_dir.mkdir(parents=True, exist_ok=False)
        except FileExistsError:
            raise SandboxError(f"sandbox {self.name!r} is being brought up by another process") from None
        self._record = {
            "name": self.name,
            "tag": self.tag,
            "instance": f"{self.name}-{uuid.uuid4().hex}",
            "spec": normal,
            "up": False,
            "netns": [],
            "master": {"netns": netns.ns_name(self.tag, "ma"), "address": MASTER_ADDRESSES[0], "proc": None},
            **{
                f"master{n}": {
                    "netns": netns.ns_name(self.tag, f"m{n}"),
                    "address": MASTER_ADDRESSES[n - 1],
                    "proc": None,
                }
                for n in range(2, normal["masters"] + 1)
            },
            "lb": {"netns": netns.ns_name(self.tag, "lb"), "address": normal["lb"], "haproxy": None, "minion": None},
            "client": {"netns": netns.ns_name(self.tag, "cl"), "address": CLIENT_ADDRESS}
            if normal.get("haproxy")
            else None,
            "hosts": {
                name: {
                    "netns": netns.ns_name(self.tag, f"h{index}"),
                    "address": host["address"],
                    "address6": address6(host["address"]),
                    "holder": None,
                    "web": None,
                    "minion": None,
                }
                for index, (name, host) in enumerate(normal["hosts"].items())
            },
            "services": {
                name: {"netns": netns.ns_name(self.tag, service.kind), "address": service.address, "proc": None}
                for name, service in services_of(self.state_dir, normal).items()
            },
            "webhook": None,
            "file_roots": [str(Path(r).resolve()) for r in file_roots],
            "root_created": root_created,
            "notes": [],
            "timings": {},
        }
        self._building = True
        self._save()
        try:
            self._up(normal, file_roots)
        except BaseException:
            self._building = False
            self.down()
            raise
        finally:
            self._building = False
        self._record["timings"]["up"] = round(time.monotonic() - started, 2)
        self._save()
        return self

    def _check_path_lengths(self, normal):
        longest = max(len(h) for h in normal["hosts"])
        sock = self.state_dir / "h" / ("x" * longest) / "s" / "minion_event_0123456789_pull.ipc"
        if len(str(sock)) > UNIX_PATH_MAX:
            raise SandboxError(
                f"state dir {self.state_dir} is too long for unix sockets ({len(str(sock))} > {UNIX_PATH_MAX});"
                f" use a shorter name, host names or {ROOT_ENV}"
            )

    def _timed(self, key, started):
        self._record["timings"][key] = round(time.monotonic() - started, 2)

    def _up(self, spec, file_roots):
        record = self._record
        t0 = time.monotonic()
        nodes = [("lb", spec["lb"], address6(spec["lb"]))]
        nodes += [
            (entry["netns"].rsplit("-", 1)[1], entry["address"], address6(entry["address"]))
            for entry in (record[self._master_key(n)] for n in range(1, spec["masters"] + 1))
        ]
        if spec.get("haproxy"):
            nodes.append(("cl", CLIENT_ADDRESS, address6(CLIENT_ADDRESS)))
        own = [name for name, service in services_of(self.state_dir, spec).items() if service.own_netns]
        nodes += [
            (e["netns"].rsplit("-", 1)[1], e["address"], address6(e["address"]))
            for e in (record["services"][name] for name in own)
        ]
        nodes += [
            (entry["netns"].rsplit("-", 1)[1], entry["address"], entry["address6"])
            for entry in record["hosts"].values()
        ]

        def remember(names):
            record["netns"] = names
            self._save()

        netns.create(self.tag, nodes, on_created=remember)
        self._timed("network", t0)

        env = self._env()
        services = services_of(self.state_dir, spec)
        service_options = {}
        for service in services.values():
            service.write_files()
            service_options.update(service.master_config())
        self._start_services([s for s in services.values() if not s.after_masters], env)
        spec_options = dict(spec["master"]["config"])
        if "external_auth" in service_options and "external_auth" in spec_options:
            # Another eauth backend from the spec sits beside the sandbox's file users.
            spec_options["external_auth"] = {**service_options["external_auth"], **spec_options["external_auth"]}
        masters = [self._master(n) for n in range(1, spec["masters"] + 1)]
        keys = master_keypair() if len(masters) > 1 else None
        for entry, master in masters:
            master.write_config(spec["lb"], file_roots, {**service_options, **spec_options})
            if keys:
                master.install_keys(*keys)
            proc, entry["proc"] = master.start(record["instance"], env)
            self._children.append(proc)
        self._save()
        self._start_services([s for s in services.values() if s.after_masters], env)

        t1 = time.monotonic()
        repos = self._build_repos(spec)
        self._timed("repos", t1)

        t2 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(8, len(spec["hosts"]))) as pool:
            jobs = {pool.submit(self._prepare_host, name, repos[name], env): name for name in spec["hosts"]}
            for job in concurrent.futures.as_completed(jobs):
                job.result()
        self._timed("hosts", t2)
        balancer = None
        if spec.get("haproxy"):
            balancer = self._balancer()
            balancer.write_files(self.name, master=self._minion_masters())
            proc, record["lb"]["haproxy"] = balancer.start_haproxy(record["instance"], env)
            self._children.append(proc)
            self._save()

        t3 = time.monotonic()
        for entry, master in masters:
            self._wait(
                lambda e=entry, m=master: m.listening(e["proc"]["pid"]),
                60,
                f"salt-master {master.index} to listen",
                entry["proc"],
                master.root / "master.out",
            )
        self._timed("master", t0)

        offsets = {}
        for name in spec["hosts"]:
            host = self._host(name)
            offsets[name] = host.log_size()
            proc, record["hosts"][name]["minion"] = host.start_minion(
                record["hosts"][name]["holder"]["pid"], record["instance"], env
            )
            self._children.append(proc)
        if balancer is not None:
            lb_offset = balancer.log_size()
            proc, record["lb"]["minion"] = balancer.start_minion(record["instance"], env)
            self._children.append(proc)
        self._save()
        if balancer is not None:
            self._wait(
                lambda: balancer.ready_since(lb_offset),
                READY_TIMEOUT,
                f"minion {LB_MINION} to connect",
                record["lb"]["minion"],
                balancer.root / "minion.out",
            )
        for name in spec["hosts"]:
            host = self._host(name)
            self._wait(
                lambda h=host, o=offsets[name]: h.ready_since(o),
                READY_TIMEOUT,
                f"minion {name} to connect",
                record["hosts"][name]["minion"],
                host.root / "minion.out",
            )
        self._timed("minions", t3)

        t4 = time.monotonic()
        for n in range(1, spec["masters"] + 1):
            self._ping_all(master=n)
        self._sync_all()
        self._timed("ping+sync", t4)
        if balancer is not None:
            balancer.wait_all_up(HAPROXY_UP_TIMEOUT, lambda: procs.alive(record["lb"]["haproxy"]))
        for name, service in services.items():
            entry = record["services"][name]
            service.wait_ready(entry["netns"], entry["proc"], SERVICE_TIMEOUT)
        record["up"] = True

    def _start_services(self, services, env):
        for service in services:
            entry = self._record["services"][service.name]
            proc, entry["proc"] = service.start(entry["netns"], self._record["instance"], env)
            self._children.append(proc)
        self._save()

    def _build_repos(self, spec):
        debs = self.state_dir / "debs"
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda pv: aptrepo.build_deb(debs, *pv), aptrepo.all_versions(spec)))
        main = self.state_dir / "repo" / "main"
        repos, jobs = {}, {main: spec["repo"]}
        for name, host in spec["hosts"].items():
            if host["repo"] is not None:
                repos[name] = self.state_dir / "repo" / f"host-{name}"
                jobs[repos[name]] = host["repo"]
            else:
                repos[name] = main
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda item: aptrepo.build_repo(item[0], item[1], debs), jobs.items()))
        return repos

    def _prepare_host(self, name, repo_dir, env):
        host = self._host(name)
        entry = self._record["hosts"][name]
        host.write_files(repo_dir, master=self._minion_masters())
        proc, holder = host.start_holder(self._record["instance"], env)
        self._children.append(proc)
        with self._lock:
            entry["holder"] = holder
        self._save()
        notes = host.mount_all(holder["pid"])
        if notes:
            with self._lock:
                self._record["notes"] += [f"{name}: {n}" for n in notes]
        debs = [
            aptrepo.deb_path(self.state_dir / "debs", p, v) for p, v in self.spec["hosts"][name]["packages"].items()
        ]
        host.preinstall(holder["pid"], debs, env)
        host.apt_update(holder["pid"], env)
        proc, web = host.start_web(holder["pid"], self._record["instance"], env)
        self._children.append(proc)
        with self._lock:
            entry["web"] = web
        self._save()

    @staticmethod
    def _wait(ready, timeout, what, proc_record=None, log=None):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            if proc_record is not None and not procs.alive(proc_record):
                raise SandboxError(f"gave up waiting for {what}: the process exited; {_tail(log)}")
            time.sleep(0.05)
        raise SandboxError(f"gave up waiting for {what} after {timeout} s; {_tail(log)}")

    def _ping_all(self, attempts=5, master=1):
        missing = self.minions
        for _ in range(attempts):
            answered = self._json_call(
                self.salt("-L", ",".join(missing), "test.ping", "--out=json", "-t", "10", timeout=60, master=master)
            )
            missing = [h for h in missing if answered.get(h) is not True]
            if not missing:
                return
            time.sleep(0.5)
        raise SandboxError(f"minions did not answer test.ping on master {master}: {', '.join(missing)}")

    def _sync_all(self):
        proc = self.salt("-L", ",".join(self.minions), "saltutil.sync_all", "--out=json", "-t", "60", timeout=120)
        answered = self._json_call(proc)
        bad = [h for h in self.minions if not isinstance(answered.get(h), dict)]
        if bad:
            raise SandboxError(
                f"saltutil.sync_all failed on {', '.join(bad)}: {proc.stdout.strip()} {proc.stderr.strip()}"
            )

    @staticmethod
    def _json_call(proc):
        """Merge the one-object-per-minion JSON that `salt --out=json` prints without --static.

        (--static would run the job in batch mode in Salt 3008: an extra test.ping first.)
        """
        merged, decoder, text, index = {}, json.JSONDecoder(), (proc.stdout or "").strip(), 0
        while index < len(text):
            try:
                doc, index = decoder.raw_decode(text, index)
            except ValueError:
                break
            if isinstance(doc, dict):
                merged.update(doc)
            while index < len(text) and text[index].isspace():
                index += 1
        return merged

    # -- talking to the cluster ---------------------------------------------------------------------
    def _master_argv(self, argv, master=1):
        entry, server = self._master(master)
        argv = list(argv)
        if argv and argv[0] in SALT_TOOLS:
            tool = argv[0]
            argv[0] = str(self.bin_dir / tool)
            if not any(a in ("-c", "--config-dir") or a.startswith("--config-dir=") for a in argv[1:]):
                argv[1:1] = ["-c", str(server.conf_dir)]
        return ["nsenter", f"--net={netns.ns_path(entry['netns'])}", "--", *argv]

    @staticmethod
    def _run(argv, check=False, timeout=None, capture=True, input=None):
        extra = {"input": input} if input is not None else {"stdin": subprocess.DEVNULL} if capture else {}
        return subprocess.run(argv, check=check, timeout=timeout, text=True, capture_output=capture, **extra)

    def salt(self, *args, check=False, timeout=None, capture=True, master=1):
        """`salt -c <master conf> ARGS` inside master ``master``'s netns."""
        return self._run(self._master_argv(["salt", *args], master), check, timeout, capture)

    def salt_run(self, *args, check=False, timeout=None, capture=True, master=1):
        """`salt-run -c <master conf> ARGS` inside master ``master``'s netns."""
        return self._run(self._master_argv(["salt-run", *args], master), check, timeout, capture)

    def salt_call(self, host, *args, check=False, timeout=None, capture=True):
        """`salt-call` on ``host``, inside its namespaces and with its minion config."""
        h = self._host(host)
        argv = h.enter(self._holder_pid(host), [str(self.bin_dir / "salt-call"), "-c", str(h.conf_dir), *args])
        return self._run(argv, check, timeout, capture)

    def exec(self, host, argv, check=False, timeout=None, capture=True, input=None):
        """Run ``argv`` inside ``host``'s network, mount and UTS namespaces.

        A command that leaves a daemon behind needs ``capture=False``: a captured daemon keeps
        the pipes open and the call waits for it. Such daemons are killed at ``down``.
        """
        if isinstance(argv, str) or not argv:
            raise SandboxError("exec: argv must be a non-empty list, not a shell string")
        h = self._host(host)
        return self._run(h.enter(self._holder_pid(host), argv), check, timeout, capture, input)

    def popen_in_master(self, argv, master=1, **kwargs):
        """Popen ``argv`` in master ``master``'s netns. A salt tool name as argv[0] gets the venv path and -c."""
        kwargs.setdefault("stdout", subprocess.PIPE)
        kwargs.setdefault("stderr", subprocess.PIPE)
        kwargs.setdefault("text", True)
        return subprocess.Popen(self._master_argv(argv, master), **kwargs)

    def probe(self, host, timeout=1.0, ipv6=False):
        """True if the LB (source address = LB address) can open TCP to ``host``'s web port.

        With ``ipv6``, the same over the IPv6 twins (2001:db8:100::LB -> 2001:db8:100::HOST).
        """
        self._host(host)
        entry = self.record["hosts"][host]
        source, target = (address6(self.lb), entry["address6"]) if ipv6 else (self.lb, entry["address"])
        return netns.connect_from(self.record["lb"]["netns"], source, target, WEB_PORT, timeout).returncode == 0

    def web(self, host, timeout=2.0):
        """The body of GET / on ``host`` as the LB sees it, or None when unreachable."""
        self._host(host)
        entry = self.record["hosts"][host]
        proc = netns.connect_from(self.record["lb"]["netns"], self.lb, entry["address"], WEB_PORT, timeout, get=True)
        return proc.stdout.strip() if proc.returncode == 0 else None

    def load(self, rate, seconds, timeout=30, slow_every=0):
        """GET / through HAProxy's frontend from the client namespace, ``rate`` per second for
        ``seconds``; returns {"sent", "ok", "failed", "failures", "versions", "latency", ...}.
        With ``slow_every`` K every K-th request is GET /slow (answered after 2 s). Bounded: it
        returns at most ``seconds + timeout`` (plus a margin) after it starts.
        """
        problem = loadgen.check_bounds(rate, seconds, timeout, slow_every)
        if problem:
            raise SandboxError(f"load: {problem}")
        self._balancer()
        client = self.record.get("client")
        argv = ["nsenter", f"--net={netns.ns_path(client['netns'])}", "--"]
        argv += loadgen.argv(self.lb, WEB_PORT, rate, seconds, timeout, slow_every)
        proc = self._run(argv, timeout=seconds + timeout + 30)
        if proc.returncode != 0:
            raise SandboxError(f"load: the load generator failed ({proc.returncode}): {proc.stderr.strip()}")
        return json.loads(proc.stdout)

    def start_load(self, rate, seconds, timeout=30):
        """The load of ``load`` in the background: (Popen, stop) where ``stop()`` ends the stream
        (SIGTERM: no more requests are sent, those in flight are awaited) and returns its summary.
        Bounded the same way: it stops by itself after ``seconds``."""
        problem = loadgen.check_bounds(rate, seconds, timeout)
        if problem:
            raise SandboxError(f"load: {problem}")
        self._balancer()
        client = self.record.get("client")
        argv = ["nsenter", f"--net={netns.ns_path(client['netns'])}", "--"]
        argv += loadgen.argv(self.lb, WEB_PORT, rate, seconds, timeout)
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

        def stop():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=timeout + 30)
            if proc.returncode != 0:
                raise SandboxError(f"load: the load generator failed ({proc.returncode}): {err.strip()}")
            return json.loads(out)

        return proc, stop

    def restart_master(self, timeout=READY_TIMEOUT, master=1):
        """Stop salt-master ``master`` (by its pid, as `down` does) and start it again with the same
        config, keys and cache; return once it listens and every minion that was running
        answers test.ping through it again. Returns the seconds that took."""
        started = time.monotonic()
        entry, server = self._master(master)
        running = [m for m in self.minions if procs.alive(self._minion_record(m))]
        procs.stop([entry["proc"]] if entry.get("proc") else [], grace=STOP_GRACE)
        entry["proc"] = None
        self._save()
        self._reap()
        proc, entry["proc"] = server.start(self.record["instance"], self._env())
        self._children.append(proc)
        self._save()
        deadline = started + timeout
        self._wait(
            lambda: server.listening(entry["proc"]["pid"]),
            max(1.0, deadline - time.monotonic()),
            f"salt-master {master} to listen again",
            entry["proc"],
            server.root / "master.out",
        )
        missing = list(running)
        while missing:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SandboxError(f"minions did not reconnect within {timeout} s: {', '.join(missing)}")
            wait = str(max(1, min(5, int(left))))
            answered = self._json_call(
                self.salt("-L", ",".join(missing), "test.ping", "--out=json", "-t", wait, master=master)
            )
            missing = [m for m in missing if answered.get(m) is not True]
        return round(time.monotonic() - started, 2)

    def _minion_record(self, minion):
        if minion == LB_MINION and self.spec.get("haproxy"):
            return self.record["lb"].get("minion")
        return self.record["hosts"][minion].get("minion")

    def _service(self, name):
        """(record entry, Service) of service ``name`` (etcd, ...), or None when the spec has none such."""
        entry = self.record.get("services", {}).get(name)
        if entry is None:
            return None
        return entry, services_of(self.state_dir, self.spec)[name]

    def service_url(self, name):
        """The URL of service ``name`` (e.g. "http://198.51.100.5:2379" for etcd)."""
        found = self._service(name)
        if found is None:
            raise SandboxError(f"sandbox {self.name!r} runs no {name} (see its spec)")
        return found[1].url

    def api_url(self):
        """salt-api's URL (spec api: true), e.g. "http://198.51.100.2:8000"."""
        return self.service_url("api")

    def api_users(self):
        """{user: password} of salt-api's file eauth test users (deployer, watcher)."""
        found = self._service("api")
        if found is None:
            raise SandboxError(f"sandbox {self.name!r} runs no salt-api (its spec has no api: true)")
        return found[1].users()

    def webhook(self, seconds, out):
        """Start a webhook receiver in a namespace of its own (198.51.100.7, made on first use) that
        records every POST to ``out`` as JSON lines and ends by itself after ``seconds``.
        Returns (url, Popen) once it answers."""
        if not 0 < seconds <= webhook.MAX_SECONDS:
            raise SandboxError(f"webhook: --seconds must be more than 0 and at most {webhook.MAX_SECONDS}")
        out = Path(out).resolve()
        if not out.parent.is_dir():
            raise SandboxError(f"webhook: --out {out}: its directory does not exist")
        record = self.record
        current = record.get("webhook")
        if current and procs.alive(current.get("proc")):
            raise SandboxError(f"webhook: a receiver still runs at {webhook_url()} (pid {current['proc']['pid']})")
        name = netns.ns_name(self.tag, "wh")
        if not os.path.exists(netns.ns_path(name)):

            def remember(created):
                record["netns"] = sorted(set(record.get("netns", [])) | {created})
                self._save()

            netns.add_node(self.tag, "wh", WEBHOOK_ADDRESS, address6(WEBHOOK_ADDRESS), on_created=remember)
        argv = ["nsenter", f"--net={netns.ns_path(name)}", "--", sys.executable, "-I", str(webhook.SCRIPT)]
        argv += [
            "--address",
            WEBHOOK_ADDRESS,
            "--port",
            str(webhook.PORT),
            "--seconds",
            str(seconds),
            "--out",
            str(out),
        ]
        log = self.state_dir / "webhook.log"
        proc, proc_record = procs.spawn(argv, record["instance"], log, env=self._env())
        self._children.append(proc)
        record["webhook"] = {"netns": name, "address": WEBHOOK_ADDRESS, "proc": proc_record}
        self._save()
        self._wait(
            lambda: netns.http(name, WEBHOOK_ADDRESS, webhook.PORT, "/health", 1.0)[0] == 200,
            30,
            "the webhook receiver to answer",
            proc_record,
            log,
        )
        return webhook_url(), proc

    def stop(self, host):
        """Stop ``host``'s salt-minion (and its jobs), or the service of that name (etcd);
        namespaces and web service stay."""
        service = self._service(host)
        if service is not None:
            entry = service[0]
            procs.stop([entry["proc"]] if entry.get("proc") else [], grace=STOP_GRACE)
            entry["proc"] = None
            self._save()
            self._reap()
            return
        self._host(host)
        entry = self.record["hosts"][host]
        procs.stop([entry["minion"]] if entry.get("minion") else [], grace=STOP_GRACE)
        entry["minion"] = None
        self._save()
        self._reap()

    def start(self, host, wait=True, timeout=READY_TIMEOUT):
        """Start ``host``'s salt-minion (or the service of that name) again; with ``wait``, return
        once it is connected (the service answers its health check)."""
        service = self._service(host)
        if service is not None:
            entry, daemon = service
            if procs.alive(entry.get("proc")):
                return
            proc, entry["proc"] = daemon.start(entry["netns"], self.record["instance"], self._env())
            self._children.append(proc)
            self._save()
            if wait:
                daemon.wait_ready(entry["netns"], entry["proc"], timeout)
            return
        h = self._host(host)
        entry = self.record["hosts"][host]
        if procs.alive(entry.get("minion")):
            return
        offset = h.log_size()
        proc, entry["minion"] = h.start_minion(self._holder_pid(host), self.record["instance"], self._env())
        self._children.append(proc)
        self._save()
        if wait:
            self._wait(
                lambda: h.ready_since(offset),
                timeout,
                f"minion {host} to connect",
                entry["minion"],
                h.root / "minion.out",
            )

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


def webhook_url():
    """Where `scenario-sandbox webhook`'s receiver listens (any path is recorded)."""
    return f"http://{WEBHOOK_ADDRESS}:{webhook.PORT}/"


def _tail(path, lines=8):
    if not path:
        return ""
    try:
        text = Path(path).read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return "last log lines: " + " | ".join(text[-lines:]) if text else ""
