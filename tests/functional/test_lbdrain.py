"""
The firewall drain against real traffic and real conntrack: a host namespace running lbdrain
(which counts and waits) and lbgate (whose rules refuse the new connections), and a line-echo
service, a load balancer namespace talking to it over a veth pair. A connection open when the
drain lands keeps working; a new one from the load balancer is refused; the drain waits for
the open one and fails at its timeout while it stays.
"""

import subprocess
import sys

import pytest

from tests.support.firewall_view import run_in

PORT = 8080  # inside namespaces of our own: nobody else listens there
HOST = {4: "198.51.100.1", 6: "2001:db8::1"}
LB = {4: "198.51.100.10", 6: "2001:db8::10"}
BYSTANDER = {4: "198.51.100.11", 6: "2001:db8::11"}

ECHO = f"""
import socket, threading
server = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
server.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("::", {PORT}))
server.listen(16)
def echo(conn):
    with conn, conn.makefile("rwb") as stream:
        for line in stream:
            stream.write(line)
            stream.flush()
print("ready", flush=True)
while True:
    threading.Thread(target=echo, args=(server.accept()[0],), daemon=True).start()
"""

# A long request: connects from the LB address, then echoes each stdin line through the
# connection and prints the answer ("cut" when the connection no longer answers).
SESSION = """
import socket, sys
source, target, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
conn = socket.socket(socket.AF_INET6 if ":" in target else socket.AF_INET, socket.SOCK_STREAM)
conn.settimeout(3.0)
conn.bind((source, 0))
conn.connect((target, port))
stream = conn.makefile("rwb")
print("connected", flush=True)
for line in sys.stdin:
    try:
        stream.write(line.encode())
        stream.flush()
        print(stream.readline().decode().strip() or "cut", flush=True)
    except OSError:
        print("cut", flush=True)
"""

CONNECT = """
import socket, sys
source, target, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
conn = socket.socket(socket.AF_INET6 if ":" in target else socket.AF_INET, socket.SOCK_STREAM)
conn.settimeout(1.0)
conn.bind((source, 0))
try:
    conn.connect((target, port))
except OSError as exc:
    print(type(exc).__name__)
    sys.exit(1)
"""


@pytest.fixture
def pair(netns_factory):
    """(host namespace, load balancer namespace), wired by a veth pair, the host echoing."""
    host, lb = netns_factory(), netns_factory()
    subprocess.run(
        ["ip", "-n", host, "link", "add", "lbt0", "type", "veth", "peer", "name", "lbt1", "netns", lb], check=True
    )
    for ns, dev, addrs in ((host, "lbt0", HOST), (lb, "lbt1", {**LB, "4b": BYSTANDER[4], "6b": BYSTANDER[6]})):
        for addr in addrs.values():
            prefix = "64" if ":" in addr else "24"
            extra = ["nodad"] if ":" in addr else []
            subprocess.run(["ip", "-n", ns, "addr", "add", f"{addr}/{prefix}", "dev", dev, *extra], check=True)
        subprocess.run(["ip", "-n", ns, "link", "set", dev, "up"], check=True)
    server = subprocess.Popen(
        ["ip", "netns", "exec", host, sys.executable, "-c", ECHO], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout.readline().strip() == "ready"
        yield host, lb
    finally:
        server.kill()
        server.wait()


class Session:
    """An established connection from the LB address, driven line by line."""

    def __init__(self, lb_ns, version):
        argv = [sys.executable, "-c", SESSION, LB[version], HOST[version], str(PORT)]
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", lb_ns, *argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout.readline().strip() == "connected"

    def ask(self, text):
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)


def connects(lb_ns, source, version):
    return run_in(lb_ns, sys.executable, "-c", CONNECT, source, HOST[version], str(PORT), check=False).returncode == 0


@pytest.mark.parametrize(
    "backend,version,target",
    [("iptables", 4, "DROP"), ("nftables", 4, "DROP"), ("iptables", 6, "REJECT"), ("nftables", 6, "DROP")],
)
def test_drain_keeps_open_connections_refuses_new_ones_and_waits(pair, netns_minion, backend, version, target):
    host, lb = pair
    minion = netns_minion(host, {"lbgate.backend": backend})
    session = Session(lb, version)
    try:
        assert session.ask("before") == "before"
        assert minion.call("lbdrain.connections", LB[version])["connections"] == 1

        ret, retcode = minion.call_full("lbdrain.drain", LB[version], timeout=1, target=target)
        assert ret["ok"] is False and retcode == 1
        assert ret["connections"] == 1 and ret["waited"] >= 1
        assert ret["drained"] is True and ret["blocked"] is False and ret["changed"] is True

        # The request in flight completes; a new connection from the LB is refused.
        assert session.ask("during") == "during"
        assert not connects(lb, LB[version], version)
        assert connects(lb, BYSTANDER[version], version)
        state = minion.call("lbgate.is_blocked", LB[version])
        assert (state["state"], state["blocked"], state["drained"]) == ("drained", False, True)
        assert minion.call_full("lbgate.verify_blocked", LB[version])[1] == 1
        assert minion.call_full("lbdrain.verify_no_connections", LB[version]) == (
            {"lb": LB[version], "connections": 1, "ok": False},
            1,
        )
    finally:
        session.close()

    again, retcode = minion.call_full("lbdrain.drain", LB[version], timeout=10, target=target)
    assert again["ok"] is True and retcode == 0
    assert again["changed"] is False and again["connections"] == 0
    assert minion.call_full("lbdrain.verify_no_connections", LB[version])[1] == 0

    assert minion.call("lbgate.unblock", LB[version])["changed"] is True
    assert connects(lb, LB[version], version)
    assert minion.call("lbgate.is_blocked", LB[version])["state"] == "open"
    assert minion.call("lbgate.verify_blocked", LB[version], expected=False)["ok"] is True


@pytest.mark.parametrize("backend", ["iptables", "nftables"])
def test_block_replaces_a_drain_and_cuts_open_connections(pair, netns_minion, backend):
    host, lb = pair
    minion = netns_minion(host, {"lbgate.backend": backend})
    session = Session(lb, 4)
    try:
        assert minion.call("lbdrain.drain", LB[4], timeout=0)["drained"] is True
        assert session.ask("drained") == "drained"
        assert minion.call("lbgate.block", LB[4])["changed"] is True
        assert minion.call("lbgate.is_blocked", LB[4])["state"] == "blocked"
        assert minion.call("lbgate.status")["rules"] == [
            {"lb": LB[4], "target": "DROP", "active": True, "mode": "block"}
        ]
        assert session.ask("blocked") == "cut"
    finally:
        session.close()
    minion.call("lbgate.unblock", LB[4])
    assert connects(lb, LB[4], 4)


def test_drain_is_idempotent_and_test_mode_changes_nothing(pair, netns_minion):
    host, _lb = pair
    minion = netns_minion(host, {"lbgate.backend": "nftables"})
    preview = minion.call("lbdrain.drain", LB[4], test=True)
    assert preview["changed"] is True
    assert minion.call("lbgate.is_blocked", LB[4])["state"] == "open"
    first = minion.call("lbdrain.drain", LB[4], timeout=0)
    second = minion.call("lbdrain.drain", LB[4], timeout=0)
    assert (first["changed"], second["changed"]) == (True, False)
    listing = run_in(host, "nft", "list", "table", "inet", "scenario_lb").stdout
    assert listing.count("ct state new") == 2, listing
