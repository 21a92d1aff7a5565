"""
Block and unblock a load balancer's source address on this minion.

While a host is being deployed, the load balancer must not reach it: its health
checks fail and it takes the host out of the pool. This module drops (or rejects)
the load balancer's traffic in a chain or table of its own, and reads the state of
the block back from the live ruleset, never from memory.

Configuration (minion config, grains or pillar, read through ``config.get``):

``lbgate.backend``
    ``auto`` (default: iptables when the ``iptables`` command exists, else nft),
    ``iptables`` (whatever flavour ``iptables -V`` reports: nf_tables or legacy;
    IPv6 goes through ``ip6tables``) or ``nftables`` (native ``nft``).
``lbgate.chain``
    The module's own chain, default ``SCENARIO-LB``. With iptables it lives in the
    filter table and INPUT jumps to it once; with nftables it is a base chain on the
    input hook inside the module's own table.
``lbgate.table``
    nftables only: the module's own table in the ``inet`` family, default
    ``scenario_lb``.
``lbgate.target``
    ``DROP`` (default) or ``REJECT``.

Two ways to take a host out of rotation on the host itself: ``block`` drops every packet
from the load balancer, established connections included; ``refuse_new`` refuses only its
new connections (conntrack state NEW), so no request in flight is cut. The ``lbdrain``
module counts the established connections and waits for them to close (``lbdrain.drain``
is ``refuse_new`` plus that wait). When the balancer is a minion running HAProxy, the
``lbhaproxy`` module does the same on the balancer itself (drain, wait for ``scur`` 0,
maint; ready).

Queries (``is_blocked``, ``status``) never set a retcode; ``verify_blocked`` sets
``__context__["retcode"]`` to 1 when not ok, 0 when ok. Each function's docstring gives
its return.

Each call reads and writes only the configured backend: switching
``lbgate.backend`` while addresses are blocked leaves those rules where they are
(unblock them with the old backend first).

``lb`` is always returned in canonical form: ``198.51.100.10`` for one address,
``198.51.100.0/24`` for a network.
"""

import ipaddress
import json
import logging
import re
import shlex

import salt.utils.path
from salt.exceptions import CommandExecutionError, SaltInvocationError

log = logging.getLogger(__name__)

__virtualname__ = "lbgate"

DEFAULT_BACKEND = "auto"
DEFAULT_CHAIN = "SCENARIO-LB"
DEFAULT_TABLE = "scenario_lb"
DEFAULT_TARGET = "DROP"
BACKENDS = ("auto", "iptables", "nftables")
TARGETS = ("DROP", "REJECT")

# iptables caps chain names at 28 characters; a leading "-" would read as an option.
_CHAIN_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,27}")
_TABLE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}")
# Built-in chains and targets: the module's chain must be its own, never one that
# holds other people's rules (unblock deletes from it).
_RESERVED_CHAINS = {
    "INPUT", "OUTPUT", "FORWARD", "PREROUTING", "POSTROUTING",
    "ACCEPT", "DROP", "REJECT", "RETURN", "QUEUE", "NFQUEUE", "LOG",
}  # fmt: skip
# Seconds iptables waits for the xtables lock held by another process.
_XTABLES_WAIT = "5"


def __virtual__():
    if salt.utils.path.which("iptables") or salt.utils.path.which("nft"):
        return __virtualname__
    return (False, "lbgate: neither iptables nor nft is installed")


# ---------------------------------------------------------------- validation


def _parse_lb(lb):
    """Return the ip_network for lb, or raise SaltInvocationError naming it."""
    if isinstance(lb, int) and not isinstance(lb, bool):
        # YAML reads an uncompressed IPv6 address such as 2001:0:0:0:0:0:0:1 as a
        # base-60 integer before it gets here.
        raise SaltInvocationError(
            f"lbgate: {lb!r} is not an IP address or network (a number: write IPv6 "
            "addresses compressed, e.g. 2001:db8::1, or quote them)"
        )
    if not isinstance(lb, str):
        raise SaltInvocationError(f"lbgate: {lb!r} is not an IP address or network (not a string)")
    # ipaddress accepts "fe80::1%<anything>" as a scope id; no firewall rule wants one.
    if "%" in lb:
        raise SaltInvocationError(f"lbgate: {lb!r} is not an IP address or network (scope ids are refused)")
    try:
        net = ipaddress.ip_network(lb, strict=True)
    except ValueError as exc:
        raise SaltInvocationError(f"lbgate: {lb!r} is not an IP address or network: {exc}") from None
    if net.prefixlen == 0:
        raise SaltInvocationError(f"lbgate: refusing {lb!r}: it would block every address")
    return net


def _canonical(net):
    if net.prefixlen == net.max_prefixlen:
        return str(net.network_address)
    return str(net)


def _config(key, default):
    return __salt__["config.get"](f"lbgate.{key}", default)


def _chain(chain):
    name = chain if chain is not None else _config("chain", DEFAULT_CHAIN)
    if not isinstance(name, str) or not _CHAIN_RE.fullmatch(name):
        raise SaltInvocationError(f"lbgate: chain {name!r} is not a valid chain name")
    if name.upper() in _RESERVED_CHAINS:
        raise SaltInvocationError(f"lbgate: chain {name!r} is built in; the module needs a chain of its own")
    return name


def _table():
    name = _config("table", DEFAULT_TABLE)
    if not isinstance(name, str) or not _TABLE_RE.fullmatch(name):
        raise SaltInvocationError(f"lbgate: lbgate.table {name!r} is not a valid nft table name")
    return name


def _target(target):
    value = target if target is not None else _config("target", DEFAULT_TARGET)
    if not isinstance(value, str) or value.upper() not in TARGETS:
        raise SaltInvocationError(f"lbgate: target {value!r} is not one of {', '.join(TARGETS)}")
    return value.upper()


def _backend():
    wanted = _config("backend", DEFAULT_BACKEND)
    if not isinstance(wanted, str) or wanted.lower() not in BACKENDS:
        raise SaltInvocationError(f"lbgate: lbgate.backend {wanted!r} is not one of {', '.join(BACKENDS)}")
    wanted = wanted.lower()
    if wanted == "auto":
        return "iptables" if salt.utils.path.which("iptables") else "nftables"
    return wanted


def _bool(value, name):
    if not isinstance(value, bool):
        raise SaltInvocationError(f"lbgate: {name} must be True or False, not {value!r}")
    return value


# ------------------------------------------------------------------ commands


def _run(argv, stdin=None):
    if not salt.utils.path.which(argv[0]):
        raise CommandExecutionError(f"lbgate: {argv[0]} is not installed")
    kwargs = {"python_shell": False, "ignore_retcode": True}
    if stdin is not None:
        kwargs["stdin"] = stdin
    ret = __salt__["cmd.run_all"](argv, **kwargs)
    if ret["retcode"] != 0:
        raise CommandExecutionError(
            f"lbgate: {shlex.join(argv)} failed (exit {ret['retcode']}): "
            f"{(ret.get('stderr') or ret.get('stdout') or '').strip()}"
        )
    return ret.get("stdout") or ""


# What a rule of ours does: "block" drops everything from the source; a drain is two rules
# that refuse only new connections (conntrack state NEW): "drain-tcp" for TCP SYNs,
# "drain-other" for every other protocol. Mid-stream TCP packets stay allowed, so a
# connection that conntrack first sees after the drain (picked up mid-stream, which
# conntrack labels NEW) is not cut.
BLOCK = "block"
DRAIN_TCP = "drain-tcp"
DRAIN_OTHER = "drain-other"
DRAIN_KINDS = (DRAIN_TCP, DRAIN_OTHER)


class _Rule:
    """One rule of ours: the source it matches, its target, its kind and how to delete it."""

    def __init__(self, source, target, delete, kind=BLOCK):
        self.source = source
        self.target = target
        self.delete = delete
        self.kind = kind


class _Ruleset:
    def __init__(self, chain_exists=False, hooked=False, rules=None, table_exists=False):
        self.chain_exists = chain_exists
        self.hooked = hooked
        self.rules = rules or []
        self.table_exists = table_exists

    def matching(self, net):
        return [rule for rule in self.rules if rule.source == net]

    def state(self, net):
        """ "blocked", "drained" or "open": what the live ruleset does to traffic from net."""
        kinds = {rule.kind for rule in self.matching(net)} if self.hooked else set()
        if BLOCK in kinds:
            return "blocked"
        if set(DRAIN_KINDS) <= kinds:
            return "drained"
        return "open"


def _plan_rules(mine, wanted):
    """(rules to add, rules to delete): `wanted` is [(kind, target, spec)], `mine` the live rules."""
    keep, add = [], []
    for kind, target, spec in wanted:
        found = next((r for r in mine if r.kind == kind and r.target == target and r not in keep), None)
        if found is None:
            add.append(spec)
        else:
            keep.append(found)
    return add, [rule.delete for rule in mine if rule not in keep]


# ------------------------------------------------------------------ iptables


def _ipt(version, *args):
    return ["iptables" if version == 4 else "ip6tables", "-w", _XTABLES_WAIT, *args]


def _ipt_source(tokens):
    """The network after -s in an iptables -S rule, or None when absent or negated."""
    if "-s" not in tokens:
        return None
    index = tokens.index("-s")
    if index and tokens[index - 1] == "!":
        return None
    try:
        return ipaddress.ip_network(tokens[index + 1])
    except (IndexError, ValueError):
        return None


def _ipt_kind(tokens):
    if "--ctstate" not in tokens:
        return BLOCK
    protocol = tokens.index("-p") if "-p" in tokens else None
    return DRAIN_OTHER if protocol and tokens[protocol - 1] == "!" else DRAIN_TCP


def _ipt_specs(net, chain, target, drain):
    """The rules a block (one) or a drain (two) of net needs, as (kind, target, argv)."""
    source = ["-A", chain, "-s", str(net)]
    if not drain:
        return [(BLOCK, target, _ipt(net.version, *source, "-j", target))]
    new = ["-m", "conntrack", "--ctstate", "NEW", "-j", target]
    return [
        (DRAIN_TCP, target, _ipt(net.version, *source, "-p", "tcp", "--syn", *new)),
        (DRAIN_OTHER, target, _ipt(net.version, *source, "!", "-p", "tcp", *new)),
    ]


def _ipt_read(version, chain):
    # One listing of the whole filter table: it cannot fail for a missing chain, so
    # any failure is a real one (permissions, lock, missing kernel support).
    ruleset = _Ruleset()
    for line in _run(_ipt(version, "-S")).splitlines():
        tokens = shlex.split(line)
        if tokens[:2] == ["-N", chain]:
            ruleset.chain_exists = True
        elif tokens == ["-A", "INPUT", "-j", chain]:
            ruleset.hooked = True
        elif tokens[:2] == ["-A", chain]:
            target = tokens[tokens.index("-j") + 1] if "-j" in tokens[:-1] else None
            delete = _ipt(version, "-D", *tokens[1:])
            ruleset.rules.append(_Rule(_ipt_source(tokens), target, delete, _ipt_kind(tokens)))
    return ruleset


def _ipt_block_plan(net, chain, target, drain=False):
    ruleset = _ipt_read(net.version, chain)
    add, delete = _plan_rules(ruleset.matching(net), _ipt_specs(net, chain, target, drain))
    plan = []
    if not ruleset.chain_exists:
        plan.append(_ipt(net.version, "-N", chain))
    # Add before delete: swapping the target (or block for drain) never leaves a gap.
    plan.extend(add)
    plan.extend(delete)
    if not ruleset.hooked:
        # Hooked last, so the chain is complete by the time traffic reaches it.
        plan.append(_ipt(net.version, "-I", "INPUT", "1", "-j", chain))
    return plan


# ------------------------------------------------------------------ nftables


def _nft_match_source(expr):
    """The network an nft rule matches on saddr, or None."""
    for item in expr:
        match = item.get("match") if isinstance(item, dict) else None
        if not match or match.get("op") not in ("==", "in") or not isinstance(match.get("left"), dict):
            continue
        payload = match["left"].get("payload") or {}
        if payload.get("field") != "saddr" or payload.get("protocol") not in ("ip", "ip6"):
            continue
        right = match.get("right")
        try:
            if isinstance(right, str):
                return ipaddress.ip_network(right)
            if isinstance(right, dict) and "prefix" in right:
                return ipaddress.ip_network(f"{right['prefix']['addr']}/{right['prefix']['len']}")
        except (KeyError, ValueError):
            return None
    return None


def _nft_kind(expr):
    drain = other = False
    for item in expr:
        match = item.get("match") if isinstance(item, dict) else None
        left = match.get("left") if match else None
        if not isinstance(left, dict):
            continue
        if (left.get("ct") or {}).get("key") == "state":
            drain = True
        if (left.get("meta") or {}).get("key") == "l4proto" and match.get("op") == "!=":
            other = True
    if not drain:
        return BLOCK
    return DRAIN_OTHER if other else DRAIN_TCP


def _nft_target(expr):
    for item in expr:
        if isinstance(item, dict) and "drop" in item:
            return "DROP"
        if isinstance(item, dict) and "reject" in item:
            return "REJECT"
    return None


def _nft_read(table, chain):
    data = json.loads(_run(["nft", "-j", "list", "ruleset", "inet"]) or '{"nftables": []}')
    ruleset = _Ruleset()
    for item in data.get("nftables", []):
        if "table" in item and item["table"].get("name") == table:
            ruleset.table_exists = True
        elif "chain" in item and item["chain"].get("table") == table and item["chain"].get("name") == chain:
            ruleset.chain_exists = True
            ruleset.hooked = item["chain"].get("hook") == "input"
        elif "rule" in item and item["rule"].get("table") == table and item["rule"].get("chain") == chain:
            rule = item["rule"]
            expr = rule.get("expr", [])
            delete = {"delete": {"rule": {"family": "inet", "table": table, "chain": chain, "handle": rule["handle"]}}}
            ruleset.rules.append(_Rule(_nft_match_source(expr), _nft_target(expr), delete, _nft_kind(expr)))
    return ruleset


def _nft_rule(net, table, chain, target, kind=BLOCK):
    right = str(net.network_address)
    if net.prefixlen != net.max_prefixlen:
        right = {"prefix": {"addr": right, "len": net.prefixlen}}
    match = {
        "match": {
            "op": "==",
            "left": {"payload": {"protocol": "ip" if net.version == 4 else "ip6", "field": "saddr"}},
            "right": right,
        }
    }
    verdict = {"drop": None} if target == "DROP" else {"reject": None}
    expr = [match]
    if kind == DRAIN_TCP:
        # tcp flags & (fin|syn|rst|ack) == syn: a connection's first packet only.
        flags = {"&": [{"payload": {"protocol": "tcp", "field": "flags"}}, ["fin", "syn", "rst", "ack"]]}
        expr.append({"match": {"op": "==", "left": flags, "right": "syn"}})
    elif kind == DRAIN_OTHER:
        expr.append({"match": {"op": "!=", "left": {"meta": {"key": "l4proto"}}, "right": "tcp"}})
    if kind != BLOCK:
        expr.append({"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": "new"}})
    expr.append(verdict)
    return {"add": {"rule": {"family": "inet", "table": table, "chain": chain, "expr": expr}}}


def _nft_block_plan(net, table, chain, target, drain=False):
    ruleset = _nft_read(table, chain)
    if ruleset.chain_exists and not ruleset.hooked:
        raise CommandExecutionError(
            f"lbgate: nft chain inet {table} {chain} exists but is not a base chain on the input hook"
        )
    kinds = DRAIN_KINDS if drain else (BLOCK,)
    wanted = [(kind, target, _nft_rule(net, table, chain, target, kind)) for kind in kinds]
    add, delete = _plan_rules(ruleset.matching(net), wanted)
    plan = []
    if not ruleset.table_exists:
        plan.append({"add": {"table": {"family": "inet", "name": table}}})
    if not ruleset.chain_exists:
        base = {"type": "filter", "hook": "input", "prio": 0, "policy": "accept"}
        plan.append({"add": {"chain": {"family": "inet", "table": table, "name": chain, **base}}})
    plan.extend(add)
    plan.extend(delete)
    return plan


# ------------------------------------------------------------------- helpers


def _read(backend, net, chain):
    if backend == "iptables":
        return _ipt_read(net.version, chain)
    return _nft_read(_table(), chain)


def _apply(backend, plan):
    if backend == "iptables":
        for argv in plan:
            _run(argv)
    elif plan:
        # One batch: nft applies it as a single transaction, all or nothing.
        _run(["nft", "-j", "-f", "-"], stdin=json.dumps({"nftables": plan}))


def _where(backend, chain):
    if backend == "iptables":
        return f"iptables chain {chain}"
    return f"nft chain inet {_table()} {chain}"


# -------------------------------------------------------------------- public


def block(lb, target=None, chain=None, test=False):
    """
    Block traffic from the load balancer address or network ``lb``.

    Idempotent: blocking an address that is already blocked with the same target
    changes nothing and reports ``changed: False``. A block with another target is
    replaced, so the ruleset holds at most one rule for the address.

    lb
        An IPv4/IPv6 address or network (CIDR). Hostnames, prefix length 0
        (``0.0.0.0/0``, ``::/0``) and anything else are refused.
    target
        ``DROP`` or ``REJECT``; defaults to the ``lbgate.target`` config (``DROP``).
    chain
        The module's chain; defaults to the ``lbgate.chain`` config (``SCENARIO-LB``).
    test
        ``True``: report what would change and change nothing.

    Returns ``{"lb", "blocked", "changed", "backend", "chain", "target", "comment"}``;
    ``blocked`` is the state after the call (with ``test=True``: after it would have
    run), ``changed`` whether the ruleset was (or would be) modified.

    CLI Example:

    .. code-block:: bash

        salt '*' lbgate.block 198.51.100.10
        salt '*' lbgate.block 2001:db8::/64 target=REJECT
    """
    return _gate(lb, target, chain, test, drain=False)


def _gate(lb, target, chain, test, drain):
    """Put the block (or the drain's rules) of lb in place; the return dict of block/refuse_new."""
    net = _parse_lb(lb)
    test = _bool(test, "test")
    chain = _chain(chain)
    target = _target(target)
    backend = _backend()
    if backend == "iptables":
        plan = _ipt_block_plan(net, chain, target, drain)
    else:
        plan = _nft_block_plan(net, _table(), chain, target, drain)
    name = _canonical(net)
    where = _where(backend, chain)
    what = "drained (new connections refused)" if drain else "blocked"
    if not plan:
        comment = f"{name} is already {what} ({target}) in {where}"
    elif test:
        comment = f"{name} would be {what} ({target}) in {where}"
    else:
        _apply(backend, plan)
        comment = f"{name} {what} ({target}) in {where}"
    log.debug("lbgate %s %s: %d command(s) planned, test=%s", what, name, len(plan), test)
    ret = {
        "lb": name,
        "blocked": not drain,
        "changed": bool(plan),
        "backend": backend,
        "chain": chain,
        "target": target,
        "comment": comment,
    }
    if drain:
        ret["drained"] = True
    return ret


def unblock(lb, chain=None, test=False):
    """
    Remove the block or the drain on the load balancer address or network ``lb``.

    Idempotent: unblocking an address that is neither blocked nor drained changes
    nothing and reports ``changed: False``. The module's chain and its jump stay in place.

    lb
        The address or network given to ``block``.
    chain
        The module's chain; defaults to the ``lbgate.chain`` config (``SCENARIO-LB``).
    test
        ``True``: report what would change and change nothing.

    Returns ``{"lb", "blocked", "changed", "backend", "chain", "target", "comment"}``
    (``target`` is the target of the removed rule, or ``None``).

    CLI Example:

    .. code-block:: bash

        salt '*' lbgate.unblock 198.51.100.10
    """
    net = _parse_lb(lb)
    test = _bool(test, "test")
    chain = _chain(chain)
    backend = _backend()
    mine = _read(backend, net, chain).matching(net)
    plan = [rule.delete for rule in mine]
    name = _canonical(net)
    where = _where(backend, chain)
    if not plan:
        comment = f"{name} is neither blocked nor drained in {where}"
    elif test:
        comment = f"{name} would be unblocked in {where}"
    else:
        _apply(backend, plan)
        comment = f"{name} unblocked in {where}"
    return {
        "lb": name,
        "blocked": False,
        "changed": bool(plan),
        "backend": backend,
        "chain": chain,
        "target": mine[0].target if mine else None,
        "comment": comment,
    }


def is_blocked(lb, chain=None):
    """
    Tell whether traffic from ``lb`` is blocked or drained, read from the live ruleset.

    Blocked means: a block rule for exactly this address or network is in the module's
    chain, and the chain is reached from the input hook. Drained means the same for the
    drain's rules (new connections refused, established ones still flow). A drained
    address is not blocked: ``blocked`` is False and ``drained`` True. This is a query:
    it never sets a retcode. Use ``verify_blocked`` for a check that fails.

    Returns ``{"lb", "blocked", "drained", "state", "target", "backend", "chain"}``;
    ``state`` is ``blocked``, ``drained`` or ``open``.

    CLI Example:

    .. code-block:: bash

        salt '*' lbgate.is_blocked 198.51.100.10
    """
    net = _parse_lb(lb)
    chain = _chain(chain)
    backend = _backend()
    ruleset = _read(backend, net, chain)
    mine = ruleset.matching(net)
    state = ruleset.state(net)
    return {
        "lb": _canonical(net),
        "blocked": state == "blocked",
        "drained": state == "drained",
        "state": state,
        "target": mine[0].target if mine else None,
        "backend": backend,
        "chain": chain,
    }


def verify_blocked(lb, expected=True, chain=None):
    """
    Verify that traffic from ``lb`` is blocked (``expected=True``) or neither blocked
    nor drained (``expected=False``). A drained address fails both: it is half open.

    Returns the ``is_blocked`` dict plus ``expected`` and ``ok``, and sets
    ``__context__["retcode"]`` to 1 when not ok (so ``salt`` exits non-zero), 0 when ok.

    CLI Example:

    .. code-block:: bash

        salt '*' lbgate.verify_blocked 198.51.100.10
        salt '*' lbgate.verify_blocked 198.51.100.10 expected=False
    """
    expected = _bool(expected, "expected")
    ret = is_blocked(lb, chain=chain)
    ret["expected"] = expected
    ret["ok"] = ret["state"] == ("blocked" if expected else "open")
    # Explicit both ways: the verdict, not whatever the last command left behind.
    __context__["retcode"] = 0 if ret["ok"] else 1
    return ret


def refuse_new(lb, target=None, chain=None, test=False):
    """
    Refuse only the *new* connections from the load balancer ``lb`` (conntrack state NEW:
    TCP SYNs and every non-TCP packet, IPv4 or IPv6 as ``lb`` is, with either backend);
    its established connections keep flowing. The firewall half of a drain:
    ``lbdrain.drain`` calls this, then waits for the established connections to close.

    Idempotent like ``block``: refusing an address already refused changes nothing;
    refusing a blocked address replaces the block (add before delete, no gap). ``block``
    replaces this in turn, and ``unblock`` removes either. ``is_blocked`` reports the
    address as ``drained``.

    lb
        An IPv4/IPv6 address or network (CIDR), as for ``block``.
    target
        ``DROP`` or ``REJECT`` for the refused connections; default the ``lbgate.target``
        config (``DROP``).
    chain
        The module's chain; defaults to the ``lbgate.chain`` config (``SCENARIO-LB``).
    test
        ``True``: report what would change and change nothing.

    Returns ``{"lb", "blocked": False, "drained": True, "changed", "backend", "chain",
    "target", "comment"}``.

    CLI Example:

    .. code-block:: bash

        salt '*' lbgate.refuse_new 198.51.100.10
        salt '*' lbgate.refuse_new 198.51.100.10 target=REJECT
    """
    return _gate(lb, target, chain, test, drain=True)


def status(chain=None):
    """
    List what the module's chain blocks, for IPv4 and IPv6.

    Returns ``{"backend", "flavour", "chain", "hooked": {"ipv4", "ipv6"},
    "blocked": [lb, ...], "drained": [lb, ...], "rules": [{"lb", "target", "active",
    "mode"}, ...]}``; ``blocked`` lists the addresses whose block rule is active (chain
    hooked), ``drained`` those with an active drain (``mode`` ``drain``) and no block.
    ``flavour`` is what ``iptables -V`` reports (``nf_tables`` or ``legacy``), or
    ``None`` with nftables.

    CLI Example:

    .. code-block:: bash

        salt '*' lbgate.status
    """
    chain = _chain(chain)
    backend = _backend()
    flavour = None
    if backend == "iptables":
        version_line = _run(["iptables", "-V"])
        found = re.search(r"\((\w+)\)", version_line)
        flavour = found.group(1) if found else None
        rulesets = {"ipv4": _ipt_read(4, chain)}
        if salt.utils.path.which("ip6tables"):
            rulesets["ipv6"] = _ipt_read(6, chain)
    else:
        both = _nft_read(_table(), chain)
        rulesets = {"ipv4": both, "ipv6": both}
    seen = set()
    rules = []
    for ruleset in rulesets.values():
        for rule in ruleset.rules:
            if rule.source is None or id(rule) in seen:
                continue
            seen.add(id(rule))
            mode = "block" if rule.kind == BLOCK else "drain"
            rules.append({"lb": _canonical(rule.source), "target": rule.target, "active": ruleset.hooked, "mode": mode})
    blocked = {rule["lb"] for rule in rules if rule["active"] and rule["mode"] == "block"}
    return {
        "backend": backend,
        "flavour": flavour,
        "chain": chain,
        "hooked": {family: ruleset.hooked for family, ruleset in rulesets.items()},
        "blocked": sorted(blocked),
        "drained": sorted({r["lb"] for r in rules if r["active"] and r["mode"] == "drain"} - blocked),
        "rules": rules,
    }
