"""Matched feature + Given context + options -> the Plan: target, batches, budget, a call per step."""

from dataclasses import dataclass, field

from ... import config
from ..errors import InvalidScenario
from ..parsing.parse import rollback_scenarios, select
from .batches import parse_budget, parse_schedule
from .context import Context
from .pipeline import publish_groups


@dataclass
class PlannedStep:
    step: object
    stepdef: object
    params: dict
    call: object = None  # SaltCall; None for Given steps that only shape the context
    gate: object = None  # ApprovalGate for "Then I wait for approval": a person, not a host, answers

    @property
    def context_only(self):
        return self.call is None and self.gate is None

    def as_dict(self):
        data = {"keyword": self.step.keyword, "text": self.step.text, "location": self.step.location}
        data["call"] = self.call.as_dict() if self.call else None
        if self.gate is not None:
            data["gate"] = self.gate.as_dict()
        return data


@dataclass
class PlannedScenario:
    scenario: object
    steps: list
    rollback: bool = False  # an @on-failure scenario
    groups: list = None  # step indexes per publish (pipeline.py); None: one step each

    def __post_init__(self):
        if self.groups is None:
            self.groups = [[i] for i in range(len(self.steps))]


@dataclass
class Plan:
    name: str
    feature: object
    scenarios: list  # what runs, batch by batch
    context: Context
    batch: tuple = None  # a schedule of sizes, e.g. (("n", 1), ("percent", 50)); None: one batch
    warnings: list = field(default_factory=list)
    rollback: list = field(default_factory=list)  # @on-failure scenarios, run when the run fails
    budget: tuple = None  # ("n", 2) / ("percent", 10): hosts that may fail; None: halt at the first
    pause: int = 0  # seconds between batches

    @property
    def target(self):
        return self.context.compound

    @property
    def all_scenarios(self):
        """Scenarios then @on-failure scenarios: events index into this list."""
        return [*self.scenarios, *self.rollback]

    def step_count(self):
        return sum(len(s.steps) for s in self.scenarios)

    def uses_gates(self):
        return any(st.gate is not None for sc in self.all_scenarios for st in sc.steps)


def _raise_all(problems):
    if len(problems) == 1:
        raise problems[0]
    lines = "\n".join(str(p) for p in problems)
    raise InvalidScenario(f"{len(problems)} problems:\n{lines}", problems[0].location)


def match_all(registry, scenarios):
    """Every step of the chosen scenarios matched up front; all problems reported together."""
    matched, problems = [], []
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


def _plan_scenario(sc, matches, settings, problems):
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
        if getattr(action, "is_gate", False):
            steps.append(PlannedStep(m.step, m.stepdef, m.params, gate=action))
        else:
            steps.append(PlannedStep(m.step, m.stepdef, m.params, call=action))
    planned = PlannedScenario(sc, steps, rollback="@on-failure" in sc.tags)
    if not planned.rollback:
        planned.groups = publish_groups(planned)
    return planned, ctx


def build_plan(name, feature, registry, opts=None, scenario=None, tags=None, batch=None, max_failures=None):
    settings = config.load(opts or {})
    chosen = select(feature, scenario=scenario, tags=tags)
    rollbacks = rollback_scenarios(feature)
    matched = match_all(registry, [*chosen, *rollbacks])
    problems, planned, context = [], [], None
    for sc, matches in zip([*chosen, *rollbacks], matched, strict=True):
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
    if not context.filters:
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
        rollback=planned[len(chosen) :],
        budget=budget,
        pause=context.pause,
    )
