"""The sandbox's service daemons: each in a network namespace of its own, on a sandbox address.

A service (etcd for `store: etcd`, Prometheus for `prometheus: true`) keeps its files in
<state>/<name>, runs as one recorded process, answers an HTTP health path, and can be stopped and
started by name (`scenario-sandbox stop etcd`) as a host's minion can. It hands the masters the
options that point them at it (`master_config`).
"""

import time
from pathlib import Path

from . import netns, procs
from .errors import SandboxError


class Service:
    """One daemon; subclasses say what it runs (``argv``), where (``kind``, ``address``, ``port``)."""

    name = ""
    kind = ""  # the netns suffix: sb<tag>-<kind>
    own_netns = True  # False: it runs in an existing namespace (kind names it), e.g. master 1's
    after_masters = False  # True: started once the masters' config exists (it reads that config)
    address = ""
    port = 0
    health_path = "/"

    def __init__(self, state_dir, spec):
        self.root = Path(state_dir) / self.name
        self.spec = spec
        self.log = self.root / f"{self.name}.log"

    @property
    def url(self):
        return f"http://{self.address}:{self.port}"

    def write_files(self):
        self.root.mkdir(parents=True, exist_ok=True)

    def argv(self):
        raise NotImplementedError

    def master_config(self):
        """Options every salt-master gets so it uses this service."""
        return {}

    def start(self, netns_name, instance, env):
        argv = ["nsenter", f"--net={netns.ns_path(netns_name)}", "--", *self.argv()]
        return procs.spawn(argv, instance, self.log, env=env, cwd=str(self.root))

    def healthy(self, netns_name):
        """True once the health path answers 200, asked from inside the service's namespace."""
        status, _body = netns.http(netns_name, self.address, self.port, self.health_path, timeout=1.0)
        return status == 200

    def wait_ready(self, netns_name, record, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.healthy(netns_name):
                return
            if not procs.alive(record):
                raise SandboxError(f"{self.name} exited while starting; last lines: {_tail(self.log)}")
            time.sleep(0.1)
        raise SandboxError(f"gave up waiting for {self.name} at {self.url} after {timeout} s; {_tail(self.log)}")


def _tail(path, lines=5):
    try:
        return " | ".join(Path(path).read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return ""
