"""The sandbox network: a private switch namespace with a bridge, and one namespace per node.

Every veth pair is created inside the switch namespace with its peer moved straight into the
node's namespace, so the real machine's root namespace never holds a bridge or a veth. There
is no default route and no NAT: the nodes reach each other and nothing else.
"""

import hashlib
import os
import subprocess
import sys

from .errors import SandboxError

NETNS_DIR = "/run/netns"
PREFIX_LEN = 24


def tag_of(name):
    """Six hex characters that keep one sandbox's namespace names apart from another's."""
    return hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:6]


def ns_name(tag, kind):
    """Namespace name for a node kind: 'sw', 'lb', 'ma' or 'h<index>' (at most 12 characters)."""
    return f"sb{tag}-{kind}"


def ns_path(name):
    return os.path.join(NETNS_DIR, name)


def existing(tag):
    """Names of the namespaces of sandbox ``tag`` that exist now."""
    try:
        entries = os.listdir(NETNS_DIR)
    except FileNotFoundError:
        return []
    return sorted(e for e in entries if e.startswith(f"sb{tag}-"))


def inodes(names):
    """The nsfs inode of each existing namespace: how /proc/PID/ns/net names it."""
    found = []
    for name in names:
        try:
            found.append(os.stat(ns_path(name)).st_ino)
        except OSError:
            pass
    return found


def _ip_batch(lines, netns=None):
    argv = ["ip"] + (["-n", netns] if netns else []) + ["-batch", "-"]
    proc = subprocess.run(argv, input="\n".join(lines) + "\n", capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SandboxError(f"{' '.join(argv)} failed: {proc.stderr.strip()}")


def create(tag, nodes, on_created=None):
    """Create the switch and one namespace per node.

    ``nodes`` is a list of (kind, ipv4, ipv6). ``on_created(names)`` is called as soon as the
    namespaces exist, so a failure later can still remove them.
    """
    switch = ns_name(tag, "sw")
    names = [switch] + [ns_name(tag, kind) for kind, _, _ in nodes]
    clash = [n for n in names if os.path.exists(ns_path(n))]
    if clash:
        raise SandboxError(f"network namespaces already exist: {clash} (another sandbox with the same tag?)")
    if on_created:
        on_created(names)
    _ip_batch([f"netns add {n}" for n in names])

    switch_lines = ["link set lo up", "link add br0 type bridge forward_delay 0 stp_state 0", "link set br0 up"]
    for kind, _, _ in nodes:
        switch_lines += _port_lines(tag, kind)
    _ip_batch(switch_lines, switch)

    for kind, address, address6 in nodes:
        _ip_batch(_node_lines(address, address6), ns_name(tag, kind))
    return names


def add_node(tag, kind, address, address6, on_created=None):
    """One more node on an existing sandbox's switch (e.g. the webhook receiver's, made on demand).

    ``on_created(name)`` is called before the namespace exists, so `down` knows to remove it.
    """
    name = ns_name(tag, kind)
    if os.path.exists(ns_path(name)):
        raise SandboxError(f"network namespace {name} already exists")
    if on_created:
        on_created(name)
    _ip_batch([f"netns add {name}"])
    _ip_batch(_port_lines(tag, kind), ns_name(tag, "sw"))
    _ip_batch(_node_lines(address, address6), name)
    return name


def _port_lines(tag, kind):
    """The switch side: a veth whose peer goes straight into the node as eth0, on the bridge."""
    port = f"v{kind}"
    return [
        f"link add {port} type veth peer name eth0 netns {ns_name(tag, kind)}",
        f"link set {port} master br0",
        f"link set {port} up",
    ]


def _node_lines(address, address6):
    lines = ["link set lo up", f"addr add {address}/{PREFIX_LEN} dev eth0"]
    if address6:
        # nodad: the address is usable at once instead of after ~1 s of duplicate detection.
        lines.append(f"addr add {address6}/64 dev eth0 nodad")
    lines.append("link set eth0 up")
    return lines


def delete(names):
    """Delete namespaces; missing ones are fine. Returns the names that could not be deleted."""
    failed = []
    for name in names:
        if not os.path.exists(ns_path(name)):
            continue
        proc = subprocess.run(["ip", "netns", "del", name], capture_output=True, text=True, check=False)
        if proc.returncode != 0 and os.path.exists(ns_path(name)):
            failed.append(f"{name}: {proc.stderr.strip()}")
    return failed


# Runs inside the LB namespace under `python -I -S`: connect from the LB address, optionally GET /.
_PROBE = """
import socket, sys
addr, port, src, timeout, get = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), sys.argv[5] == "get"
sock = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
sock.settimeout(timeout)
try:
    sock.bind((src, 0))
    sock.connect((addr, port))
    if get:
        sock.sendall(b"GET / HTTP/1.0\\r\\nHost: " + addr.encode() + b"\\r\\n\\r\\n")
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        sys.stdout.write(data.split(b"\\r\\n\\r\\n", 1)[-1].decode("utf-8", "replace"))
except OSError as exc:
    sys.stderr.write(f"{exc}\\n")
    sys.exit(1)
"""


def connect_from(netns, source, address, port, timeout=1.0, get=False):
    """TCP connect from ``source`` inside ``netns`` to address:port. Returns CompletedProcess."""
    argv = [
        "nsenter",
        f"--net={ns_path(netns)}",
        "--",
        sys.executable,
        "-I",
        "-S",
        "-c",
        _PROBE,
        address,
        str(port),
        source,
        str(timeout),
        "get" if get else "tcp",
    ]
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=timeout + 10)


# Runs inside a namespace under `python -I -S`: one HTTP request; prints the status, then the body.
_HTTP = """
import http.client, sys
host, port, method, path, timeout = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], float(sys.argv[5])
body = sys.stdin.buffer.read() if method == "POST" else None
try:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    conn.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
    answer = conn.getresponse()
    sys.stdout.write(str(answer.status) + "\\n" + answer.read().decode("utf-8", "replace"))
except OSError as exc:
    sys.stderr.write(f"{exc}\\n")
    sys.exit(1)
"""


def http(netns, address, port, path="/", timeout=2.0, method="GET", body=None):
    """(status, body) of one HTTP request from inside ``netns``; (None, error text) when it fails."""
    argv = ["nsenter", f"--net={ns_path(netns)}", "--", sys.executable, "-I", "-S", "-c", _HTTP]
    argv += [address, str(port), method, path, str(timeout)]
    proc = subprocess.run(argv, input=body or "", capture_output=True, text=True, check=False, timeout=timeout + 10)
    if proc.returncode != 0:
        return None, proc.stderr.strip()
    status, _, text = proc.stdout.partition("\n")
    return int(status), text
