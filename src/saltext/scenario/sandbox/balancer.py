"""The load-balancer namespace of a spec with ``haproxy:``: a real HAProxy and a salt-minion ``lb``.

HAProxy (the Debian package's binary) listens on the LB address, port 80, in front of the
spec's web hosts, with an HTTP health check every second; its runtime API socket lives in
the state dir and is the minion's ``lbgate.haproxy_socket``. Both run in the LB's network
namespace only: the socket is a file, so the minion reaches it without a mount namespace.
"""

import csv
import socket
import time
from pathlib import Path

import yaml

from . import procs
from .errors import SandboxError
from .hosts import MinionLog, minion_config
from .netns import ns_path
from .spec import MASTER_ADDRESS

MINION_ID = "lb"
HTTP_PORT = 80
# HAProxy's built-in Prometheus exporter (spec prometheus: true), on the LB address.
EXPORTER_PORT = 8405

# Timeouts as a production balancer would have them; every check is an HTTP GET /health once a
# second, two failures take a server out, two passes bring it back. /health answers as / does,
# minus a bad build's failures: a bad build stays in the balancer, as it would in production.
CONFIG = """\
# Written by scenario-sandbox for sandbox {name}.
global
    stats socket {sock} mode 600 level admin
    stats timeout 30s

defaults
    mode http
    retries 3
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout check 2s

frontend www
    bind {address}:{port}
    default_backend {backend}

backend {backend}
    balance roundrobin
    option httpchk GET /health
    default-server check inter 1s fall 2 rise 2
{servers}
{exporter}"""

# With prometheus: true. HAProxy 2.6's exporter gives per-server series such as
# haproxy_server_http_responses_total{{proxy="web",server="web1",code="5xx"}}.
EXPORTER = """
frontend prometheus
    bind {address}:{port}
    http-request use-service prometheus-exporter if {{ path /metrics }}
    no log
"""


class Balancer(MinionLog):
    """Paths and commands of the LB namespace's HAProxy and minion; state lives in the record."""

    def __init__(self, state_dir, netns, bin_dir, spec):
        self.root = Path(state_dir) / "lb"
        self.netns = netns
        self.bin_dir = Path(bin_dir)
        self.spec = spec
        self.conf_dir = self.root / "conf"
        self.config_file = self.root / "haproxy.cfg"
        self.socket = self.root / "haproxy.sock"
        self.log_file = self.root / "var" / "log" / "salt" / "minion"

    @property
    def backend(self):
        return self.spec["haproxy"]["backend"]

    @property
    def servers(self):
        """{server name: address} of the backend, in spec order."""
        return {name: self.spec["hosts"][name]["address"] for name in self.spec["haproxy"]["servers"]}

    def write_files(self, name, master=MASTER_ADDRESS):
        for sub in ("conf", "s"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        servers = "\n".join(f"    server {server} {address}:{HTTP_PORT}" for server, address in self.servers.items())
        self.config_file.write_text(
            CONFIG.format(
                name=name,
                sock=self.socket,
                address=self.spec["lb"],
                port=HTTP_PORT,
                backend=self.backend,
                servers=servers,
                exporter=EXPORTER.format(address=self.spec["lb"], port=EXPORTER_PORT)
                if self.spec.get("prometheus")
                else "",
            )
        )
        config = minion_config(MINION_ID, master, self.root, self.root / "s", {"roles": ["load_balancer"]})
        config["lbgate.haproxy_socket"] = str(self.socket)
        (self.conf_dir / "minion").write_text(yaml.safe_dump(config, default_flow_style=False))

    def _in_netns(self, argv):
        return ["nsenter", f"--net={ns_path(self.netns)}", "--", *argv]

    def start_haproxy(self, instance, env):
        argv = self._in_netns(["haproxy", "-db", "-f", str(self.config_file)])
        return procs.spawn(argv, instance, self.root / "haproxy.log", env=env)

    def start_minion(self, instance, env):
        argv = self._in_netns([str(self.bin_dir / "salt-minion"), "-c", str(self.conf_dir)])
        return procs.spawn(argv, instance, self.root / "minion.out", env=env)

    def show_stat(self):
        """{server: status} of the backend, read over the runtime socket; {} when unreachable."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(2)
                sock.connect(str(self.socket))
                sock.sendall(b"show stat\n")
                data = b""
                while chunk := sock.recv(65536):
                    data += chunk
        except OSError:
            return {}
        lines = data.decode(errors="replace").splitlines()
        if not lines or not lines[0].startswith("# "):
            return {}
        lines[0] = lines[0][2:]
        return {
            row["svname"]: row["status"]
            for row in csv.DictReader(line for line in lines if line.strip())
            if row["pxname"] == self.backend and row["svname"] in self.servers
        }

    def wait_all_up(self, timeout, alive):
        """Until HAProxy reports every server UP (health checks passing)."""
        deadline = time.monotonic() + timeout
        seen = {}
        while time.monotonic() < deadline:
            seen = self.show_stat()
            if seen and all(seen.get(server) == "UP" for server in self.servers):
                return
            if not alive():
                raise SandboxError(f"HAProxy exited; see {self.root / 'haproxy.log'}")
            time.sleep(0.2)
        raise SandboxError(f"gave up waiting for HAProxy to report every server UP after {timeout} s: {seen}")
