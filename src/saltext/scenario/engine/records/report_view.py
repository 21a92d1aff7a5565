"""One walk over a finished run for the report writers: scenario x batch x step.

Statuses and per-host verdicts come from the return data (ResultCollector), so a report can
never disagree with `salt-run scenario.run`; durations and jids per batch come from the
step events a RunRecorder kept.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from ..contracts import HostResult, RollbackInfo, RunReturn, ScenarioResult, Status, StepHost
from ..errors import RUN_RESULTS
from .result import fold_hosts
from .run_recorder import RunRecorder


@dataclass
class StepView:
    keyword: str
    text: str
    location: str
    status: Status
    duration: float  # seconds, this batch only
    jids: list[str]
    hosts: dict[str, StepHost] = field(default_factory=dict)  # empty for Given steps
    context_only: bool = False

    @property
    def title(self) -> str:
        return f"{self.keyword} {self.text}"

    def failed_hosts(self) -> dict[str, str | None]:
        return {h: r.get("reason") for h, r in sorted(self.hosts.items()) if r.get("status") == "failed"}

    def error_message(self) -> str | None:
        """Every failed host and why, one per line, or None."""
        failed = self.failed_hosts()
        if not failed and self.status != "failed":
            return None
        lines = [f"{self.title} failed at {self.location} on {len(failed)} host(s):"]
        lines += [f"{host}: {reason}" for host, reason in failed.items()]
        return "\n".join(lines)


@dataclass
class BatchView:
    index: int
    count: int
    hosts: list[str]
    started: bool
    steps: list[StepView]


def _batch_status(per_host: dict[str, HostResult], left: Collection[str]) -> Status:
    return fold_hosts(per_host, left)


def _groups(ret: RunReturn, scenario: ScenarioResult) -> list[tuple[int, list[str], bool]]:
    """(event batch index, hosts, started) per group: the batches, or the rollback's hosts."""
    if scenario.get("on_failure"):
        rollback: RollbackInfo | dict[str, list[str]] = ret.get("rollback") or {}
        hosts = rollback.get("hosts") or []
        return [(-1, hosts, bool(hosts))]
    not_started = set(ret.get("not_started") or ())
    return [
        (b, hosts, not hosts or not set(hosts) <= not_started) for b, hosts in enumerate(ret.get("batches") or [[]])
    ]


def scenario_batches(ret: RunReturn, recorder: RunRecorder | None, s_index: int) -> list[BatchView]:
    """BatchViews of scenario number `s_index` of a run's return data (one for a rollback)."""
    scenario = ret["scenarios"][s_index]
    groups = _groups(ret, scenario)
    views: list[BatchView] = []
    for position, (b_index, hosts, started) in enumerate(groups):
        steps: list[StepView] = []
        for p_index, step in enumerate(scenario["steps"]):
            event = recorder.step_event(b_index, s_index, p_index) if recorder else None
            # Given steps ask no host anything; an approval step is answered per host.
            context_only = step.get("call") is None and "gate" not in step and "check" not in step
            per_host: dict[str, HostResult]
            if context_only:
                # Given steps shape the whole run and run once; later batches ran under them.
                status = step["status"] if started and (position == 0 or step["status"] == "passed") else "skipped"
                per_host = {}
            else:
                per_host = {h: step["hosts"].get(h, {"status": "skipped"}) for h in hosts}
                status = _batch_status(per_host, ret.get("failed_hosts") or {})
            steps.append(
                StepView(
                    keyword=step["keyword"],
                    text=step["text"],
                    location=step["location"],
                    status=status,
                    duration=float(event["duration"]) if event else 0.0,
                    jids=list(event["jids"]) if event else [],
                    context_only=context_only,
                    hosts={h: {"status": r.get("status"), "reason": r.get("reason")} for h, r in per_host.items()},
                )
            )
        views.append(BatchView(index=position, count=len(groups), hosts=list(hosts), started=started, steps=steps))
    return views


def is_run(ret: RunReturn) -> bool:
    """True for the return of a run that executed (any exit but 2/3/4), False when it never started."""
    return ret.get("result") in RUN_RESULTS and "scenarios" in ret
