"""The built-in steps of design section 3; the seed's wording runs verbatim.

Given handlers shape the Context. When/Then handlers return the SaltCall each host runs
(a StepAction when the step also declares what it does to the fleet, steps/effects.py).
Handlers get (ctx, step, **params) and raise InvalidScenario naming the step's file:line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from ..errors import InvalidScenario
from ..parsing.model import Step
from .calls import (
    ApprovalGate,
    Delegate,
    SaltCall,
    StepAction,
    expect_dict,
    expect_key,
    expect_ok,
    expect_state,
    expect_value,
)
from .effects import LEAVES_BALANCER, REJOINS_BALANCER, records_version, rolls_back
from .registry import Registry, StepDef
from .state_verdicts import applied, in_place

# The minion functions behind the steps, in one place should a module rename one.
LB_BLOCK = "lbgate.block"
LB_UNBLOCK = "lbgate.unblock"
LB_VERIFY = "lbgate.verify_blocked"
LB_DRAIN = "lbdrain.drain"
LB_NO_CONNECTIONS = "lbdrain.verify_no_connections"
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
# Functions that do the same as the key: a publish shared with other steps can hold a function
# only once, so a second NRPE check rides along as nrpe.check (see running/pipeline.py).
TWINS: dict[str, tuple[str, ...]] = {NRPE_RUN: (NRPE_CHECK,)}


DEFAULT_APPROVAL_MINUTES = 60
DEFAULT_DRAIN_SECONDS = 30
# Grain or pillar (pillar first: grains are the minion's own word) naming a host's HAProxy server.
HAPROXY_SERVER_KEY = "lbgate:haproxy_server"

# The run's Context (running/context.py, a later stage, so not imported here): Given handlers
# set its fields, When/Then handlers read them.
Ctx = Any
Action = SaltCall | StepAction | ApprovalGate
Handler = Callable[..., Action | None]


def _lb_address(ctx: Ctx, step: Step, ip: str | None = None) -> None:
    if ip is None:
        ip = ctx.settings.lb_address
        if not ip:
            raise InvalidScenario(
                "the step names no address and the master option scenario_lb_address is not set", step.location
            )
    ctx.lb, ctx.lb_location = ip, step.location


def _require_lb(ctx: Ctx, step: Step) -> str:
    if not ctx.lb:
        raise InvalidScenario(
            "no load balancer address: add 'Given the load balancer has ip address ...'", step.location
        )
    return str(ctx.lb)


def _class(ctx: Ctx, step: Step, **p: str) -> None:
    ctx.add_filter("G@" + p["class"].replace("::", ":"), step.location)


def _fact(ctx: Ctx, step: Step, fact: str) -> None:
    key, value = fact.split("=", 1)
    ctx.add_filter(f"G@{key}:{value}", step.location)


def _grain(ctx: Ctx, step: Step, grain: str) -> None:
    ctx.add_filter(f"G@{grain}", step.location)


def _pillar(ctx: Ctx, step: Step, pillar: str) -> None:
    ctx.add_filter(f"I@{pillar}", step.location)


def _matching(ctx: Ctx, step: Step, compound: str) -> None:
    ctx.add_filter(compound, step.location)


def _nodegroup(ctx: Ctx, step: Step, name: str) -> None:
    ctx.add_filter(f"N@{name}", step.location)


def _prediscover(ctx: Ctx, step: Step) -> None:
    ctx.prediscover = True


def _expect_exact(ctx: Ctx, step: Step, n: int) -> None:
    ctx.expect_exact = n


def _expect_min(ctx: Ctx, step: Step, n: int) -> None:
    ctx.expect_min = n


def _batch_n(ctx: Ctx, step: Step, n: int) -> None:
    ctx.batch = (("n", n),)


def _batch_percent(ctx: Ctx, step: Step, percent: int) -> None:
    ctx.batch = (("percent", percent),)


def _batch_schedule(ctx: Ctx, step: Step, schedule: tuple[tuple[str, int], ...]) -> None:
    ctx.batch = schedule


def _pause(ctx: Ctx, step: Step, n: int) -> None:
    ctx.pause = n


def _budget_n(ctx: Ctx, step: Step, n: int) -> None:
    ctx.budget = ("n", n)


def _budget_percent(ctx: Ctx, step: Step, percent: int) -> None:
    ctx.budget = ("percent", percent)


def _haproxy(ctx: Ctx, step: Step, backend: str, minion: str) -> None:
    ctx.haproxy = (backend, minion)


def _require_haproxy(ctx: Ctx, step: Step) -> tuple[str, str]:
    if not ctx.haproxy:
        raise InvalidScenario(
            "no HAProxy load balancer: add 'Given the load balancer is HAProxy backend ... on ...'", step.location
        )
    backend, minion = ctx.haproxy
    return str(backend), str(minion)


def _lookup(data: object, key: str) -> object:
    for part in key.split(":"):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


@runtime_checkable
class _MinionData(Protocol):
    def minion_data(self, hosts: Sequence[str]) -> dict[str, dict[str, object]]: ...


def haproxy_servers(transport: object, hosts: Sequence[str]) -> dict[str, object]:
    """{host: HAProxy server name}: pillar, else grain ``lbgate:haproxy_server``, else the minion id.

    The balancer minion checks every name before it sends anything; a bad one fails the step.
    """
    cached = transport.minion_data(hosts) if isinstance(transport, _MinionData) else {}
    servers: dict[str, object] = {}
    for host in hosts:
        data = cached.get(host) or {}
        name = _lookup(data.get("pillar"), HAPROXY_SERVER_KEY)
        if name is None:
            name = _lookup(data.get("grains"), HAPROXY_SERVER_KEY)
        servers[host] = name if name is not None else host
    return servers


def _on_haproxy(
    ctx: Ctx, step: Step, fun: str, kwargs: dict[str, object] | None = None, within: int | None = None
) -> SaltCall:
    backend, minion = _require_haproxy(ctx, step)
    return SaltCall(
        fun,
        [backend],
        dict(kwargs or {}),
        check=expect_dict(),
        within=within,
        delegate=Delegate(minion, value=haproxy_servers),
    )


def _haproxy_drain(ctx: Ctx, step: Step, n: int | None = None) -> StepAction:
    timeout = n or DEFAULT_DRAIN_SECONDS
    return StepAction(_on_haproxy(ctx, step, HAPROXY_DRAIN, kwargs={"timeout": timeout}), LEAVES_BALANCER)


def _haproxy_ready(ctx: Ctx, step: Step) -> StepAction:
    return StepAction(_on_haproxy(ctx, step, HAPROXY_READY), REJOINS_BALANCER)


def _haproxy_up(ctx: Ctx, step: Step, n: int | None = None) -> SaltCall:
    return _on_haproxy(ctx, step, HAPROXY_UP, within=n)


def _drain(ctx: Ctx, step: Step, n: int | None = None) -> StepAction:
    call = SaltCall(
        LB_DRAIN,
        [_require_lb(ctx, step)],
        {"timeout": n or DEFAULT_DRAIN_SECONDS},
        check=expect_ok(lambda r: f"{r.get('connections')} connection(s) still open after {r.get('waited')} s"),
    )
    return StepAction(call, LEAVES_BALANCER)


def _no_connections(ctx: Ctx, step: Step) -> SaltCall:
    return SaltCall(
        LB_NO_CONNECTIONS,
        [_require_lb(ctx, step)],
        check=expect_ok(lambda r: f"{r.get('connections')} connection(s) from the load balancer"),
    )


def _block(ctx: Ctx, step: Step) -> StepAction:
    return StepAction(SaltCall(LB_BLOCK, [_require_lb(ctx, step)], check=expect_key("blocked", True)), LEAVES_BALANCER)


def _unblock(ctx: Ctx, step: Step) -> StepAction:
    call = SaltCall(LB_UNBLOCK, [_require_lb(ctx, step)], check=expect_key("blocked", False))
    return StepAction(call, REJOINS_BALANCER)


def _verify_lb(expected: bool) -> Handler:
    def handler(ctx: Ctx, step: Step) -> SaltCall:
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


def _update(ctx: Ctx, step: Step, package: str, version: str | None = None) -> StepAction:
    if version and version[0] in "<>=":
        raise InvalidScenario(f"version {version!r}: an update needs an exact version, not a comparison", step.location)
    kwargs: dict[str, object] = {"version": version} if version else {}
    return StepAction(SaltCall(PKG_UPDATE, [package], kwargs, check=expect_dict()), records_version(package))


def _roll_back(ctx: Ctx, step: Step, package: str) -> StepAction:
    # The version differs per host: it is appended per host, from what the run's update replaced.
    # pkgcheck.update fails (retcode 1) unless the host ends at exactly that version.
    return StepAction(SaltCall(PKG_UPDATE, [package], check=expect_dict()), rolls_back(package))


def _approval(ctx: Ctx, step: Step, n: int | None = None) -> ApprovalGate:
    return ApprovalGate(within=(n or DEFAULT_APPROVAL_MINUTES) * 60)


def _approval_seconds(ctx: Ctx, step: Step, n: int) -> ApprovalGate:
    return ApprovalGate(within=n)


def _verify_pkg(ctx: Ctx, step: Step, package: str, version: str) -> SaltCall:
    return SaltCall(
        PKG_VERIFY,
        [package, version],
        check=expect_ok(lambda r: f"installed {r.get('installed')!r}, expected {r.get('expected')!r}"),
    )


def _restart(ctx: Ctx, step: Step, service: str) -> SaltCall:
    return SaltCall(SERVICE_RESTART, [service], check=expect_value(True))


def _running(ctx: Ctx, step: Step, service: str) -> SaltCall:
    return SaltCall(SERVICE_STATUS, [service], check=expect_value(True))


def _nrpe(ctx: Ctx, step: Step, check: str, n: int | None = None) -> SaltCall:
    return SaltCall(
        NRPE_RUN,
        [check],
        within=n,
        check=expect_ok(lambda r: f"{r.get('status')}: {r.get('output')}".strip()),
    )


def _pillar_data(key: str, value: object) -> dict[str, object]:
    """``mywebapp:version``, ``4.2.6-3`` -> ``{"mywebapp": {"version": "4.2.6-3"}}``, as pillar.get reads it."""
    data = value
    for part in reversed(key.split(":")):
        data = {part: data}
    return data  # type: ignore[return-value]  # a key has at least one part: a dict


def _apply_state(ctx: Ctx, step: Step, sls: str, key: str | None = None, value: str | None = None) -> StepAction:
    pillar = _pillar_data(key, value) if key else None
    check, summarize = expect_state(applied)
    call = SaltCall(STATE_APPLY, [sls], {"pillar": pillar} if pillar else {}, check=check, summarize=summarize)
    orch: list[dict[str, object]] = [{"sls": sls}]
    if pillar:
        orch.append({"pillar": pillar})
    return StepAction(call, orch=("salt.state", orch))


def _apply_highstate(ctx: Ctx, step: Step) -> StepAction:
    check, summarize = expect_state(applied)
    call = SaltCall(STATE_HIGHSTATE, check=check, summarize=summarize)
    return StepAction(call, orch=("salt.state", [{"highstate": True}]))


def _state_in_place(ctx: Ctx, step: Step, sls: str, key: str | None = None, value: str | None = None) -> StepAction:
    pillar = _pillar_data(key, value) if key else None
    check, summarize = expect_state(in_place)
    call = SaltCall(
        STATE_APPLY,
        [sls],
        {"test": True, **({"pillar": pillar} if pillar else {})},
        check=check,
        summarize=summarize,
    )
    orch: list[dict[str, object]] = [{"name": STATE_IN_PLACE}, {"arg": [sls]}]
    if pillar:
        orch.append({"kwarg": {"pillar": pillar}})
    return StepAction(call, orch=("salt.function", orch))


GIVEN: list[tuple[str, Handler]] = [
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
WHEN: list[tuple[str, Handler]] = [
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
THEN: list[tuple[str, Handler]] = [
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


def register(registry: Registry) -> Registry:
    for pattern, handler in GIVEN:
        registry.add(StepDef("given", pattern, handler, context_only=True))
    for pattern, handler in WHEN:
        registry.add(StepDef("when", pattern, handler))
    for pattern, handler in THEN:
        registry.add(StepDef("then", pattern, handler))
    return registry
