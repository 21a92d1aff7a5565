"""Master-side steps before the run: each one asked once, with the first batch, before any host
is touched; and what each would ask, for ``scenario.plan``.

A metric step whose query Prometheus rejects, or that returns several series, refuses the run
with exit 2, naming the step's ``file:line``; a Prometheus that is not configured or does not
answer refuses it with exit 3. Either way nothing has changed: this runs after discovery, after
``exclude_held`` left the held hosts out (the first batch is one that will run), and before
the first step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..ports import MetricsSource
from ..steps.master import MasterContext
from .batches import compute_batches
from .plan import Plan


def first_batch(
    plan: Plan, pinned: Sequence[str], batches: list[list[str]] | None = None, done: Mapping[int, str] | None = None
) -> list[str]:
    """The hosts of the first batch the run will touch (a resumed run skips its done batches)."""
    done = done or {}
    for index, hosts in enumerate(batches or compute_batches(list(pinned), plan.batch)):
        if index not in done and hosts:
            return list(hosts)
    return []


def check_before_run(plan: Plan, hosts: Sequence[str], transport: Any, prometheus: MetricsSource | None) -> None:
    """Ask every master-side step once for `hosts`; a ScenarioError refuses the run (2 or 3)."""
    steps = plan.master_checks()
    if not steps or not hosts:
        return
    context = MasterContext(transport, prometheus)
    for pstep in steps:
        assert pstep.check is not None  # master_checks() holds only these
        pstep.check.preflight(list(hosts), context)


def show_rendered(described: list[dict[str, Any]], plan: Plan, hosts: Sequence[str], transport: Any) -> None:
    """Add to each master-side step of `described` (prepare.describe_steps) what it would ask
    for `hosts`, the first batch: a metric step's query with the batch's values in it."""
    if not hosts:
        return
    context = MasterContext(transport, None)
    for entry, pscenario in zip(described, plan.all_scenarios, strict=True):
        for step, pstep in zip(entry["steps"], pscenario.steps, strict=True):
            if pstep.check is not None:
                step["rendered"] = pstep.check.rendered(list(hosts), context)
