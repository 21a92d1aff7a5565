"""
Count a load balancer's established connections to this minion, and drain it: refuse its
new connections, then wait until the established ones are gone.

Taking a host out of rotation with ``lbgate.block`` cuts every request in flight. A drain
does not: ``lbgate.refuse_new`` refuses only the balancer's *new* connections (its next
request or health check fails, so it takes the host out of its pool) and this module waits
for the connections already open to finish. The firewall rules are ``lbgate``'s (its
configuration applies: backend, chain, table, target); this module reads connections only,
and calls ``lbgate`` through ``__salt__`` for the rules.

The connections counted are the established TCP connections opened from the balancer's
address or network: those conntrack tracks (``conntrack -L``, forwarded ones included) and
those accepted by a listening socket of this host (``ss``), which conntrack misses while it
has seen no packet of them.

``connections`` is a query and never sets a retcode; ``verify_no_connections`` and
``drain`` set ``__context__["retcode"]`` to 1 when not ok, 0 when ok.

``lb`` is always returned in canonical form: ``198.51.100.10`` for one address,
``198.51.100.0/24`` for a network.
"""

import ipaddress
import shlex
import time

import salt.utils.path
from salt.exceptions import CommandExecutionError, SaltInvocationError

__virtualname__ = "lbdrain"

DEFAULT_DRAIN_TIMEOUT = 30
MAX_DRAIN_TIMEOUT = 3600
# Seconds between two counts of the remaining connections while a drain waits.
_DRAIN_POLL = 0.25
# The lbgate function that puts the drain's firewall rules in place.
_REFUSE_NEW = "lbgate.refuse_new"


def __virtual__():
    if salt.utils.path.which("conntrack"):
        return __virtualname__
    return (False, "lbdrain: conntrack is not installed (it counts the load balancer's connections)")


# ---------------------------------------------------------------- validation


def _parse_lb(lb):
    """Return the ip_network for lb, or raise SaltInvocationError naming it.

    The same rules as lbgate's (a minion module cannot import another): an address or a
    network in strict CIDR form, as a string, without scope id, never the whole world.
    """
    if isinstance(lb, int) and not isinstance(lb, bool):
        # YAML reads an uncompressed IPv6 address such as 2001:0:0:0:0:0:0:1 as a
        # base-60 integer before it gets here.
        raise SaltInvocationError(
            f"lbdrain: {lb!r} is not an IP address or network (a number: write IPv6 "
            "addresses compressed, e.g. 2001:db8::1, or quote them)"
        )
    if not isinstance(lb, str):
        raise SaltInvocationError(f"lbdrain: {lb!r} is not an IP address or network (not a string)")
    if "%" in lb:
        raise SaltInvocationError(f"lbdrain: {lb!r} is not an IP address or network (scope ids are refused)")
    try:
        net = ipaddress.ip_network(lb, strict=True)
    except ValueError as exc:
        raise SaltInvocationError(f"lbdrain: {lb!r} is not an IP address or network: {exc}") from None
    if net.prefixlen == 0:
        raise SaltInvocationError(f"lbdrain: refusing {lb!r}: a load balancer is not every address")
    return net


def _canonical(net):
    if net.prefixlen == net.max_prefixlen:
        return str(net.network_address)
    return str(net)


def _seconds(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_DRAIN_TIMEOUT:
        raise SaltInvocationError(
            f"lbdrain: {name} must be a number of seconds from 0 to {MAX_DRAIN_TIMEOUT}, not {value!r}"
        )
    return value


def _bool(value, name):
    if not isinstance(value, bool):
        raise SaltInvocationError(f"lbdrain: {name} must be True or False, not {value!r}")
    return value


# ------------------------------------------------------------------ counting


def _run(argv):
    if not salt.utils.path.which(argv[0]):
        raise CommandExecutionError(f"lbdrain: {argv[0]} is not installed")
    ret = __salt__["cmd.run_all"](argv, python_shell=False, ignore_retcode=True)
    if ret["retcode"] != 0:
        raise CommandExecutionError(
            f"lbdrain: {shlex.join(argv)} failed (exit {ret['retcode']}): "
            f"{(ret.get('stderr') or ret.get('stdout') or '').strip()}"
        )
    return ret.get("stdout") or ""


def _endpoint(text):
    """(ip_address, port) from ss's "198.51.100.1:80" / "[2001:db8::1]:80", or None."""
    host, _, port = text.rpartition(":")
    try:
        address = ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return (address, port)


def _conntrack_flows(net):
    """Established TCP flows conntrack tracks from net: {(src, sport, dst, dport)}."""
    family = "ipv4" if net.version == 4 else "ipv6"
    out = _run(["conntrack", "-L", "-f", family, "-p", "tcp", "--state", "ESTABLISHED"])
    flows = set()
    for line in out.splitlines():
        # The first src/dst/sport/dport are the original direction: who opened the connection.
        fields = {}
        for token in line.split():
            key, sep, value = token.partition("=")
            if sep and key in ("src", "dst", "sport", "dport") and key not in fields:
                fields[key] = value
        try:
            src, dst = ipaddress.ip_address(fields["src"]), ipaddress.ip_address(fields["dst"])
        except (KeyError, ValueError):
            continue
        if src in net:
            flows.add((src, fields.get("sport"), dst, fields.get("dport")))
    return flows


def _socket_flows(net):
    """Established TCP connections from net accepted by a listening socket of this host.

    conntrack sees a connection only from its first packet after tracking began (which a
    drain's rules start), so an idle connection opened before would be missed without this.
    """
    if not salt.utils.path.which("ss"):
        return set()
    listening, established = set(), []
    for line in _run(["ss", "-H", "-t", "-a", "-n"]).splitlines():
        fields = line.split()
        if len(fields) < 5:
            continue
        if fields[0] == "LISTEN":
            # "*:80", "0.0.0.0:80", "[::]:80": only the port matters.
            listening.add(fields[3].rpartition(":")[2])
            continue
        local, peer = _endpoint(fields[3]), _endpoint(fields[4])
        if fields[0] == "ESTAB" and local is not None and peer is not None:
            established.append((peer, local))
    return {
        (peer[0], peer[1], local[0], local[1])
        for peer, local in established
        if peer[0] in net and local[1] in listening
    }


def _count(net):
    return len(_conntrack_flows(net) | _socket_flows(net))


# -------------------------------------------------------------------- public


def connections(lb):
    """
    Count the established TCP connections opened from ``lb``: those conntrack tracks
    (forwarded ones included) and those accepted by a listening socket of this host
    (``ss``), which conntrack misses while it has seen no packet of them.

    lb
        An IPv4/IPv6 address or network (CIDR), as for ``lbgate.block``.

    Returns ``{"lb", "connections"}``. A query: it never sets a retcode.

    CLI Example:

    .. code-block:: bash

        salt '*' lbdrain.connections 198.51.100.10
    """
    net = _parse_lb(lb)
    return {"lb": _canonical(net), "connections": _count(net)}


def verify_no_connections(lb):
    """
    Verify that no established TCP connection from ``lb`` remains.

    Returns ``{"lb", "connections", "ok"}`` and sets ``__context__["retcode"]`` to 1
    when some remain, 0 when none do.

    CLI Example:

    .. code-block:: bash

        salt '*' lbdrain.verify_no_connections 198.51.100.10
    """
    ret = connections(lb)
    ret["ok"] = ret["connections"] == 0
    __context__["retcode"] = 0 if ret["ok"] else 1
    return ret


def drain(lb, timeout=DEFAULT_DRAIN_TIMEOUT, target=None, chain=None, test=False):
    """
    Drain the load balancer ``lb``: refuse its *new* connections (``lbgate.refuse_new``),
    then wait until no established TCP connection from it remains, for at most ``timeout``
    seconds.

    A request in flight when the drain lands completes; the balancer's next connection
    (a request or a health check) is refused, so it takes the host out of its pool.
    Idempotent: draining a drained address changes nothing; draining a blocked address
    replaces the block with the drain. ``lbgate.unblock`` removes either.

    lb
        An IPv4/IPv6 address or network (CIDR), as for ``lbgate.block``.
    timeout
        Seconds to wait for the connections to close (0 to 3600, default 30).
    target
        ``DROP`` or ``REJECT`` for the refused connections; default the ``lbgate.target``
        config (``DROP``).
    chain
        lbgate's chain; defaults to the ``lbgate.chain`` config (``SCENARIO-LB``).
    test
        ``True``: report what would change, change nothing and wait for nothing.

    Returns ``{"lb", "blocked": False, "drained": True, "changed", "backend", "chain",
    "target", "connections", "waited", "ok", "out_of_rotation", "comment"}``: the
    return of ``lbgate.refuse_new``, plus the ``connections`` left when the wait ended
    and the seconds ``waited``. When some remain at the timeout, ``ok`` is False and the
    retcode 1; the host stays drained.

    CLI Example:

    .. code-block:: bash

        salt '*' lbdrain.drain 198.51.100.10
        salt '*' lbdrain.drain 198.51.100.10 timeout=120 target=REJECT
    """
    net = _parse_lb(lb)
    timeout = _seconds(timeout, "timeout")
    test = _bool(test, "test")
    if _REFUSE_NEW not in __salt__:
        raise CommandExecutionError(
            f"lbdrain: {_REFUSE_NEW} is not available (lbgate puts the drain's firewall rules in place: "
            "it needs iptables or nft, and saltutil.sync_modules)"
        )
    # lbgate checks target and chain before it touches the ruleset.
    ret = __salt__[_REFUSE_NEW](_canonical(net), target=target, chain=chain, test=test)
    started = time.monotonic()
    left = _count(net)
    if not test:
        deadline = started + timeout
        while left and time.monotonic() < deadline:
            time.sleep(min(_DRAIN_POLL, max(0.0, deadline - time.monotonic())))
            left = _count(net)
    waited = round(time.monotonic() - started, 3)
    ret.update(connections=left, waited=waited, ok=left == 0, out_of_rotation=not test)
    if left and not test:
        ret["comment"] += f"; {left} connection(s) still open after {waited} s"
    elif not test:
        ret["comment"] += f"; no connection left after {waited} s"
    __context__["retcode"] = 0 if ret["ok"] or test else 1
    return ret
