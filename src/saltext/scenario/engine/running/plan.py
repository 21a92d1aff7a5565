"""Matched feature + Given context + options -> the Plan: target, batch size, a call per step."""

from dataclasses import dataclass, field

from ... import config
from ..errors import InvalidScenario
from ..parsing.parse import select
from .batches import parse_batch
from .context import Context


@dataclass
class PlannedStep:
    step: object
    stepdef: object
    params: dict
    call: object = None  # SaltCall; None for Given steps that only shape the context

    @property
    def context_only(self):
        return self.call is None

    def as_dict(self):
        data = {"keyword": self.step.keyword, "text": self.step.text, "location": self.step.location}
        data["call"] = self.call.as_dict() if self.call else None
        return data


@dataclass
class PlannedScenario:
    scenario: object
    steps: list


@dataclass
class Plan:
    name: str
    feature: object
    scenarios: list
    context: Context
    batch: tuple = None
    warnings: list = field(default_factory=list)

    @property
    def target(self):
        return self.context.compound

    def step_count(self):
        return sum(len(s.steps) for s in self.scenarios)


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


def build_plan(name, feature, registry, opts=None, scenario=None, tags=None, batch=None):
    settings = config.load(opts or {})
    chosen = select(feature, scenario=scenario, tags=tags)
    matched = match_all(registry, chosen)
    problems, planned, context = [], [], None
    for sc, matches in zip(chosen, matched, strict=True):
        ctx = Context(settings=settings)
        for m in matches:
            if m.stepdef.context_only:
                try:
                    m.stepdef.handler(ctx, m.step, **m.params)
                except InvalidScenario as exc:
                    problems.append(exc)
        steps = []
        for m in matches:
            call = None
            if not m.stepdef.context_only:
                try:
                    call = m.stepdef.handler(ctx, m.step, **m.params)
                except InvalidScenario as exc:
                    problems.append(exc)
            steps.append(PlannedStep(m.step, m.stepdef, m.params, call))
        planned.append(PlannedScenario(sc, steps))
        if context is None:
            context = ctx
        elif ctx.signature() != context.signature():
            # Discovery happens once per run, so every scenario must describe the same fleet.
            problems.append(
                InvalidScenario(
                    f"scenario {sc.name!r} sets up a different target, load balancer or batch size than "
                    f"{chosen[0].name!r}; run them separately with scenario=",
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
    spec = parse_batch(batch) if batch not in (None, "") else context.batch
    return Plan(
        name=name, feature=feature, scenarios=planned, context=context, batch=spec, warnings=list(feature.warnings)
    )
