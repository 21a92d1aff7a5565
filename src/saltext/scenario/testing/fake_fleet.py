"""A fake fleet implementing the engine's transport interface (expected/ping/call/fire).

Hosts simulate lbgate, lbdrain, pkgcheck, nrpe, file and the mywebapp state just enough for the
engine's verdicts: state per host, dead hosts that never answer, per-host failures on demand.
"""

from . import state_returns


class FakeHost:
    def __init__(self, name, version="4.2.5-1", available=("4.2.5-1", "4.2.6-3"), nrpe=None, files=()):
        self.name = name
        self.version = version
        self.available = list(available)
        self.nrpe = dict(nrpe or {})  # check -> list of codes returned in turn (last one repeats)
        self.files = set(files)
        self.blocked = False
        self.drained = False  # lbdrain.drain: new connections refused
        self.connections = 0  # established connections from the LB that a drain waits for
        self.haproxy = "ready"  # this host's server state in the fake balancer: ready/drain/maint
        self.sessions = 0  # its sessions (scur) in the balancer
        self.grains = {}
        self.pillar = {}


class FakeFleet:
    def __init__(self, hosts, known=None, dead=(), balancers=()):
        self.hosts = {h.name: h for h in hosts}
        self.balancers = set(balancers)  # minions running HAProxy: answer lbhaproxy.*, never pinned
        self.known = list(known) if known is not None else list(self.hosts)
        self.dead = set(dead)
        self.calls = []  # (hosts, fun, args, kwargs)
        self.events = []  # (tag, data)
        self.log = []  # (host, fun) in call order, for ordering assertions
        self.after_call = None  # hook(fleet, fun) e.g. to kill a host between steps
        self.jid = 0
        self.publishes = []  # the functions of each job, one list per publish

    # transport interface -------------------------------------------------
    def expected(self, target):
        return list(self.known)

    def ping(self, target):
        return [h for h in self.hosts if h not in self.dead]

    def call(self, hosts, fun, args, kwargs, cut=None):
        self.publishes.append([fun])
        self.calls.append((list(hosts), fun, list(args), dict(kwargs)))
        self.jid += 1
        out = {}
        for name in hosts:
            if name in self.balancers and name not in self.dead:
                self.log.append((name, fun))
                out[name] = self._balancer(fun, args, kwargs)
                continue
            if name in self.dead or name not in self.hosts:
                out[name] = {"ret": None, "retcode": None, "failed": True}
                continue
            self.log.append((name, fun))
            out[name] = self._run(self.hosts[name], fun, args, kwargs)
        if self.after_call:
            self.after_call(self, fun)
        return f"2026{self.jid:016d}", out

    def call_many(self, hosts, calls, cut=None):
        """A compound job: every call on each host in turn, one jid; `publishes` counts jobs."""
        self.publishes.append([fun for fun, _args, _kwargs in calls])
        self.jid += 1
        out = {name: [] for name in hosts}
        for fun, args, kwargs in calls:
            self.calls.append((list(hosts), fun, list(args), dict(kwargs)))
            for name in hosts:
                if name in self.dead or name not in self.hosts:
                    out[name].append({"ret": None, "retcode": None, "failed": True})
                    continue
                self.log.append((name, fun))
                out[name].append(self._run(self.hosts[name], fun, args, kwargs))
            if self.after_call:
                self.after_call(self, fun)  # between the functions of the job, as between steps
        return f"2026{self.jid:016d}", out

    def fire(self, data, tag):
        self.events.append((tag, data))

    def minion_data(self, hosts):
        return {h: {"grains": self.hosts[h].grains, "pillar": self.hosts[h].pillar} for h in hosts if h in self.hosts}

    def blocked_hosts(self):
        """Hosts out of rotation: blocked, drained, or not ready in the balancer."""
        return sorted(h.name for h in self.hosts.values() if h.blocked or h.drained or h.haproxy != "ready")

    def _balancer(self, fun, args, kwargs):
        mapping = kwargs.get("hosts") or {}
        if isinstance(mapping, list):
            mapping = {h: h for h in mapping}
        per_host = {}
        for minion, server in mapping.items():
            host = self.hosts[minion]
            if fun == "lbhaproxy.drain":
                host.haproxy = "drain" if host.sessions else "maint"
                ok = host.haproxy == "maint"
                entry = {"ok": ok, "reason": f"{server} {host.haproxy}", "out_of_rotation": True}
            elif fun == "lbhaproxy.ready":
                host.haproxy = "ready"
                entry = {"ok": True, "reason": f"{server} ready", "out_of_rotation": False}
            elif fun == "lbhaproxy.verify_up":
                ok = host.haproxy == "ready"
                entry = {"ok": ok, "reason": f"{server} is {'UP' if ok else host.haproxy.upper()}"}
            else:
                return {"ret": f"'{fun}' is not available.", "retcode": 254}
            per_host[minion] = {**entry, "server": server}
        ok = all(e["ok"] for e in per_host.values())
        return {"ret": {"backend": args[0], "ok": ok, "hosts": per_host}, "retcode": 0 if ok else 1}

    # simulated modules ---------------------------------------------------
    def _run(self, host, fun, args, kwargs):
        if fun == "lbdrain.drain":
            changed, host.drained, host.blocked = not host.drained, True, False
            ok = host.connections == 0
            ret = {"lb": args[0], "blocked": False, "drained": True, "changed": changed, "ok": ok}
            ret.update(connections=host.connections, waited=0.0, out_of_rotation=True)
            return {"ret": ret, "retcode": 0 if ok else 1}
        if fun == "lbdrain.verify_no_connections":
            ok = host.connections == 0
            return {"ret": {"lb": args[0], "connections": host.connections, "ok": ok}, "retcode": 0 if ok else 1}
        if fun in ("lbgate.block", "lbgate.unblock"):
            want = fun == "lbgate.block"
            changed = host.blocked != want
            host.blocked = want
            host.drained = False
            return {"ret": {"lb": args[0], "blocked": want, "changed": changed}, "retcode": 0}
        if fun == "lbgate.verify_blocked":
            ok = host.blocked == kwargs.get("expected", True)
            return {
                "ret": {"lb": args[0], "blocked": host.blocked, "expected": kwargs.get("expected"), "ok": ok},
                "retcode": 0 if ok else 1,
            }
        if fun == "pkgcheck.update":
            version = kwargs.get("version") or (args[1] if len(args) > 1 else None) or host.available[-1]
            if version not in host.available:
                return {"ret": f"ERROR: mywebapp {version} is not available", "retcode": 1}
            old, host.version = host.version, version
            return {"ret": {"name": args[0], "old": old, "new": version, "changed": old != version}, "retcode": 0}
        if fun == "pkgcheck.verify":
            ok = host.version == args[1]
            return {
                "ret": {"name": args[0], "installed": host.version, "expected": args[1], "ok": ok},
                "retcode": 0 if ok else 1,
            }
        if fun in ("nrpe.run", "nrpe.check"):
            codes = host.nrpe.get(args[0], [0])
            code = codes.pop(0) if len(codes) > 1 else codes[0]
            status = ["OK", "WARNING", "CRITICAL", "UNKNOWN"][code]
            return {
                "ret": {
                    "command": args[0],
                    "status": status,
                    "code": code,
                    "output": f"{status} - load",
                    "ok": code == 0,
                },
                "retcode": 0 if code == 0 else 1,
            }
        if fun == "file.file_exists":
            return {"ret": args[0] in host.files, "retcode": 0}
        if fun == "test.ping":
            return {"ret": True, "retcode": 0}
        if fun == "service.restart" or (fun == "service.status" and args[0] == "mywebapp"):
            return {"ret": True, "retcode": 0}
        if fun in ("state.apply", "state.highstate"):
            return self._mywebapp_state(host, kwargs)
        return {"ret": f"'{fun}' is not available.", "retcode": 254}

    @staticmethod
    def _mywebapp_state(host, kwargs):
        """states/mywebapp (also the highstate here): the package at pillar mywebapp:version,
        else the newest available, and the service (restarted when the package changed)."""
        version = ((kwargs.get("pillar") or {}).get("mywebapp") or {}).get("version") or host.available[-1]
        if version not in host.available:
            return {"ret": state_returns.missing_version(version), "retcode": 2}
        if host.version == version:
            return {"ret": state_returns.unchanged(), "retcode": 0}
        if kwargs.get("test"):
            return {"ret": state_returns.pending(version), "retcode": 0}
        old, host.version = host.version, version
        return {"ret": state_returns.applied(old, version), "retcode": 0}


def default_fleet(**kw):
    return FakeFleet([FakeHost("web1"), FakeHost("web2"), FakeHost("web3")], **kw)
