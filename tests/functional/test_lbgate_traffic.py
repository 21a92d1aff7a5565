"""
Real traffic: a host namespace running lbgate with a TCP listener, and a load
balancer namespace connecting to it over a veth pair. Blocking the load balancer's
address must stop its connections, and only its connections.
"""

import subprocess
import sys

import pytest

from tests.support.firewall_view import run_in

PORT = 8080  # inside namespaces of our own: nobody else listens there
HOST = {4: "198.51.100.1", 6: "2001:db8::1"}
LB = {4: "198.51.100.10", 6: "2001:db8::10"}
BYSTANDER = {4: "198.51.100.11", 6: "2001:db8::11"}

LISTENER = f"""
import socket
server = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
server.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("::", {PORT}))
server.listen(16)
print("ready", flush=True)
while True:
    server.accept()[0].close()
"""

CONNECT = """
import socket, sys
source, target, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
family = socket.AF_INET6 if ":" in target else socket.AF_INET
conn = socket.socket(family, socket.SOCK_STREAM)
conn.settimeout(1.0)
conn.bind((source, 0))
try:
    conn.connect((target, port))
except OSError as exc:
    print(type(exc).__name__)
    sys.exit(1)
"""


@pytest.fixture
def hosts(netns_factory):
    """(host namespace, load balancer namespace), wired by a veth pair and listening."""
    host, lb = netns_factory(), netns_factory()
    subprocess.run(
        ["ip", "-n", host, "link", "add", "lbt0", "type", "veth", "peer", "name", "lbt1", "netns", lb], check=True
    )
    for ns, dev, addrs in ((host, "lbt0", HOST), (lb, "lbt1", {**LB, "4b": BYSTANDER[4], "6b": BYSTANDER[6]})):
        for addr in addrs.values():
            if ":" in addr:
                subprocess.run(["ip", "-n", ns, "addr", "add", f"{addr}/64", "dev", dev, "nodad"], check=True)
            else:
                subprocess.run(["ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", dev], check=True)
        subprocess.run(["ip", "-n", ns, "link", "set", dev, "up"], check=True)
    listener = subprocess.Popen(
        ["ip", "netns", "exec", host, sys.executable, "-c", LISTENER],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert listener.stdout.readline().strip() == "ready"
        yield host, lb
    finally:
        listener.kill()
        listener.wait()


def connects(lb_ns, source, version):
    return run_in(lb_ns, sys.executable, "-c", CONNECT, source, HOST[version], str(PORT), check=False).returncode == 0


@pytest.mark.parametrize(
    "backend,version,target",
    [
        ("iptables", 4, "DROP"),
        ("iptables", 6, "DROP"),
        ("nftables", 4, "DROP"),
        ("nftables", 6, "DROP"),
        ("iptables", 4, "REJECT"),
        ("nftables", 6, "REJECT"),
    ],
)
def test_block_stops_only_the_load_balancer(hosts, netns_minion, backend, version, target):
    host, lb = hosts
    minion = netns_minion(host, {"lbgate.backend": backend})
    assert connects(lb, LB[version], version)

    minion.call("lbgate.block", LB[version], target=target)
    assert not connects(lb, LB[version], version)
    assert connects(lb, BYSTANDER[version], version)
    assert minion.call("lbgate.verify_blocked", LB[version])["ok"] is True

    minion.call("lbgate.unblock", LB[version])
    assert connects(lb, LB[version], version)
    assert minion.call("lbgate.verify_blocked", LB[version], expected=False)["ok"] is True
