"""A host's web service: GET / answers with the installed version of the app.

Standalone (stdlib only) because it is started as a script inside the host's namespaces:
    python -I web.py --address 198.51.100.11 [--address 2001:db8:100::11] --port 80 --package mywebapp \
        --pidfile /run/.../web.pid [--bad 4.2.7-1=0.3 ...]
The version is read on every request, so an upgrade shows at once. GET /slow answers the
same after SLOW_SECONDS: a request that is still in flight when the host leaves the balancer.
GET /health answers as GET / does, and is what the health checks ask (HAProxy's, NRPE's
check_web).

A bad build (`--bad VERSION=FRACTION`, the spec's bad_builds): while VERSION is installed,
that fraction of the requests other than /health is answered 500, deterministically: request
n fails when floor(n * FRACTION) grows, so 0.3 fails requests 4, 7, 10, ... (3 in every 10).
Its health checks pass like a good build's; only real traffic sees it.

SIGHUP restarts the service in place: the process re-executes itself, so the sandbox keeps
tracking one pid while `service mywebapp restart` (the host's /etc/init.d script) really
restarts it. The same script answers `--control status|restart` for that init script.
"""

import argparse
import http.server
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path

SLOW_SECONDS = 2.0


def installed_version(package):
    try:
        return Path("/opt", package, "VERSION").read_text(encoding="utf-8").strip()
    except OSError:
        return None


class BadBuilds:
    """Which requests a bad build fails: request n fails when floor(n * fraction) grows."""

    def __init__(self, fractions):
        self.fractions = fractions  # {version: fraction}
        self.count = 0
        self.lock = threading.Lock()

    def fails(self, version):
        fraction = self.fractions.get(version)
        if not fraction:
            return False
        with self.lock:
            self.count += 1
            return int(self.count * fraction) > int((self.count - 1) * fraction)


def make_handler(package, bad=None):
    bad = bad or BadBuilds({})

    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "scenario-sandbox-web/1"

        def do_GET(self):
            if self.path not in ("/", "/version", "/slow", "/health"):
                self.send_error(404)
                return
            if self.path == "/slow":
                time.sleep(SLOW_SECONDS)  # the work of a slow request, not a wait for a condition
            version = installed_version(package)
            if version and self.path != "/health" and bad.fails(version):
                self.send_error(500, f"{package} {version}: bad build")
                return
            body = f"{package} {version or 'not installed'}\n".encode()
            self.send_response(200 if version else 503)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # quiet: probes would flood the log
            pass

    return Handler


class Server6(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6


def _running_pid(pidfile):
    try:
        pid = int(Path(pidfile).read_text(encoding="ascii").strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def _answers(address, port, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def control(action, args):
    """Exit code for an init-script action (LSB: status 0 running, 3 not running)."""
    pid = _running_pid(args.pidfile)
    if action == "status":
        return 0 if pid else 3
    if pid is None:
        return 7  # restart of a service that is not running: the sandbox starts it, not init
    started = Path(args.pidfile).stat().st_mtime_ns
    os.kill(pid, signal.SIGHUP)
    # Wait for the re-executed process to announce itself, then for its port.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and Path(args.pidfile).stat().st_mtime_ns == started:
        time.sleep(0.05)
    return 0 if _answers(args.address[0], args.port, 10) else 1


def _reexec_on_hup(servers):
    def restart(_signum, _frame):
        for server in servers:
            server.server_close()
        os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])  # noqa: S606 - re-exec ourselves, no shell

    signal.signal(signal.SIGHUP, restart)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--address", action="append", required=True, help="repeatable; IPv4 or IPv6")
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--package", required=True)
    parser.add_argument("--pidfile", required=True)
    parser.add_argument("--control", choices=["status", "restart"])
    parser.add_argument("--bad", action="append", default=[], metavar="VERSION=FRACTION", help="a bad build")
    args = parser.parse_args()
    if args.control:
        sys.exit(control(args.control, args))
    bad = {}
    for item in args.bad:
        version, _, fraction = item.partition("=")
        bad[version] = float(fraction)
    handler = make_handler(args.package, BadBuilds(bad))
    servers = [
        (Server6 if ":" in address else http.server.ThreadingHTTPServer)((address, args.port), handler)
        for address in args.address
    ]
    _reexec_on_hup(servers)
    Path(args.pidfile).write_text(f"{os.getpid()}\n", encoding="ascii")
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    servers[0].serve_forever()


if __name__ == "__main__":
    main()
