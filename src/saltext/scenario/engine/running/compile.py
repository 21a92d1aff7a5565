"""A scenario compiled to an orchestrate SLS: one state per When/Then step.

The SLS runs the same Salt calls on the same pinned hosts as `scenario.run`, batch by batch:
every state targets the pinned list (`tgt_type: list`) with `expect_minions` (a host that
does not answer fails), `failhard` (the first failure stops the orchestration) and a
`require` on the state before it, so a later step never runs after a failure. The verdict
comes from the minions' retcodes: lbgate.verify_blocked, pkgcheck.verify and nrpe.run set a
non-zero retcode when their check is not ok, and a `False` return fails the state too.

Most steps become `salt.function` of their call. A step that names its own state (`orch` in
the StepAction its handler returned) gets that instead: the state steps compile to
`salt.state` (Salt judges the state run), and "the state X should be in place" to
`salt.function` of `statecheck.in_place`, because `salt.state` with `test: True` passes
while changes are pending (its result is None then, and orchestrate counts None as passed).

Given steps only shape the target; they produce no state and are listed in the header.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import yaml

from ...config import Settings
from ..errors import EXIT_PASSED, InvalidScenario
from ..parsing.names import feature_url
from ..ports import FeatureSource, Transport, close_quietly
from ..steps.calls import SaltCall
from .batches import compute_batches
from .discover import discover
from .plan import Plan, PlannedStep
from .prepare import prepare

State = dict[str, list[dict[str, object]]]  # {state function: [{key: value}, ...]}
HostsValue = Callable[[SaltCall, Sequence[str]], object]

if TYPE_CHECKING:  # annotations only: the request is a value the service hands down
    from ..service.request import RunRequest

RETRY_INTERVAL = 1


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _flow(value: object) -> str:
    """One YAML value on one line, quoted where YAML needs it (e.g. a version like '4.20')."""
    text = str(yaml.safe_dump([value], default_flow_style=True, width=100000, allow_unicode=True)).strip()
    return text[1:-1]  # drop the list brackets around it


def _dump(state_id: str, body: State) -> str:
    """A state in block style, one `- key: value` line per argument (readable, diff-friendly)."""
    lines = [f"{_flow(state_id)}:", f"  {_flow(next(iter(body)))}:"]
    for item in next(iter(body.values())):
        ((key, value),) = item.items()
        lines.append(f"  - {key}: {_flow(value)}")
    return "\n".join(lines)


def _state_id(pstep: PlannedStep, batch_index: int, batch_count: int, scenario_index: int, scenario_count: int) -> str:
    parts = []
    if batch_count > 1:
        parts.append(f"batch {batch_index + 1} of {batch_count}:")
    if scenario_count > 1:
        parts.append(f"scenario {scenario_index + 1}:")
    parts.append(f"{pstep.step.location} {pstep.step.keyword} {_one_line(pstep.step.text)}")
    return " ".join(parts)


def _call(pstep: PlannedStep) -> SaltCall:
    if pstep.call is None:
        raise ValueError(f"{pstep.step.location}: a step without a Salt call has no state")
    return pstep.call


def _what(pstep: PlannedStep, kwargs: Mapping[str, object]) -> tuple[str, list[dict[str, object]]]:
    """(state function, [what it runs: name/sls first, then its arguments]) for one step."""
    if pstep.orch:
        kind, declared = pstep.orch
        return kind, [dict(item) for item in declared]
    call = _call(pstep)
    items: list[dict[str, object]] = [{"name": call.fun}]
    if call.args:
        items.append({"arg": list(call.args)})
    if kwargs:
        items.append({"kwarg": dict(kwargs)})
    return "salt.function", items


def _state(
    pstep: PlannedStep,
    hosts: Sequence[str],
    previous: str | None,
    timeout: int | None = None,
    hosts_value: HostsValue | None = None,
) -> State:
    call = _call(pstep)
    kwargs = dict(call.kwargs)
    if call.delegate:
        # One call on the delegate minion for the batch's hosts, as scenario.run makes it.
        value = hosts_value(call, hosts) if hosts_value else list(hosts)
        kwargs[call.delegate.kwarg] = value
        hosts = [call.delegate.minion]
    kind, (head, *rest) = _what(pstep, kwargs)
    body: list[dict[str, object]] = [head, {"tgt": list(hosts)}, {"tgt_type": "list"}, *rest]
    body += [{"expect_minions": True}, {"failhard": True}]
    if timeout:
        body.append({"timeout": int(timeout)})
    if call.within:
        # Like the runner's "within N seconds": try again until the check passes or time is up.
        body.append({"retry": {"attempts": int(call.within) // RETRY_INTERVAL + 1, "interval": RETRY_INTERVAL}})
    if previous:
        body.append({"require": [{"salt": previous}]})
    return {kind: body}


def _unchecked(pstep: PlannedStep) -> bool:
    """Library steps whose `expect:` the SLS cannot check (it sees retcodes and False only)."""
    return pstep.stepdef.origin != "built-in" and _call(pstep).check is not None


# Where a compiled state step's verdict and scenario.run's may differ, said once in the header.
STATE_STEPS_NOTE = [
    "# State steps. 'I apply the state'/'the highstate' compile to salt.state: Salt fails a minion",
    "#   whose run has a state with result False, or errors instead of states. scenario.run also",
    "#   fails a result None, which a minion returns only when it runs states in test mode",
    "#   (test: True in its config); here that minion passes.",
    "# 'the state X should be in place' compiles to statecheck.in_place: state.apply test=True on",
    "#   the minion, retcode 1 when a state would change or fails, judged by the code scenario.run",
    "#   uses. (salt.state with test: True would pass while changes are pending: result None.)",
]


def _has_state_steps(plan: Plan) -> bool:
    return any(ps.call is not None and ps.orch for sc in plan.scenarios for ps in sc.steps)


def _header(plan: Plan, pinned: Sequence[str], batches: list[list[str]], command: str, compiled_at: str) -> list[str]:
    lines = [
        "#!yaml",
        f"# Compiled by `{_one_line(command)}` at {compiled_at}",
        f"# from {feature_url(plan.name)} (Feature: {_one_line(plan.feature.name)})",
        "# Do not edit: compile again when the feature or the fleet changes.",
        f"# Target: {_one_line(plan.target)}",
        f"# Pinned at compile time: {', '.join(pinned)}",
    ]
    if len(batches) > 1:
        lines.append(
            "# Batches, each blocked, updated, verified and unblocked before the next: "
            + "; ".join(", ".join(b) for b in batches)
        )
    givens = [ps for sc in plan.scenarios for ps in sc.steps if ps.context_only]
    if givens:
        lines.append("# Given steps (they shaped the target above and produce no state):")
        seen: set[str] = set()
        for ps in givens:
            if ps.step.location not in seen:
                seen.add(ps.step.location)
                lines.append(f"#   {ps.step.location} {ps.step.keyword} {_one_line(ps.step.text)}")
    if _has_state_steps(plan):
        lines += STATE_STEPS_NOTE
    return lines


def check_compilable(plan: Plan) -> None:
    """InvalidScenario (exit 2) for what an orchestrate SLS cannot express."""
    gates = [st for sc in plan.scenarios for st in sc.steps if st.gate is not None]
    if gates:
        raise InvalidScenario(
            "orchestrate cannot wait for scenario.approve: run this feature with scenario.run", gates[0].step.location
        )
    checks = plan.master_checks()
    if checks:
        raise InvalidScenario(
            "orchestrate cannot ask Prometheus between steps (a metric step is answered by the runner): "
            "run this feature with scenario.run",
            checks[0].step.location,
        )
    if plan.rollback:
        raise InvalidScenario(
            "orchestrate cannot run an @on-failure scenario only when the run fails (failhard stops it): "
            "run this feature with scenario.run",
            plan.rollback[0].scenario.location,
        )
    if plan.budget is not None:
        raise InvalidScenario(
            "orchestrate stops at the first failed host (failhard), so it cannot honour a failure budget: "
            "compile without one, or run the feature with scenario.run",
            plan.feature.uri,
        )


def _pause_state(seconds: int, previous: str | None) -> State:
    """Between batches, like the runner's `Given I pause N seconds between batches`."""
    body: list[dict[str, object]] = [{"name": "test.sleep"}, {"s_time": int(seconds)}]
    if previous:
        body.append({"require": [{"salt": previous}]})
    return {"salt.runner": body}


def render(
    plan: Plan,
    pinned: Sequence[str],
    command: str,
    compiled_at: str,
    timeout: int | None = None,
    hosts_value: HostsValue | None = None,
) -> tuple[str, list[str]]:
    """(SLS text, [state ids in order]) for a plan over the pinned hosts.

    ``hosts_value(call, hosts)`` gives the hosts argument of a step that runs on another
    minion (``call.delegate``); by default the list of hosts.
    """
    batches = compute_batches(pinned, plan.batch)
    lines = _header(plan, pinned, batches, command, compiled_at)
    ids: list[str] = []
    previous: str | None = None
    for b_index, hosts in enumerate(batches):
        if b_index and plan.pause:
            state_id = f"pause {plan.pause} s before batch {b_index + 1} of {len(batches)}"
            lines += ["", _dump(state_id, _pause_state(plan.pause, previous))]
            ids.append(state_id)
            previous = state_id
        for s_index, pscenario in enumerate(plan.scenarios):
            for pstep in pscenario.steps:
                if pstep.context_only:
                    continue
                state_id = _state_id(pstep, b_index, len(batches), s_index, len(plan.scenarios))
                while state_id in ids:  # the same Background step in two scenarios
                    state_id += " (again)"
                lines.append("")
                if _unchecked(pstep):
                    lines.append(
                        f"# note: only the retcode and a False return are checked here, "
                        f"not the step library's expect: ({pstep.stepdef.origin})"
                    )
                lines.append(_dump(state_id, _state(pstep, hosts, previous, timeout, hosts_value)))
                ids.append(state_id)
                previous = state_id
    return "\n".join(lines) + "\n", ids


def _kinds(plan: Plan, batch_count: int) -> str:
    """``10 salt.function state(s)``, or ``6 salt.function, 2 salt.state state(s)`` with state steps."""
    counts: dict[str, int] = {}
    for sc in plan.scenarios:
        for ps in sc.steps:
            if ps.call is not None:
                kind = _what(ps, ps.call.kwargs)[0]
                counts[kind] = counts.get(kind, 0) + batch_count
    return ", ".join(f"{n} {kind}" for kind, n in counts.items()) + " state(s)"


def compile_sls(
    settings: Settings,
    request: RunRequest,
    source: FeatureSource,
    transport_factory: Callable[[], Transport],
    command: str | None = None,
    now: Callable[[], time.struct_time] = time.gmtime,
) -> dict[str, object]:
    """Resolve, match, discover and pin like `plan`, then emit the orchestrate SLS.

    `request` is the service's RunRequest (name, scenario, tags, batch, timeout); a bad
    feature or argument raises ScenarioError, which the service returns as exit 2.
    """
    name, timeout = request.name, request.timeout
    the_plan = prepare(settings, request, source)
    check_compilable(the_plan)
    transport = transport_factory()
    try:
        found = discover(transport, the_plan.context)
        command = command or f"salt-run scenario.compile {name}"

        def hosts_value(call: SaltCall, hosts: Sequence[str]) -> object:
            # e.g. the HAProxy server names, from the master's cache at compile time
            return call.delegate.hosts_value(transport, hosts) if call.delegate else list(hosts)

        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", now())
        sls, ids = render(the_plan, found.pinned, command, stamp, timeout, hosts_value)
    finally:
        close_quietly(transport)
    batches = compute_batches(found.pinned, the_plan.batch)
    return {
        "retcode": EXIT_PASSED,
        "result": "compiled",
        "name": name,
        "uri": the_plan.feature.uri,
        "target": the_plan.target,
        "pinned": found.pinned,
        "batches": batches,
        "states": ids,
        "warnings": the_plan.warnings + found.warnings,
        "summary": f"{_kinds(the_plan, len(batches))} on {len(found.pinned)} host(s) in {len(batches)} batch(es)",
        "sls": sls,
    }
