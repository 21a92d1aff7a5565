"""The step reference (docs/reference/steps.md), generated from the step registry.

A Sphinx extension: as the build starts it writes the page (only when its text changed, so
Sphinx does not rebuild it for nothing). Every built-in step comes from
`builtin_registry()` (the built-in and the metric steps): its keyword and wording, its parameters with their
types; `steps/step_docs.py` adds an example line and what the step does; and the Salt call
shown is the one the engine plans for that example (`build_plan`), so the page cannot drift
from what a run does. `python docs/_ext/step_reference.py` prints the page.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from saltext.scenario import config
from saltext.scenario.engine.errors import InvalidScenario
from saltext.scenario.engine.parsing.parse import parse_feature
from saltext.scenario.engine.running.plan import build_plan
from saltext.scenario.engine.running.prepare import builtin_registry
from saltext.scenario.engine.service.request import RunRequest
from saltext.scenario.engine.steps import step_docs
from saltext.scenario.engine.steps.registry import KINDS, Registry, StepDef

PAGE = Path(__file__).resolve().parent.parent / "reference" / "steps.md"
# What every example runs under: a load balancer (a firewall's and an HAProxy one) and a target.
SETTING = (
    "Given the load balancer has ip address 198.51.100.10",
    "Given I want to update hosts with class roles::dev_server",
    "Given the load balancer is HAProxy backend web_servers on lb1",
)
HEAD = """# Step reference

Every built-in step, generated from the step registry when the docs are built: its wording
(`[ ]` marks an optional part, `{name}` a parameter), its parameters with their types, an
example, and the Salt call the engine makes for that example on each host of the batch.
Parameters are checked when the feature is matched, before anything runs. Site step
libraries (`features/steps/*.yaml`) add steps of their own: `salt-run scenario.steps` lists
every step a master knows.

Any When may end with `, taking at most N seconds` or `, taking at most N minutes` (1 second
to 24 hours): the step's own deadline, in place of a library's `deadline:` and the master's
`scenario_step_deadline`. Hosts still running it then fail (`still running after N s`) and
their job is killed. The suffix is taken off before the step is matched, so no wording below
spells it; on a Given or a Then it is refused (a Then that waits says `within N seconds`).
See [deadlines and stops](../user-guide/deadlines-and-stops.md).
"""


def registry() -> Registry:
    """The built-in steps, with their examples and texts from step_docs."""
    return step_docs.annotate(builtin_registry())


def optional_params(pattern: str) -> set[str]:
    """The parameters inside `[ ]`: a line may leave them out."""
    return {name for part in re.findall(r"\[([^\]]*)\]", pattern) for name in re.findall(r"\{(\w+)", part)}


def plan_of(reg: Registry, example: str) -> Any:
    """The plan of a feature with the example line, run under SETTING."""
    on_failure = "roll back" in example  # a rollback step belongs in an @on-failure scenario
    lines = ["Feature: reference", "  Background:", *(f"    {line}" for line in SETTING)]
    lines += ["  Scenario: deploy", "    When I update the package mywebapp"]
    if on_failure:
        lines += ["  @on-failure", "  Scenario: roll back"]
    # A multi-line example carries its doc string (a metric step's long query).
    lines += [f"    {line}" for line in example.splitlines()]
    feature = parse_feature("\n".join(lines) + "\n", "features/reference.feature")
    return build_plan(RunRequest.from_args("reference"), feature, reg, config.load({}))


def planned_step(plan: Any) -> Any:
    """The example's planned step (its call or gate): the plan's last step."""
    return (plan.rollback or plan.scenarios)[0].steps[-1]


def _value(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)


def salt_call(planned: Any, target: str = "") -> str:
    """What the example makes the engine do, in words and the Salt call; `target`: what a
    Given step adds to the run's target expression."""
    if planned.gate is not None:
        gate = planned.gate.as_dict()
        if gate.get("approval"):
            return f"none: an approval gate (waits up to {gate['within']} s for a person)"
        return f"none: a master-side gate `{gate}`"
    if planned.check is not None:
        return f"none: a master-side check, once per batch on the master (`{planned.check.describe()}`)"
    if planned.call is None:
        said = f"; the example adds `{target}` to the target (AND)" if target else ""
        return f"none: shapes the run (nothing is sent to a host){said}"
    call = planned.call.as_dict()
    parts = [call["fun"], *(_value(a) for a in call["args"]), *(f"{k}={_value(v)}" for k, v in call["kwargs"].items())]
    where = f"on the minion `{call['on']}` for the batch's hosts" if call.get("on") else "on each host of the batch"
    text = f"`{' '.join(parts)}` {where}"
    if call.get("within"):
        text += f", retried for up to {call['within']} s until it passes"
    if call.get("rollback_of"):
        text += f"; the version is, per host, the one this run's update of {call['rollback_of']} replaced"
    return text


def _params(stepdef: StepDef) -> str:
    if not stepdef.types:
        return "none"
    optional = optional_params(stepdef.pattern)
    return "; ".join(
        f"`{name}`: {ptype.describe}" + (" (optional)" if name in optional else "")
        for name, ptype in stepdef.types.items()
    )


def _section(reg: Registry, stepdef: StepDef) -> list[str]:
    head = f"### {stepdef.kind.capitalize()} `{stepdef.pattern}`"
    if not stepdef.example:
        return [head, "", "No example yet: add one to `steps/step_docs.py`.", ""]
    try:
        plan = plan_of(reg, stepdef.example)
        base = plan_of(reg, "When I block the load balancer").target
        added = plan.target.removeprefix(f"{base} and ") if plan.target != base else ""
        call = salt_call(planned_step(plan), added)
    except InvalidScenario as exc:
        raise InvalidScenario(f"the example of {stepdef.describe()} does not plan: {exc}") from None
    first, *rest = stepdef.example.splitlines()
    example = [f"- Example: `{first}`"]
    if rest:  # its doc string, as a block under the line
        example = ["- Example:", "", "  ```gherkin", f"  {first}", *(f"  {line}" for line in rest), "  ```", ""]
    return [
        head,
        "",
        stepdef.doc,
        "",
        *example,
        f"- Parameters: {_params(stepdef)}",
        f"- Salt call: {call}",
        "",
    ]


def render() -> str:
    """The whole page."""
    reg = registry()
    out = [HEAD]
    for kind in KINDS:
        out += [f"## {kind.capitalize()} steps", ""]
        for stepdef in reg.defs[kind]:
            out += _section(reg, stepdef)
    return "\n".join(out).rstrip("\n") + "\n"


def write(page: Path = PAGE) -> bool:
    """Write the page if its text changed; True when it did."""
    text = render()
    if page.exists() and page.read_text(encoding="utf-8") == text:
        return False
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(text, encoding="utf-8")
    return True


def _on_builder_inited(app: Any) -> None:
    write()


def setup(app: Any) -> dict[str, Any]:
    app.connect("builder-inited", _on_builder_inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    print(render(), end="")
