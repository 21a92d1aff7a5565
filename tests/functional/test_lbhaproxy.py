"""
lbhaproxy (module and states) against a real HAProxy (the Debian package) in a throwaway
network namespace: two backend servers that can hold a request open, HTTP health checks,
and the runtime API socket in the minion config.
"""

import shutil
import subprocess
import sys
import time

import pytest
from salt.exceptions import SaltInvocationError

from tests.support.firewall_view import run_in

FRONTEND = 8000  # ports inside a namespace of our own: nobody else listens there
SERVERS = {"web1": 8081, "web2": 8082}
TIMEOUT = 20

# A backend server: GET /health answers at once, GET /<name>/hold waits until GET /release
# (sent to the server directly) lets it answer, GET anything else answers at once.
BACKEND = """
import http.server, sys, threading
released = threading.Event()
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/release":
            released.set()
        elif self.path.endswith("/hold"):
            released.wait(60)
        body = b"ok\\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
print("ready", flush=True)
server.serve_forever()
"""

CONFIG = """\
global
    stats socket {sock} mode 600 level admin
defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:{frontend}
    default_backend web
backend web
    option httpchk GET /health
    use-server web1 if {{ path_beg /web1/ }}
    use-server web2 if {{ path_beg /web2/ }}
{servers}
"""


def http_get(port, path, timeout=TIMEOUT):
    """Status code of GET path on 127.0.0.1:port, from inside the test's namespace."""
    script = (
        "import sys, urllib.request\n"
        "try:\n"
        f"    print(urllib.request.urlopen('http://127.0.0.1:{port}{path}', timeout={timeout}).status)\n"
        "except Exception as exc:\n"
        "    print(getattr(exc, 'code', type(exc).__name__))\n"
    )
    return script


def show_stat(ns, sock):
    """{server: status} of backend web, read over the socket without lbhaproxy."""
    script = (
        "import socket, sys\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "s.settimeout(5)\n"
        "s.connect(sys.argv[1])\n"
        "s.sendall(b'show stat\\n')\n"
        "data = b''\n"
        "while chunk := s.recv(65536):\n"
        "    data += chunk\n"
        "print(data.decode())\n"
    )
    out = run_in(ns, sys.executable, "-c", script, str(sock)).stdout
    header = out.splitlines()[0][2:].split(",")
    rows = [dict(zip(header, line.split(","), strict=False)) for line in out.splitlines()[1:] if line.strip()]
    return {row["svname"]: row["status"] for row in rows if row["pxname"] == "web"}


def wait_for(condition, what, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what}")


@pytest.fixture
def haproxy(netns, tmp_path):
    """(namespace, socket path): HAProxy in front of web1 and web2, both up."""
    if not shutil.which("haproxy"):
        pytest.skip("haproxy is not installed (make installs it)")
    procs = []
    try:
        for port in SERVERS.values():
            proc = subprocess.Popen(
                ["ip", "netns", "exec", netns, sys.executable, "-c", BACKEND, str(port)],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,  # clients that hang up (health checks) are not news
                text=True,
            )
            procs.append(proc)
            assert proc.stdout.readline().strip() == "ready"
        sock = tmp_path / "admin.sock"
        servers = "\n".join(
            f"    server {name} 127.0.0.1:{port} check inter 200ms rise 1 fall 1" for name, port in SERVERS.items()
        )
        config = tmp_path / "haproxy.cfg"
        config.write_text(CONFIG.format(sock=sock, frontend=FRONTEND, servers=servers))
        procs.append(
            subprocess.Popen(
                ["ip", "netns", "exec", netns, "haproxy", "-db", "-f", str(config)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        wait_for(
            lambda: sock.exists() and show_stat(netns, sock) == {"web1": "UP", "web2": "UP", "BACKEND": "UP"}, "UP"
        )
        yield netns, sock
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


@pytest.fixture
def lb_minion(haproxy, netns_minion):
    ns, sock = haproxy
    return netns_minion(ns, {"lbgate.haproxy_socket": str(sock)})


class Held:
    """A request through the frontend to one server, held open until released."""

    def __init__(self, ns, server):
        self.ns, self.server = ns, server
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, "-c", http_get(FRONTEND, f"/{server}/hold")],
            stdout=subprocess.PIPE,
            text=True,
        )

    def release(self):
        run_in(self.ns, sys.executable, "-c", http_get(SERVERS[self.server], "/release"))
        out, _ = self.proc.communicate(timeout=TIMEOUT)
        return out.strip()


def test_drain_waits_for_sessions_fails_at_timeout_then_maint_and_back_up(haproxy, lb_minion):
    ns, sock = haproxy
    held = Held(ns, "web1")
    wait_for(lambda: lb_minion.call("lbhaproxy.servers", "web")["servers"]["web1"]["scur"] == 1, "the session")

    ret, retcode = lb_minion.call_full("lbhaproxy.drain", "web", ["web1"], timeout=1)
    assert retcode == 1 and ret["ok"] is False
    entry = ret["hosts"]["web1"]
    assert entry["ok"] is False and entry["scur"] == 1 and entry["status"] == "DRAIN"
    assert "1 session(s)" in entry["reason"] and entry["out_of_rotation"] is True
    assert show_stat(ns, sock)["web1"] == "DRAIN"
    # A drained server takes no new requests: they go to web2.
    assert run_in(ns, sys.executable, "-c", http_get(FRONTEND, "/any")).stdout.strip() == "200"

    assert held.release() == "200"  # the request in flight completes
    ret, retcode = lb_minion.call_full("lbhaproxy.drain", "web", ["web1"], timeout=10)
    assert retcode == 0 and ret["hosts"]["web1"]["ok"] is True
    assert show_stat(ns, sock) == {"web1": "MAINT", "web2": "UP", "BACKEND": "UP"}
    # Again: a server in maint stays there.
    assert lb_minion.call_full("lbhaproxy.drain", "web", ["web1"], timeout=0)[1] == 0
    assert lb_minion.call_full("lbhaproxy.verify_up", "web", ["web1"])[1] == 1

    ret, retcode = lb_minion.call_full("lbhaproxy.ready", "web", {"web1.example.com": "web1"})
    assert retcode == 0 and ret["hosts"]["web1.example.com"]["server"] == "web1"
    wait_for(lambda: lb_minion.call_full("lbhaproxy.verify_up", "web", ["web1", "web2"])[1] == 0, "web1 up")
    assert show_stat(ns, sock)["web1"] == "UP"


def test_drain_of_several_servers_in_one_call(haproxy, lb_minion):
    ns, sock = haproxy
    ret = lb_minion.call("lbhaproxy.drain", "web", {"a": "web1", "b": "web2"}, timeout=5)
    assert sorted(ret["hosts"]) == ["a", "b"] and ret["ok"] is True
    assert show_stat(ns, sock) == {"web1": "MAINT", "web2": "MAINT", "BACKEND": "DOWN"}
    lb_minion.call("lbhaproxy.ready", "web", ["web1", "web2"])
    wait_for(lambda: lb_minion.call("lbhaproxy.verify_up", "web", ["web1", "web2"])["ok"], "both up")


@pytest.mark.parametrize(
    "args,kwargs,message",
    [
        (["web; disable server web/web2", ["web1"]], {}, "backend name"),
        (["web", ["web1; shutdown sessions server web/web2"]], {}, "server name"),
        (["web", ["web 1"]], {}, "server name"),
        (["web", {"web1": "web1\nshow info"}], {}, "server name"),
        (["nope", ["web1"]], {}, "no backend 'nope'"),
        (["web", ["web3"]], {}, "no server web3"),
        (["web", ["web1"]], {"socket": "/tmp/elsewhere.sock"}, "not the runtime socket"),
    ],
)
@pytest.mark.parametrize("fun", ["lbhaproxy.drain", "lbhaproxy.ready"])
def test_bad_input_is_refused_with_nothing_changed(haproxy, lb_minion, fun, args, kwargs, message):
    ns, sock = haproxy
    lb_minion.call("lbhaproxy.drain", "web", ["web2"], timeout=5)
    before = show_stat(ns, sock)
    with pytest.raises(SaltInvocationError, match=message):
        lb_minion.call(fun, *args, **kwargs)
    assert show_stat(ns, sock) == before == {"web1": "UP", "web2": "MAINT", "BACKEND": "UP"}


def test_socket_comes_from_minion_config_only(haproxy, netns_minion):
    ns, sock = haproxy
    unconfigured = netns_minion(ns)
    # The default socket path is not the running HAProxy's: the caller cannot point elsewhere.
    with pytest.raises(SaltInvocationError, match=r"not the runtime socket.*/run/haproxy/admin\.sock"):
        unconfigured.call("lbhaproxy.servers", "web", socket=str(sock))
    assert show_stat(ns, sock)["web1"] == "UP"


def test_states_drained_and_ready_tell_the_truth_under_test_and_change_once(haproxy, lb_minion):
    ns, sock = haproxy
    preview = lb_minion.state("lbhaproxy.drained", name="out", backend="web", hosts=["web1"], timeout=5, test=True)
    assert preview["result"] is None and preview["changes"] == {"web1": {"old": "UP", "new": "MAINT"}}
    assert show_stat(ns, sock)["web1"] == "UP"

    done = lb_minion.state("lbhaproxy.drained", name="out", backend="web", hosts=["web1"], timeout=5)
    assert done["result"] is True and done["changes"] == {"web1": {"old": "UP", "new": "MAINT"}}
    again = lb_minion.state("lbhaproxy.drained", name="out", backend="web", hosts=["web1"], timeout=5)
    assert again["result"] is True and again["changes"] == {}
    assert show_stat(ns, sock)["web1"] == "MAINT"

    assert lb_minion.state("lbhaproxy.ready", name="web1", backend="web", test=True)["result"] is None
    assert show_stat(ns, sock)["web1"] == "MAINT"
    back = lb_minion.state("lbhaproxy.ready", name="web1", backend="web")
    assert back["result"] is True and back["changes"]["web1"]["old"] == "MAINT"
    wait_for(lambda: show_stat(ns, sock)["web1"] == "UP", "web1 up")
    assert lb_minion.state("lbhaproxy.ready", name="web1", backend="web")["changes"] == {}


def test_state_fails_on_bad_input_with_nothing_changed(haproxy, lb_minion):
    ns, sock = haproxy
    ret = lb_minion.state("lbhaproxy.drained", name="web1; disable server web/web2", backend="web")
    assert ret["result"] is False and "server name" in ret["comment"]
    assert show_stat(ns, sock) == {"web1": "UP", "web2": "UP", "BACKEND": "UP"}
