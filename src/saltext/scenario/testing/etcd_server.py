"""A real etcd-server (Debian's `etcd-server` package) on loopback, for the fleet store's tests
and bench/store_claims.py.

Ports are found at run time (bind port 0, read it, close it, pass it to etcd): never a fixed
port on the shared loopback. The data dir is the caller's (a tmp_path). `--max-txn-ops` is
raised above etcd's default 128, as the fleet store's documentation asks for a fleet of more
than about 120 hosts per run. The process is stopped by its pid.
"""

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

ETCD = shutil.which("etcd") or "/usr/bin/etcd"
MAX_TXN_OPS = 4096


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EtcdServer:
    """`start()`, `stop()` (by pid, keeping the data dir) and `start()` again on the same ports."""

    def __init__(self, data_dir, max_txn_ops=MAX_TXN_OPS, name="store-test", tls=None):
        self.data_dir = Path(data_dir)
        self.max_txn_ops = max_txn_ops
        self.name = name
        # tls: {"ca", "cert", "key"} paths (tests/support/tls_certs.py): https, client certificates required
        self.tls = tls
        self.client_port = free_port()
        self.peer_port = free_port()
        self.proc = None

    @property
    def url(self):
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.client_port}"

    def argv(self):
        peer = f"http://127.0.0.1:{self.peer_port}"
        return [
            ETCD,
            "--name",
            self.name,
            "--data-dir",
            str(self.data_dir / "data"),
            "--listen-client-urls",
            self.url,
            "--advertise-client-urls",
            self.url,
            "--listen-peer-urls",
            peer,
            "--initial-advertise-peer-urls",
            peer,
            "--initial-cluster",
            f"{self.name}={peer}",
            "--max-txn-ops",
            str(self.max_txn_ops),
            "--max-request-bytes",
            str(8 * 1024 * 1024),
            "--logger",
            "zap",
            "--log-level",
            "warn",
            *self.tls_argv(),
        ]

    def tls_argv(self):
        if not self.tls:
            return []
        return [
            "--cert-file",
            str(self.tls["cert"]),
            "--key-file",
            str(self.tls["key"]),
            "--trusted-ca-file",
            str(self.tls["ca"]),
            "--client-cert-auth",
        ]

    def start(self, timeout=20.0):
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.data_dir / "etcd.log", "ab")  # noqa: SIM115 - the child keeps it
        try:
            self.proc = subprocess.Popen(self.argv(), stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"etcd exited with {self.proc.returncode}: {self.log_tail()}")
            if self.healthy():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"etcd did not become healthy within {timeout} s: {self.log_tail()}")

    def healthy(self):
        context = None
        if self.tls:
            context = ssl.create_default_context(cafile=str(self.tls["ca"]))
            context.load_cert_chain(str(self.tls["client_cert"]), str(self.tls["client_key"]))
        try:
            with urllib.request.urlopen(self.url + "/health", timeout=1, context=context) as answer:  # noqa: S310 - our own http://127.0.0.1 URL
                return json.loads(answer.read()).get("health") == "true"
        except (OSError, ValueError, urllib.error.URLError):
            return False

    def log_tail(self):
        try:
            return (self.data_dir / "etcd.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)  # a paused etcd could not act on SIGTERM
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.proc = None

    def pause(self):
        """SIGSTOP: etcd keeps its port but answers nothing (a hung store)."""
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
