"""The built-in steps of design section 3; the seed's wording runs verbatim.

Given handlers shape the Context. When/Then handlers return the SaltCall each host runs.
Handlers get (ctx, step, **params) and raise InvalidScenario naming the step's file:line.
"""

from ..errors import InvalidScenario
from .calls import ApprovalGate, SaltCall, expect_dict, expect_key, expect_ok, expect_state, expect_value
from .registry import StepDef
from .state_verdicts import applied, in_place

# The minion functions behind the steps, in one place should a module rename one.
LB_BLOCK = "lbgate.block"
LB_UNBLOCK = "lbgate.unblock"
LB_VERIFY = "lbgate.verify_blocked"
LB_DRAIN = "lbgate.drain"
LB_NO_CONNECTIONS = "lbgate.verify_no_connections"
HAPROXY_DRAIN = "lbhaproxy.drain"
HAPROXY_READY = "lbhaproxy.ready"
HAPROXY_UP = "lbhaproxy.verify_up"
PKG_UPDATE = "pkgcheck.update"
PKG_VERIFY = "pkgcheck.verify"
NRPE_RUN = "nrpe.run"
NRPE_CHECK = "nrpe.check"  # nrpe.run under a second name: two checks can share one publish
SERVICE_RESTART = "service.restart"
SERVICE_STATUS = "service.status"
STATE_APPLY = "state.apply"
STATE_HIGHSTATE = "state.highstate"
# What a compiled SLS runs for "should be in place": state.apply test=True with a retcode that
# says whether anything would change (orchestrate's salt.state with test: True passes then).
STATE_IN_PLACE = "statecheck.in_place"


DEFAULT_APPROVAL_MINUTES = 60
DEFAULT_DRAIN_SECONDS = 30
# Grain or pillar (pillar first: grains are the minion's own word) naming a host's HAProxy server.
HAPROXY_SERVER_KEY = "lbgate:haproxy_server"


def _lb_address(ctx, step, ip=None):
    if ip is None:
        ip = ctx.settings.lb_address
        if not ip:
            raise InvalidScenario(
                "the step names no address and the master option scenario_lb_address is not set", step.location
            )
    ctx.lb, ctx.lb_location = ip, step.location


def _require_lb(ctx, step):
    if not ctx.lb:
        raise InvalidScenario(
            "no load balancer address: add 'Given the load balancer has ip address ...'", step.location
        )
    return ctx.lb


def _class(ctx, step, **p):
    ctx.add_filter("G@" + p["class"].replace("::", ":"), step.location)


def _fact(ctx, step, fact):
    key, value = fact.split("=", 1)
    ctx.add_filter(f"G@{key}:{value}", step.location)


def _grain(ctx, step, grain):
    ctx.add_filter(f"G@{grain}", step.location)


def _pillar(ctx, step, pillar):
    ctx.add_filter(f"I@{pillar}", step.location)


def _matching(ctx, step, compound):
    ctx.add_filter(compound, step.location)


def _nodegroup(ctx, step, name):
    ctx.add_filter(f"N@{name}", step.location)


def _prediscover(ctx, step):
    ctx.prediscover = True


def _expect_exact(ctx, step, n):
    ctx.expect_exact = n


def _expect_min(ctx, step, n):
    ctx.expect_min = n


def _batch_n(ctx, step, n):
    ctx.batch = (("n", n),)


def _batch_percent(ctx, step, percent):
    ctx.batch = (("percent", percent),)


def _batch_schedule(ctx, step, schedule):
    ctx.batch = schedule


def _pause(ctx, step, n):
    ctx.pause = n


def _budget_n(ctx, step, n):
    ctx.budget = ("n", n)


def _budget_percent(ctx, step, percent):
    ctx.budget = ("percent", percent)


def _haproxy(ctx, step, backend, minion):
    ctx.haproxy = (backend, minion)


def _require_haproxy(ctx, step):
    if not ctx.haproxy:
        raise InvalidScenario(
            "no HAProxy load balancer: add 'Given the load balancer is HAProxy backend ... on ...'", step.location
        )
    return ctx.haproxy


def _lookup(data, key):
    for part in key.split(":"):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def haproxy_servers(transport, hosts):
    """{host: HAProxy server name}: pillar, else grain ``lbgate:haproxy_server``, else the minion id.

    The balancer minion checks every name before it sends anything; a bad one fails the step.
    """
    cached = transport.minion_data(hosts) if hasattr(transport, "minion_data") else {}
    servers = {}
    for host in hosts:
        data = cached.get(host) or {}
        name = _lookup(data.get("pillar"), HAPROXY_SERVER_KEY)
        if name is None:
            name = _lookup(data.get("grains"), HAPROXY_SERVER_KEY)
        servers[host] = name if name is not None else host
    return servers


def _on_haproxy(ctx, step, fun, args=(), kwargs=None, **extra):
    backend, minion = _require_haproxy(ctx, step)
    return SaltCall(
        fun, [backend, *args], dict(kwargs or {}), on=minion, hosts_arg=haproxy_servers, check=expect_dict(), **extra
    )


def _haproxy_drain(ctx, step, n=None):
    timeout = n or DEFAULT_DRAIN_SECONDS
    return _on_haproxy(ctx, step, HAPROXY_DRAIN, kwargs={"timeout": timeout}, lb_effect="block")


def _haproxy_ready(ctx, step):
    return _on_haproxy(ctx, step, HAPROXY_READY, lb_effect="unblock")


def _haproxy_up(ctx, step, n=None):
    return _on_haproxy(ctx, step, HAPROXY_UP, within=n)


def _drain(ctx, step, n=None):
    return SaltCall(
        LB_DRAIN,
        [_require_lb(ctx, step)],
        {"timeout": n or DEFAULT_DRAIN_SECONDS},
        check=expect_ok(lambda r: f"{r.get('connections')} connection(s) still open after {r.get('waited')} s"),
        lb_effect="block",
    )


def _no_connections(ctx, step):
    return SaltCall(
        LB_NO_CONNECTIONS,
        [_require_lb(ctx, step)],
        check=expect_ok(lambda r: f"{r.get('connections')} connection(s) from the load balancer"),
    )


def _block(ctx, step):
    return SaltCall(LB_BLOCK, [_require_lb(ctx, step)], check=expect_key("blocked", True), lb_effect="block")


def _unblock(ctx, step):
    return SaltCall(LB_UNBLOCK, [_require_lb(ctx, step)], check=expect_key("blocked", False), lb_effect="unblock")


def _verify_lb(expected):
    def handler(ctx, step):
        return SaltCall(
            LB_VERIFY,
            [_require_lb(ctx, step)],
            {"expected": expected},
            check=expect_ok(
                lambda r: (
                    f"traffic is {r.get('state') or ('blocked' if r.get('blocked') else 'open')}, "
                    f"expected {'blocked' if expected else 'open'}"
                )
            ),
        )

    return handler


def _update(ctx, step, package, version=None):
    if version and version[0] in "<>=":
        raise InvalidScenario(f"version {version!r}: an update needs an exact version, not a comparison", step.location)
    kwargs = {"version": version} if version else {}
    return SaltCall(PKG_UPDATE, [package], kwargs, check=expect_dict(), records_version=package)


def _roll_back(ctx, step, package):
    # The version differs per host: the executor fills it in from what the update replaced.
    return SaltCall(
        PKG_UPDATE,
        [package],
        # pkgcheck.update fails (retcode 1) unless the host ends at exactly that version.
        check=expect_dict(),
        rollback_of=package,
    )


def _approval(ctx, step, n=None):
    return ApprovalGate(within=(n or DEFAULT_APPROVAL_MINUTES) * 60)


def _approval_seconds(ctx, step, n):
    return ApprovalGate(within=n)


def _verify_pkg(ctx, step, package, version):
    return SaltCall(
        PKG_VERIFY,
        [package, version],
        check=expect_ok(lambda r: f"installed {r.get('installed')!r}, expected {r.get('expected')!r}"),
    )


def _restart(ctx, step, service):
    return SaltCall(SERVICE_RESTART, [service], check=expect_value(True))


def _running(ctx, step, service):
    return SaltCall(SERVICE_STATUS, [service], check=expect_value(True))


def _nrpe(ctx, step, check, n=None):
    return SaltCall(
        NRPE_RUN,
        [check],
        within=n,
        check=expect_ok(lambda r: f"{r.get('status')}: {r.get('output')}".strip()),
        twins=(NRPE_CHECK,),
    )


def _pillar_data(key, value):
    """``mywebapp:version``, ``4.2.6-3`` -> ``{"mywebapp": {"version": "4.2.6-3"}}``, as pillar.get reads it."""
    data = value
    for part in reversed(key.split(":")):
        data = {part: data}
    return data


def _apply_state(ctx, step, sls, key=None, value=None):
    pillar = _pillar_data(key, value) if key else None
    check, summarize = expect_state(applied)
    return SaltCall(
        STATE_APPLY,
        [sls],
        {"pillar": pillar} if pillar else {},
        check=check,
        summarize=summarize,
        orch=("salt.state", [{"sls": sls}, *([{"pillar": pillar}] if pillar else [])]),
    )


def _apply_highstate(ctx, step):
    check, summarize = expect_state(applied)
    return SaltCall(STATE_HIGHSTATE, check=check, summarize=summarize, orch=("salt.state", [{"highstate": True}]))


def _state_in_place(ctx, step, sls, key=None, value=None):
    pillar = _pillar_data(key, value) if key else None
    check, summarize = expect_state(in_place)
    return SaltCall(
        STATE_APPLY,
        [sls],
        {"test": True, **({"pillar": pillar} if pillar else {})},
        check=check,
        summarize=summarize,
        orch=(
            "salt.function",
            [{"name": STATE_IN_PLACE}, {"arg": [sls]}, *([{"kwarg": {"pillar": pillar}}] if pillar else [])],
        ),
    )


GIVEN = [
    ("the load balancer has ip address[ {ip}]", _lb_address),
    ("I want to update hosts with class {class}", _class),
    ("I want to update hosts with fact {fact}", _fact),
    ("I want to update hosts with grain {grain}", _grain),
    ("I want to update hosts with pillar {pillar}", _pillar),
    ('I want to update hosts matching "{compound}"', _matching),
    ("I want to update hosts in nodegroup {name:nodegroup}", _nodegroup),
    ("I want to pre-discover how many hosts to update", _prediscover),
    ("I expect {n} host[s]", _expect_exact),
    ("I expect at least {n} host[s]", _expect_min),
    ("I update {n} host[s] at a time", _batch_n),
    ("I update {percent}% of the hosts at a time", _batch_percent),
    ("I update hosts in batches of {schedule}", _batch_schedule),
    ("I pause {n} second[s] between batches", _pause),
    ("up to {n} host[s] may fail", _budget_n),
    ("up to {percent}% of the hosts may fail", _budget_percent),
    ("the load balancer is HAProxy backend {backend:haproxy_name} on {minion:minion}", _haproxy),
]
WHEN = [
    ("I block the load balancer", _block),
    ("I unblock the load balancer", _unblock),
    ("I drain the load balancer[ within {n} seconds]", _drain),
    ("I drain the hosts in the load balancer[ within {n} seconds]", _haproxy_drain),
    ("I return the hosts to the load balancer", _haproxy_ready),
    ("I update the package {package}[ to version {version}]", _update),
    ("I restart the service {service}", _restart),
    ("I roll back the package {package}", _roll_back),
    ("I apply the state {sls}", _apply_state),
    ("I apply the state {sls} with pillar {key:pillar_key}={value:pillar_value}", _apply_state),
    ("I apply the highstate", _apply_highstate),
]
THEN = [
    ("traffic from the load balancer should be blocked", _verify_lb(True)),
    ("traffic from the load balancer should be unblocked", _verify_lb(False)),
    ("the load balancer should have no connections", _no_connections),
    ("the load balancer should report the hosts as up[ within {n} seconds]", _haproxy_up),
    ("the package version for {package} should be {version}", _verify_pkg),
    ("the service {service} should be running", _running),
    ("the NRPE check {check} should pass[ within {n} seconds]", _nrpe),
    ("the state {sls} should be in place", _state_in_place),
    ("the state {sls} should be in place with pillar {key:pillar_key}={value:pillar_value}", _state_in_place),
    ("I wait for approval[ within {n} minutes]", _approval),
    ("I wait for approval within {n} minute", _approval),
    ("I wait for approval within {n} seconds", _approval_seconds),
]


def register(registry):
    for pattern, handler in GIVEN:
        registry.add(StepDef("given", pattern, handler, context_only=True))
    for pattern, handler in WHEN:
        registry.add(StepDef("when", pattern, handler))
    for pattern, handler in THEN:
        registry.add(StepDef("then", pattern, handler))
    return registry
