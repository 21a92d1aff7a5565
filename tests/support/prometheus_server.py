"""A real Prometheus (Debian's package) for tests: loopback, a free port found at run time,
storage in a temp dir, no scrape targets. Stopped by its pid.

``with PrometheusServer(tmp_path) as prom:`` -> ``prom.url``; ``prom.stop()`` ends it early.
"""

import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

READY_WITHIN = 30.0  # seconds; Prometheus opens its TSDB and starts listening in about 1 s


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrometheusServer:
    def __init__(self, workdir: Path):
        self.workdir = Path(workdir)
        self.proc = None
        self.url = None

    def __enter__(self):
        binary = shutil.which("prometheus")
        if binary is None:
            raise RuntimeError("prometheus is not installed: make sysdeps-test installs Debian's package")
        config = self.workdir / "prometheus.yml"
        config.write_text("global:\n  evaluation_interval: 1s\nscrape_configs: []\n", encoding="utf-8")
        # The port is free when chosen; another process may take it before Prometheus binds:
        # then Prometheus exits and another port is tried.
        for _ in range(3):
            port = _free_port()
            log = (self.workdir / f"prometheus-{port}.log").open("wb")
            self.proc = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={self.workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            log.close()
            self.url = f"http://127.0.0.1:{port}"
            if self._wait_ready():
                return self
            self.stop()
        raise RuntimeError(f"prometheus did not become ready; see {self.workdir}/prometheus-*.log")

    def _wait_ready(self):
        deadline = time.monotonic() + READY_WITHIN
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=1) as resp:
                    if resp.status == 200:
                        return True
            except OSError:
                pass
            time.sleep(0.1)
        return False

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # by its pid (Popen keeps it)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def __exit__(self, *exc):
        self.stop()
