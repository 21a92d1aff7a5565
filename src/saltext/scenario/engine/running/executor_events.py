"""The events an Executor emits, built from the run's plan (plain dicts, see contracts.py).

The Executor decides what runs and what it came to; this module only says it in the shape
the reporters read: the run's start with its whole plan (what a report needs even if the
run dies), batches, each step's start and verdicts, approvals, and the run's end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

from ..contracts import StepFinished, StepStarted
from ..steps.effects import NO_EFFECTS, RECOVERY_RESULT
from .approval import Decision
from .calling import Results
from .plan import Plan, PlannedStep

DEPLOY_PHASE = "deploy"


class RunEvents:
    """The events of one run (`run_id`) of `plan`."""

    def __init__(self, plan: Plan, run_id: str) -> None:
        self.plan = plan
        self.run_id = run_id

    def run_started(self, pinned: Sequence[str], batches: list[list[str]], allowed: int) -> dict[str, object]:
        plan = self.plan
        return {
            "event": "run_started",
            "run_id": self.run_id,
            "name": plan.name,
            "feature": plan.feature.name,
            "uri": plan.feature.uri,
            "target": plan.target,
            "feature_line": plan.feature.line,
            "feature_description": plan.feature.description,
            "feature_tags": list(plan.feature.tags),
            "pinned": sorted(pinned),
            "batches": batches,
            "scenarios": [s.scenario.name for s in plan.all_scenarios],
            # Every step, run or not: what a report of this run needs even if it dies.
            "plan": [
                {
                    "name": s.scenario.name,
                    "location": s.scenario.location,
                    "tags": list(s.scenario.tags),
                    "on_failure": s.recovery,
                    "steps": [st.as_dict() for st in s.steps],
                }
                for s in plan.all_scenarios
            ],
            "allowed_failures": allowed,
            "feature_sha256": plan.feature.sha256,
            # Steps that ask hosts something, per batch: a batch passed when all of them did.
            "deploy_steps": sum(1 for sc in plan.scenarios for st in sc.steps if not st.context_only),
        }

    def batch_started(self, b_index: int, hosts: list[str], count: int, elapsed: float) -> dict[str, object]:
        return {
            "event": "batch_started",
            "run_id": self.run_id,
            "batch": b_index,
            "count": count,
            "hosts": list(hosts),
            "elapsed": round(elapsed, 3),
        }

    def batch_skipped(self, b_index: int, hosts: list[str], why: str) -> dict[str, object]:
        return {"event": "batch_skipped", "run_id": self.run_id, "batch": b_index, "hosts": hosts, "reason": why}

    def step_started(
        self, b_index: int, s_index: int, indexes: Sequence[int], hosts: Sequence[str], phase: str
    ) -> StepStarted:
        """Before a step's (or a fused group's) publish: its hosts and the union of its declared effects."""
        pscenario = self.plan.all_scenarios[s_index]
        steps = [pscenario.steps[i] for i in indexes]
        effects = NO_EFFECTS
        for pstep in steps:
            effects = effects.union(pstep.effects)
        lead = steps[0]
        return {
            "event": "step_started",
            "run_id": self.run_id,
            "phase": phase,
            "batch": b_index,
            "scenario": s_index,
            "scenario_name": pscenario.scenario.name,
            "step": indexes[0],
            "keyword": lead.step.keyword,
            "text": lead.step.text,
            "location": lead.step.location,
            "hosts": list(hosts),
            "effects": effects.as_dict(),
            "steps": [
                {"step": i, "location": st.step.location, "effects": st.effects_info()}
                for i, st in zip(indexes, steps, strict=True)
            ],
        }

    def step_finished(
        self,
        b_index: int,
        s_index: int,
        p_index: int,
        pstep: PlannedStep,
        status: str,
        hosts: Sequence[str],
        results: Results | None = None,
        jids: Sequence[str] = (),
        duration: float = 0.0,
        phase: str = DEPLOY_PHASE,
    ) -> StepFinished:
        results = results or {}
        event = {
            "event": "step_finished",
            "run_id": self.run_id,
            "phase": phase,
            "batch": b_index,
            "scenario": s_index,
            "scenario_name": self.plan.all_scenarios[s_index].scenario.name,
            "step": p_index,
            "keyword": pstep.step.keyword,
            "text": pstep.step.text,
            "location": pstep.step.location,
            "status": status,
            "hosts_in_batch": list(hosts),
            "results": results,
            "passed": sorted(h for h, r in results.items() if r["ok"]),
            "failed": sorted(h for h, r in results.items() if not r["ok"]),
            "jids": [j for j in jids if j],
            "duration": round(duration, 3),
            "call": pstep.call_info(),
            "effects": pstep.effects_info(),
        }
        return cast(StepFinished, event)

    def approval_wanted(self, b_index: int, hosts: Sequence[str], so_far: list[str], timeout: int) -> dict[str, object]:
        return {
            "event": "approval_wanted",
            "run_id": self.run_id,
            "batch": b_index,
            "hosts": list(hosts),
            "hosts_so_far": so_far,
            "timeout": timeout,
            "approve": f"salt-run scenario.approve {self.run_id}",
            "abort": f"salt-run scenario.abort {self.run_id} reason='...'",
        }

    def approval_finished(self, b_index: int, decision: Decision) -> dict[str, object]:
        return {
            "event": "approval_finished",
            "run_id": self.run_id,
            "batch": b_index,
            "approved": decision.approved,
            "user": decision.user,
            "reason": decision.reason,
        }

    def run_finished(
        self,
        retcode: int,
        duration: float,
        interrupted: str | None,
        halted: str | None,
        left: Mapping[str, dict[str, object]],
        allowed: int,
        recovery: dict[str, object] | None,
        fields: Mapping[str, object],
    ) -> dict[str, object]:
        return {
            "event": "run_finished",
            "run_id": self.run_id,
            "retcode": retcode,
            "duration": round(duration, 3),
            "interrupted": interrupted,
            "halted": halted,
            "left": dict(sorted(left.items())),
            "allowed_failures": allowed,
            RECOVERY_RESULT: recovery,
            **fields,
        }
