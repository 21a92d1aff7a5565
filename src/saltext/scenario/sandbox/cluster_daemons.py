"""Stopping and starting one daemon of a sandbox: a minion, a master, a service, the webhook receiver."""

import os
import sys
import time
from pathlib import Path

from . import netns, procs, webhook
from .errors import SandboxError
from .spec import WEBHOOK_ADDRESS, address6
from .spec_services import services_of
from .waiting import READY_TIMEOUT, STOP_GRACE, wait_for


class Daemons:
    """Sandbox's control of single daemons (a mixin of Sandbox, whose record and lookups it uses)."""

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
        wait_for(
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
        wait_for(
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
            wait_for(
                lambda: h.ready_since(offset),
                timeout,
                f"minion {host} to connect",
                entry["minion"],
                h.root / "minion.out",
            )


def webhook_url():
    """Where `scenario-sandbox webhook`'s receiver listens (any path is recorded)."""
    return f"http://{WEBHOOK_ADDRESS}:{webhook.PORT}/"
