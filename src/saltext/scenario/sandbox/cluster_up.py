"""Bringing a sandbox up: its record written first, then namespaces, services, masters, apt
repositories, hosts, the balancer and minions, each waited for; a failure takes it all down."""

import concurrent.futures
import time
import uuid
from pathlib import Path

from . import aptrepo, netns, procs
from .errors import SandboxError
from .master import master_keypair
from .spec import CLIENT_ADDRESS, LB_MINION, MASTER_ADDRESSES, address6, load_spec
from .spec_services import services_of
from .waiting import READY_TIMEOUT, wait_for

HAPROXY_UP_TIMEOUT = 30
SERVICE_TIMEOUT = 60


class BringUp:
    """Sandbox's `up` (a mixin of Sandbox, whose record, lookups and calls it uses)."""

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
            wait_for(
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
            wait_for(
                lambda: balancer.ready_since(lb_offset),
                READY_TIMEOUT,
                f"minion {LB_MINION} to connect",
                record["lb"]["minion"],
                balancer.root / "minion.out",
            )
        for name in spec["hosts"]:
            host = self._host(name)
            wait_for(
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
