"""
Take hosts out of an HAProxy backend and put them back, on the load balancer minion itself.

This module runs on the balancer, a minion running HAProxy, and talks to HAProxy's runtime
API (the stats socket with ``level admin``) for a batch of hosts at once: ``drain`` sets each
server to ``drain`` (no new sessions, health checks go on), waits until its sessions (``scur``)
reach 0 and sets it to ``maint``; ``ready`` undoes that; ``verify_up`` checks that HAProxy
reports the servers up again. The firewall way of taking a host out, on the host itself, is
the ``lbgate`` module.

Configuration (minion config only, read from ``__opts__``; pillar and grains are not asked,
so whoever can write them cannot point the module at another socket):

``lbgate.haproxy_socket``
    The runtime API socket (``stats socket ... level admin``), default
    ``/run/haproxy/admin.sock``. Every function uses this socket and refuses any other. The
    option keeps the name it had when these functions lived in ``lbgate``, so existing minion
    configs keep working.

``hosts`` is a list of minion ids, each also its server name, or a mapping ``{minion id:
server}``; returns are keyed by minion id.

Why a client of our own instead of saltext-haproxy's ``haproxyconn`` (the module that left
Salt core in 3008): it needs the ``haproxyctl`` package, whose 0.3.1 sends ``str`` on a socket
and reads with no timeout (saltext-haproxy 1.0.0 loads under Salt 3008.4, but list_servers
and set_state against a live HAProxy 2.6 socket both raised "TypeError: a bytes-like object is
required, not 'str'"); ``wait_state`` spins on the socket without sleeping and has no wait for
sessions (``scur``) at all; ``socket=`` takes any path from the caller; backend and server
names go into the command text unchecked (the runtime API runs ``;``-separated commands, so a
name can smuggle one in); ``get_sessions`` matches backends by prefix. The client below is
stdlib sockets with a timeout on every read, names checked before anything is sent, and the
socket path from the minion config only. The virtual name is not ``haproxy``, which
saltext-haproxy's module takes.
"""

import csv
import re
import socket as _socket
import time

from salt.exceptions import CommandExecutionError, SaltInvocationError

__virtualname__ = "lbhaproxy"

SOCKET_OPTION = "lbgate.haproxy_socket"
DEFAULT_SOCKET = "/run/haproxy/admin.sock"
DEFAULT_DRAIN_TIMEOUT = 30
MAX_DRAIN_TIMEOUT = 3600
# HAProxy's own rule for proxy and server names: letters, digits, '-', '_', '.' and ':'.
_NAME_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
# Seconds one runtime API exchange may take (connect, send, read to EOF).
_IO_TIMEOUT = 5.0
# Seconds between two reads of the sessions while a drain waits.
_POLL = 0.25
_HEALTHY_CHECKS = ("L4OK", "L6OK", "L7OK")
# Statuses ``show stat`` gives a server taken out by ``set server ... state drain|maint``.
_OUT = ("MAINT", "DRAIN")


def __virtual__():
    if hasattr(_socket, "AF_UNIX"):
        return __virtualname__
    return (False, "lbhaproxy: this platform has no Unix sockets (HAProxy's runtime API is one)")


# ---------------------------------------------------------------- validation


def _seconds(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_DRAIN_TIMEOUT:
        raise SaltInvocationError(
            f"lbhaproxy: {name} must be a number of seconds from 0 to {MAX_DRAIN_TIMEOUT}, not {value!r}"
        )
    return value


def _bool(value, name):
    if not isinstance(value, bool):
        raise SaltInvocationError(f"lbhaproxy: {name} must be True or False, not {value!r}")
    return value


def _socket_path(socket=None):
    """The runtime socket path from the minion config; another path is refused."""
    configured = __opts__.get(SOCKET_OPTION, DEFAULT_SOCKET)
    if not isinstance(configured, str) or not configured.startswith("/") or "\0" in configured:
        raise SaltInvocationError(f"lbhaproxy: minion config {SOCKET_OPTION} {configured!r} is not an absolute path")
    if socket is not None and socket != configured:
        raise SaltInvocationError(
            f"lbhaproxy: socket {socket!r} is not the runtime socket of the minion config "
            f"({SOCKET_OPTION}: {configured!r}); set it there instead"
        )
    return configured


def _name(value, what):
    if not isinstance(value, str) or not _NAME_RE.fullmatch(value):
        raise SaltInvocationError(
            f"lbhaproxy: HAProxy {what} name {value!r} is not valid "
            "(1-64 letters, digits, '-', '_', '.', ':'; no spaces or ';')"
        )
    return value


def _hosts(hosts):
    """{minion id: server name} from a list of names (server = minion id) or a mapping."""
    if isinstance(hosts, str):
        hosts = [hosts]
    if isinstance(hosts, (list, tuple)):
        hosts = {name: name for name in hosts}
    if not isinstance(hosts, dict) or not hosts:
        raise SaltInvocationError(
            f"lbhaproxy: hosts must be a non-empty list or mapping of minion id -> server, not {hosts!r}"
        )
    mapping = {}
    for minion, name in hosts.items():
        server = _name(name, "server")
        if not isinstance(minion, str) or not minion or any(c.isspace() for c in minion):
            raise SaltInvocationError(f"lbhaproxy: host {minion!r} is not a minion id")
        mapping[minion] = server
    twice = sorted({s for s in mapping.values() if list(mapping.values()).count(s) > 1})
    if twice:
        # Two hosts claiming one server: one of them would be drained in the other's name.
        raise SaltInvocationError(f"lbhaproxy: HAProxy server(s) {', '.join(twice)} named for two hosts or more")
    return mapping


# ------------------------------------------------------------ runtime API


def _exchange(path, command):
    """Send one command to the runtime API and return its whole answer (HAProxy closes after it)."""
    with _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM) as sock:
        sock.settimeout(_IO_TIMEOUT)
        chunks = []
        try:
            sock.connect(path)
            sock.sendall(command.encode("ascii") + b"\n")
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                chunks.append(data)
        except OSError as exc:
            raise CommandExecutionError(
                f"lbhaproxy: HAProxy runtime API at {path}: {command!r} failed: {exc.strerror or exc}"
            ) from None
    return b"".join(chunks).decode("utf-8", "replace")


def _stat(path):
    """{(proxy, server): row} from ``show stat`` (CSV with a '# ' header)."""
    text = _exchange(path, "show stat")
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("# "):
        raise CommandExecutionError(f"lbhaproxy: HAProxy at {path} answered show stat with {text.strip()[:200]!r}")
    lines[0] = lines[0][2:]
    return {(row["pxname"], row["svname"]): row for row in csv.DictReader(lines)}


def _set(path, backend, server, state):
    answer = _exchange(path, f"set server {backend}/{server} state {state}").strip()
    if answer:
        # Success is an empty answer; anything else is HAProxy's error message.
        raise CommandExecutionError(f"lbhaproxy: HAProxy refused set server {backend}/{server} state {state}: {answer}")


def _backends(stats):
    return sorted({px for px, sv in stats if sv == "BACKEND"})


def _servers_of(stats, backend):
    return sorted(sv for px, sv in stats if px == backend and sv not in ("BACKEND", "FRONTEND"))


def _resolve(backend, hosts, socket):
    """Check every name (before anything is sent), then that the backend and servers exist."""
    backend = _name(backend, "backend")
    mapping = _hosts(hosts)
    path = _socket_path(socket)
    stats = _stat(path)
    if backend not in _backends(stats):
        raise SaltInvocationError(
            f"lbhaproxy: HAProxy has no backend {backend!r}; backends: {', '.join(_backends(stats))}"
        )
    known = _servers_of(stats, backend)
    unknown = sorted({server for server in mapping.values() if server not in known})
    if unknown:
        raise SaltInvocationError(
            f"lbhaproxy: HAProxy backend {backend!r} has no server {', '.join(unknown)}; servers: {', '.join(known)}"
        )
    return backend, mapping, path, stats


def _server_view(stats, backend, server):
    row = stats.get((backend, server)) or {}
    scur = row.get("scur") or "0"
    return {
        "server": server,
        "status": row.get("status"),
        "scur": int(scur) if scur.isdigit() else scur,
        "check_status": row.get("check_status") or None,
    }


def _answer(backend, per_host, **extra):
    ok = all(entry["ok"] for entry in per_host.values())
    __context__["retcode"] = 0 if ok else 1
    return {"backend": backend, "ok": ok, "hosts": per_host, **extra}


# ------------------------------------------------------------------ public


def servers(backend, socket=None):
    """
    The servers of HAProxy backend ``backend`` as ``show stat`` reports them.

    backend
        The backend (proxy) name.
    socket
        Optional; when given it must equal the minion config ``lbgate.haproxy_socket``
        (default ``/run/haproxy/admin.sock``), which is the only socket used.

    Returns ``{"backend", "servers": {name: {"server", "status", "scur",
    "check_status"}}}``. A query: it never sets a retcode.

    CLI Example:

    .. code-block:: bash

        salt lb lbhaproxy.servers web
    """
    backend = _name(backend, "backend")
    path = _socket_path(socket)
    stats = _stat(path)
    if (backend, "BACKEND") not in stats:
        raise SaltInvocationError(
            f"lbhaproxy: HAProxy has no backend {backend!r}; backends: {', '.join(_backends(stats))}"
        )
    return {"backend": backend, "servers": {sv: _server_view(stats, backend, sv) for sv in _servers_of(stats, backend)}}


def drain(backend, hosts, timeout=DEFAULT_DRAIN_TIMEOUT, socket=None, test=False):
    """
    Take ``hosts`` out of HAProxy backend ``backend`` gracefully: set each server to
    ``drain`` (no new sessions, health checks go on), wait until its current sessions
    (``scur``) reach 0, then set it to ``maint``. At the timeout, servers with sessions
    left stay in ``drain`` and fail. A server already in ``maint`` stays there.

    backend
        The backend name (letters, digits, ``-_.:``).
    hosts
        The minion ids, each also its server name, or a mapping ``{minion id: server}``.
    timeout
        Seconds to wait for the sessions (0 to 3600, default 30).
    socket
        Optional; must equal the minion config ``lbgate.haproxy_socket``.
    test
        ``True``: report what would change, send no command and wait for nothing.

    Every name is checked, and the backend and servers looked up, before any command is
    sent. Returns ``{"backend", "ok", "changed", "waited", "hosts": {minion: {"ok", "changed",
    "reason", "server", "status", "scur", "check_status", "out_of_rotation"}}}``; the
    retcode is 1 when a host is not ok (never with ``test=True``).

    CLI Example:

    .. code-block:: bash

        salt lb lbhaproxy.drain web '["web1", "web2"]' timeout=60
        salt lb lbhaproxy.drain web '{"web1.example.com": "web1"}' test=True
    """
    timeout = _seconds(timeout, "timeout")
    test = _bool(test, "test")
    backend, mapping, path, stats = _resolve(backend, hosts, socket)
    changed = {server for server in mapping.values() if stats[(backend, server)].get("status") != "MAINT"}
    if test:
        per_host = {}
        for minion, server in mapping.items():
            view = _server_view(stats, backend, server)
            reason = (
                f"{server} would be drained, then set to maint (now {view['status']})"
                if server in changed
                else f"{server} is already in maint"
            )
            per_host[minion] = {
                "ok": True,
                "changed": server in changed,
                "reason": reason,
                **view,
                "out_of_rotation": False,
            }
        return _answer(backend, per_host, changed=bool(changed), waited=0.0)
    started = time.monotonic()
    # A server already in maintenance stays there: draining it again would re-enable it.
    todo = sorted(changed)
    for server in todo:
        _set(path, backend, server, "drain")
    deadline = started + timeout
    while True:
        for server in [s for s in todo if _server_view(stats, backend, s)["scur"] == 0]:
            _set(path, backend, server, "maint")
            todo.remove(server)
        if not todo or time.monotonic() >= deadline:
            break
        time.sleep(min(_POLL, max(0.0, deadline - time.monotonic())))
        stats = _stat(path)
    stats = _stat(path)
    waited = round(time.monotonic() - started, 3)
    per_host = {}
    for minion, server in mapping.items():
        view = _server_view(stats, backend, server)
        ok = view["status"] == "MAINT"
        reason = (
            f"{server} in maint after {waited} s"
            if ok
            else f"{server} still has {view['scur']} session(s) after {waited} s; left in {view['status']}"
        )
        per_host[minion] = {"ok": ok, "changed": server in changed, "reason": reason, **view, "out_of_rotation": True}
    return _answer(backend, per_host, changed=bool(changed), waited=waited)


def ready(backend, hosts, socket=None, test=False):
    """
    Return ``hosts`` to HAProxy backend ``backend``: set each server to ``ready``. It
    takes traffic again once its health checks pass (see ``verify_up``).

    backend
        The backend name.
    hosts
        The minion ids, each also its server name, or a mapping ``{minion id: server}``.
    socket
        Optional; must equal the minion config ``lbgate.haproxy_socket``.
    test
        ``True``: report what would change and send no command.

    A host ``changed`` when its server was in ``maint`` or ``drain``. Returns
    ``{"backend", "ok", "changed", "hosts": {minion: {"ok", "changed", "reason", "server",
    "status", "scur", "check_status", "out_of_rotation"}}}``.

    CLI Example:

    .. code-block:: bash

        salt lb lbhaproxy.ready web '["web1"]'
        salt lb lbhaproxy.ready web '["web1"]' test=True
    """
    test = _bool(test, "test")
    backend, mapping, path, stats = _resolve(backend, hosts, socket)
    changed = {server for server in mapping.values() if stats[(backend, server)].get("status") in _OUT}
    if not test:
        for server in sorted(set(mapping.values())):
            _set(path, backend, server, "ready")
        stats = _stat(path)
    per_host = {}
    for minion, server in mapping.items():
        view = _server_view(stats, backend, server)
        if test:
            verb = "would be set to ready" if server in changed else "is not in maint or drain"
            reason = f"{server} {verb} (now {view['status']})"
        else:
            reason = f"{server} set to ready; now {view['status']}"
        per_host[minion] = {
            "ok": True,
            "changed": server in changed,
            "reason": reason,
            **view,
            "out_of_rotation": False,
        }
    return _answer(backend, per_host, changed=bool(changed))


def verify_up(backend, hosts, socket=None):
    """
    Verify that HAProxy reports ``hosts`` as up in backend ``backend``: status ``UP`` and
    the last health check passing (``L4OK``/``L6OK``/``L7OK``), read from ``show stat``.

    Returns ``{"backend", "ok", "hosts": {minion: {"ok", "reason", "server", "status",
    "scur", "check_status"}}}`` and sets the retcode to 1 when a host is not up.

    CLI Example:

    .. code-block:: bash

        salt lb lbhaproxy.verify_up web '["web1", "web2"]'
    """
    backend, mapping, _path, stats = _resolve(backend, hosts, socket)
    per_host = {}
    for minion, server in mapping.items():
        view = _server_view(stats, backend, server)
        check = view["check_status"]
        ok = view["status"] == "UP" and (check is None or check in _HEALTHY_CHECKS)
        reason = f"{server} is {view['status']} (last check {check})"
        per_host[minion] = {"ok": ok, "reason": reason, **view}
    return _answer(backend, per_host)
