"""Matched feature + Given context + options -> the Plan: target, batches, budget, a call per step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ... import config
from ..contracts import Size
from ..errors import InvalidScenario
from ..parsing.model import Feature, Scenario, Step
from ..parsing.parse import rollback_scenarios, select
from ..steps.calls import ApprovalGate, SaltCall, StepAction
from ..steps.effects import NO_EFFECTS, RECOVERY_TAG, Effects, EffectsInfo
from ..steps.master import MasterCheck
from ..steps.registry import StepDef
from .batches import parse_budget, parse_schedule
from .context import Context
from .fleet_effects import FleetEffects
from .pipeline import publish_groups

if TYPE_CHECKING:  # annotations only: the request is a value the service hands down
    from ..service.request import RunRequest

# A steps.registry.Match (step, stepdef, params): its own module types it.
Matched = Any


@dataclass
class PlannedStep:
    step: Step
    stepdef: StepDef
    params: dict[str, object]
    call: SaltCall | None = None  # None for Given steps that only shape the context
    gate: ApprovalGate | None = None  # "Then I wait for approval": a person, not a host, answers
    effects: Effects = NO_EFFECTS  # what passing it means for the fleet (steps/effects.py)
    orch: tuple[str, list[dict[str, object]]] | None = None  # how scenario.compile writes the call
    check: MasterCheck | None = None  # a master-side step (a metric gate): one verdict per batch

    @property
    def context_only(self) -> bool:
        return self.call is None and self.gate is None and self.check is None

    def call_info(self) -> dict[str, object] | None:
        """The call as events, the journal and reports show it, with its effects' legacy keys."""
        if self.call is None:
            return None
        data = self.call.as_dict()
        on = data.pop("on", None)
        data.update(self.effects.legacy_call_info())
        if on is not None:
            data["on"] = on
        return data

    def effects_info(self) -> EffectsInfo:
        return self.effects.as_dict()

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"keyword": self.step.keyword, "text": self.step.text, "location": self.step.location}
        data["call"] = self.call_info()
        if self.gate is not None:
            data["gate"] = self.gate.as_dict()
        if self.check is not None:
            data["check"] = self.check.as_dict()
        return data


@dataclass
class PlannedScenario:
    scenario: Scenario
    steps: list[PlannedStep]
    recovery: bool = False  # a recovery (@on-failure) scenario: runs only when the run fails
    groups: list[list[int]] = field(default_factory=list)  # step indexes per publish (pipeline.py)
    # step index -> the function's name in its shared publish, when it is not the call's own
    # (a twin: a publish holds a function once); set with the groups.
    publish_names: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.groups:
            self.groups = [[i] for i in range(len(self.steps))]

    @property
    def rollback(self) -> bool:
        """An @on-failure scenario (the name reports and the return use)."""
        return self.recovery

    def publish_fun(self, index: int) -> str:
        """The name step `index`'s function has in the publish it shares."""
        call = self.steps[index].call
        return self.publish_names.get(index) or (call.fun if call else "")


@dataclass
class Plan:
    name: str
    feature: Feature
    scenarios: list[PlannedScenario]  # what runs, batch by batch
    context: Context
    batch: Any = None  # a schedule of sizes, e.g. (("n", 1), ("percent", 50)); None: one batch
    warnings: list[str] = field(default_factory=list)
    recovery: list[PlannedScenario] = field(default_factory=list)  # @on-failure: run when the run fails
    budget: Size | None = None  # ("n", 2) / ("percent", 10): hosts that may fail; None: halt at the first
    pause: int = 0  # seconds between batches

    @property
    def target(self) -> str:
        return str(self.context.compound)

    @property
    def rollback(self) -> list[PlannedScenario]:
        """The @on-failure scenarios (the name the compiler and reports use)."""
        return self.recovery

    @property
    def all_scenarios(self) -> list[PlannedScenario]:
        """Scenarios then recovery scenarios: events index into this list."""
        return [*self.scenarios, *self.recovery]

    def step_count(self) -> int:
        return sum(len(s.steps) for s in self.scenarios)

    def master_checks(self) -> list[PlannedStep]:
        """The master-side steps of every scenario, recovery included."""
        return [st for sc in self.all_scenarios for st in sc.steps if st.check is not None]

    def uses_gates(self) -> bool:
        return any(st.gate is not None for sc in self.all_scenarios for st in sc.steps)

    def run_hooks(self) -> FleetEffects:
        """What a run of this plan keeps about the fleet from its steps' declared effects."""
        return FleetEffects()


def _raise_all(problems: Sequence[InvalidScenario]) -> None:
    if len(problems) == 1:
        raise problems[0]
    lines = "\n".join(str(p) for p in problems)
    raise InvalidScenario(f"{len(problems)} problems:\n{lines}", problems[0].location)


def match_all(registry: Any, scenarios: Sequence[Scenario]) -> list[list[Matched]]:
    """Every step of the chosen scenarios matched up front; all problems reported together."""
    matched: list[list[Matched]] = []
    problems: list[InvalidScenario] = []
    for scenario in scenarios:
        row = []
        for step in scenario.steps:
            try:
                row.append(registry.match(step))
            except InvalidScenario as exc:
                problems.append(exc)
        matched.append(row)
    if problems:
        _raise_all(problems)
    return matched


def _with_deadline(call: SaltCall, m: Matched) -> SaltCall:
    """The call with the deadline its step's wording set (`taking at most ...`), if any."""
    deadline = getattr(m, "deadline", None)
    return call if deadline is None else replace(call, deadline=deadline)


def _planned_step(m: Matched, action: object, tags: Sequence[str] = ()) -> PlannedStep:
    """A handler's return as a PlannedStep: a gate, a master-side check (under the scenario's
    tags, which carry the feature's), a bare call, or a call with its declarations."""
    if isinstance(action, MasterCheck):
        return PlannedStep(m.step, m.stepdef, m.params, check=action.with_tags(tags))
    if isinstance(action, ApprovalGate):
        if getattr(m, "deadline", None) is not None:
            raise InvalidScenario("'taking at most' does not apply to an approval step", m.step.location)
        return PlannedStep(m.step, m.stepdef, m.params, gate=action)
    if isinstance(action, StepAction):
        call = _with_deadline(action.call, m)
        return PlannedStep(m.step, m.stepdef, m.params, call=call, effects=action.effects, orch=action.orch)
    if isinstance(action, SaltCall):
        return PlannedStep(m.step, m.stepdef, m.params, call=_with_deadline(action, m))
    return PlannedStep(m.step, m.stepdef, m.params)


def _plan_scenario(
    sc: Scenario, matches: Sequence[Matched], settings: config.Settings, problems: list[InvalidScenario]
) -> tuple[PlannedScenario, Context]:
    """(PlannedScenario, Context) of one scenario; handler errors go to `problems`."""
    ctx = Context(settings=settings)
    for m in matches:
        if m.stepdef.context_only:
            try:
                m.stepdef.handler(ctx, m.step, **m.params)
            except InvalidScenario as exc:
                problems.append(exc)
    steps = []
    for m in matches:
        action = None
        if not m.stepdef.context_only:
            try:
                action = m.stepdef.handler(ctx, m.step, **m.params)
            except InvalidScenario as exc:
                problems.append(exc)
        steps.append(_planned_step(m, action, sc.tags))
    planned = PlannedScenario(sc, steps, recovery=RECOVERY_TAG in sc.tags)
    if not planned.recovery:
        planned.groups, planned.publish_names = publish_groups(planned)
    return planned, ctx


def build_plan(request: RunRequest, feature: Feature, registry: Any, settings: config.Settings) -> Plan:
    """The request's scenarios of `feature`, every step matched against `registry`, planned."""
    name, batch, max_failures = request.name, request.batch, request.max_failures
    chosen = select(feature, scenario=request.scenario, tags=request.tags)
    recovery = rollback_scenarios(feature)
    matched = match_all(registry, [*chosen, *recovery])
    problems: list[InvalidScenario] = []
    planned: list[PlannedScenario] = []
    context: Context | None = None
    for sc, matches in zip([*chosen, *recovery], matched, strict=True):
        pscenario, ctx = _plan_scenario(sc, matches, settings, problems)
        planned.append(pscenario)
        if context is None:
            context = ctx
        elif ctx.signature() != context.signature():
            # Discovery happens once per run, so every scenario must describe the same fleet.
            problems.append(
                InvalidScenario(
                    f"scenario {sc.name!r} sets up a different target, load balancer, batches or failure budget "
                    f"than {chosen[0].name!r}; run them separately with scenario=",
                    sc.location,
                )
            )
    if problems:
        _raise_all(problems)
    if context is None or not context.filters:
        raise InvalidScenario(
            'no target: add a Given step such as "I want to update hosts with class ..." '
            "or, for every host, 'I want to update hosts matching \"*\"'",
            feature.uri,
        )
    schedule = parse_schedule(batch) if batch not in (None, "") else context.batch
    budget = parse_budget(max_failures) if max_failures not in (None, "") else context.budget
    return Plan(
        name=name,
        feature=feature,
        scenarios=planned[: len(chosen)],
        context=context,
        batch=schedule,
        warnings=list(feature.warnings),
        recovery=planned[len(chosen) :],
        budget=budget,
        pause=context.pause,
    )
