"""A request's feature read, parsed and matched into a Plan; what validate, plan and steps show.

Everything here raises ScenarioError for a bad feature or argument; the service turns it
into the error return (``service/returns.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ...config import Settings
from ..errors import EXIT_PASSED
from ..parsing.names import FEATURES_DIR, decode, feature_path, name_of
from ..parsing.parse import parse_feature
from ..ports import FeatureSource, Transport, close_quietly
from ..steps import builtin_steps
from ..steps.library import STEPS_DIR, load_libraries
from ..steps.registry import Registry
from .batches import allowed_failures, compute_batches, describe_budget, describe_schedule
from .discover import Discovery, discover
from .plan import Plan, build_plan

if TYPE_CHECKING:  # annotations only: the request is a value the service hands down
    from ..service.request import RunRequest

Result = dict[str, Any]


def load_feature(source: FeatureSource, name: Any) -> Any:
    path = feature_path(name)  # validates the name before anything is read
    return parse_feature(decode(source.read(path), path), path)


def make_registry(source: FeatureSource, settings: Settings) -> Registry:
    registry = builtin_steps.register(Registry())
    load_libraries(source, registry, settings)
    return registry


def prepare(settings: Settings, request: RunRequest, source: FeatureSource) -> Plan:
    """Read, parse and match the request's feature into a Plan."""
    feature = load_feature(source, request.name)
    registry = make_registry(source, settings)
    return build_plan(
        request.name,
        feature,
        registry,
        settings,
        scenario=request.scenario,
        tags=request.tags,
        batch=request.batch,
        max_failures=request.max_failures,
    )


def describe_steps(plan: Plan) -> list[dict[str, Any]]:
    """The plan's scenarios; each When/Then step says which publish (Salt job) it goes in."""
    described = []
    for ps in plan.all_scenarios:
        steps: list[dict[str, Any]] = [st.as_dict() for st in ps.steps]
        for number, group in enumerate(g for g in ps.groups if not ps.steps[g[0]].context_only):
            for position, index in enumerate(group):
                steps[index]["publish"] = number + 1
                if position:
                    steps[index]["fused"] = True
                    steps[index]["publish_fun"] = ps.publish_fun(index)
        entry: dict[str, Any] = {
            "name": ps.scenario.name,
            "location": ps.scenario.location,
            "tags": list(ps.scenario.tags),
        }
        if ps.rollback:
            entry["on_failure"] = True
        described.append({**entry, "steps": steps})
    return described


def _publishes(plan: Plan) -> int:
    return sum(1 for ps in plan.scenarios for g in ps.groups if not ps.steps[g[0]].context_only)


def validate(settings: Settings, request: RunRequest, source: FeatureSource) -> Result:
    """Parse and match only; no minion is contacted."""
    plan = prepare(settings, request, source)
    feature: Any = plan.feature  # parsing/model.py:Feature
    return {
        "retcode": EXIT_PASSED,
        "result": "valid",
        "name": request.name,
        "uri": feature.uri,
        "feature": feature.name,
        "target": plan.target,
        "batch": plan.batch,
        "scenarios": describe_steps(plan),
        "warnings": plan.warnings,
        "summary": f"{len(plan.scenarios)} scenario(s), {plan.step_count()} steps: valid",
    }


def plan_result(plan: Plan, found: Discovery) -> Result:
    batches = compute_batches(found.pinned, plan.batch)
    calls = sum(1 for ps in plan.scenarios for st in ps.steps if st.call)
    allowed = allowed_failures(plan.budget, len(found.pinned))
    feature: Any = plan.feature  # parsing/model.py:Feature
    return {
        "retcode": EXIT_PASSED,
        "result": "plan",
        "test": True,
        "name": plan.name,
        "uri": feature.uri,
        "feature": feature.name,
        "target": plan.target,
        "pinned": found.pinned,
        "expected": found.expected,
        "missing": found.missing,
        "batches": batches,
        "scenarios": describe_steps(plan),
        "warnings": plan.warnings + found.warnings,
        "schedule": describe_schedule(plan.batch),
        "budget": describe_budget(plan.budget),
        "allowed_failures": allowed,
        "publishes_per_batch": _publishes(plan),
        "summary": f"would run {calls} Salt call(s) in {_publishes(plan)} publish(es) per batch on "
        f"{len(found.pinned)} host(s) in {len(batches)} batch(es) ({describe_schedule(plan.batch)}); "
        f"up to {allowed} host(s) may fail; nothing was changed",
    }


def plan(
    settings: Settings, request: RunRequest, source: FeatureSource, transport_factory: Callable[[], Transport]
) -> Result:
    """Resolve, match and discover; show the pinned hosts and the Salt call per step. Changes nothing."""
    the_plan = prepare(settings, request, source)
    transport = transport_factory()
    try:
        found = discover(transport, the_plan.context)
    finally:
        close_quietly(transport)
    return plan_result(the_plan, found)


def list_features(source: FeatureSource) -> Result:
    paths = [p for p in source.list(FEATURES_DIR + "/") if p.endswith(".feature") and not p.startswith(STEPS_DIR + "/")]
    return {"retcode": EXIT_PASSED, "features": sorted(name_of(p) for p in paths)}


def steps(settings: Settings, source: FeatureSource) -> Result:
    """Every step definition: built-ins and the site libraries, with where each comes from."""
    registry = make_registry(source, settings)
    return {
        "retcode": EXIT_PASSED,
        "steps": [{"kind": d.kind, "pattern": d.pattern, "origin": d.origin} for d in registry.all()],
    }
