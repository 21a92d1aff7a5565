"""The runner's return data, built from the events of one run (see contracts.py).

Per step it folds the batches together: one status, duration and jid list per step, with a
verdict per pinned host. @on-failure scenarios follow the run's own scenarios, with a
verdict per host they ran on.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, Final, Literal, TypedDict, cast

from .. import contracts
from ..contracts import (
    ApprovalRecord,
    CallInfo,
    Event,
    FailedHost,
    GateInfo,
    HostResult,
    RunFinished,
    RunReturn,
    RunStarted,
    ScenarioResult,
    Status,
    StepFinished,
    StepResult,
)
from ..errors import EXIT_BUDGET, EXIT_FAILED, RESULTS
from ..running.plan import Plan, PlannedStep

INTERRUPTED: Final = "interrupted"
# The reason the executor gives a host whose step a stop cut short (its job killed after the grace).
INTERRUPTED_MID_STEP = contracts.INTERRUPTED_MID_STEP
# The summary's word for a step or scenario whose failed hosts the failure budget allowed (exit 5).
WITHIN_BUDGET = "within budget"


class _StepMeta(TypedDict):
    duration: float
    jids: list[str]
    ran: bool


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _counts(statuses: Sequence[str]) -> str:
    order = ("passed", "failed", WITHIN_BUDGET, INTERRUPTED, "skipped")
    parts = [f"{statuses.count(s)} {s}" for s in order if statuses.count(s)]
    return f" ({', '.join(parts)})" if parts else ""


def summary_line(
    scenario_statuses: Sequence[str],
    step_statuses: Sequence[str],
    hosts: int,
    duration: float,
    extra: Iterable[str] = (),
) -> str:
    parts = [
        f"{_plural(len(scenario_statuses), 'scenario')}{_counts(scenario_statuses)}",
        f"{_plural(len(step_statuses), 'step')}{_counts(step_statuses)}",
        _plural(hosts, "host"),
        *extra,
        f"{duration:.1f}s",
    ]
    return ", ".join(parts)


def fold_statuses(statuses: Sequence[Status | None]) -> Status:
    """One status for many: interrupted if a stop cut any short, else failed if any failed,
    passed if all passed, else skipped."""
    if INTERRUPTED in statuses:
        return INTERRUPTED
    if "failed" in statuses:
        return "failed"
    if statuses and all(s == "passed" for s in statuses):
        return "passed"
    return "skipped"


def fold_hosts(per_host: Mapping[str, HostResult], left: Collection[str] = ()) -> Status:
    """A step's status from its hosts' verdicts. A host that failed earlier and left the run
    (`left`) is skipped on later steps; that does not make the step skipped for the hosts that
    went on (exit 5: the run finished without it)."""
    return fold_statuses([r["status"] for h, r in per_host.items() if not (h in left and r["status"] == "skipped")])


def host_status(res: Mapping[str, Any]) -> Status:
    """A host's verdict on a step from its result: passed, failed, or interrupted (a stop cut
    its step short: it neither passed nor failed the check)."""
    if res.get("ok"):
        return "passed"
    if res.get("status") == INTERRUPTED or str(res.get("reason") or "").startswith(INTERRUPTED_MID_STEP):
        return INTERRUPTED
    return "failed"


def scenario_status(step_statuses: Sequence[Status], interrupted: bool = False) -> Status:
    """A scenario's status from its steps'; in an interrupted run (exit 6) a scenario that
    started (a step passed) and did not finish was cut short: interrupted, not skipped."""
    status = fold_statuses(step_statuses)
    if interrupted and status == "skipped" and "passed" in step_statuses:
        return INTERRUPTED
    return status


def summary_words(statuses: Iterable[str], retcode: int) -> list[str]:
    """The statuses as the summary counts them: in a run within its failure budget (exit 5),
    what failed reads "within budget"."""
    if retcode != EXIT_BUDGET:
        return list(statuses)
    return [WITHIN_BUDGET if s == "failed" else s for s in statuses]


class ResultCollector:
    """Builds the runner's structured return from the events of one run."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.started: RunStarted | None = None
        self.finished: RunFinished | None = None
        self.not_started: list[str] = []  # hosts of batches skipped because the run halted or was interrupted
        self.done_earlier: list[str] = []  # hosts of batches a resumed run found passed
        self.rollback_hosts: list[str] = []
        self.approvals: list[ApprovalRecord] = []
        self.host_status: dict[tuple[int, int], dict[str, HostResult]] = {}  # (scenario, step) -> {host: {...}}
        self.step_meta: dict[tuple[int, int], _StepMeta] = {}  # (scenario, step) -> {"duration", "jids", "ran"}
        self.left: set[str] = set()  # hosts that failed a step of the run's own scenarios: they left the run

    def __call__(self, event: Event) -> None:
        if event["event"] == "run_started":
            self.started = event
        elif event["event"] == "run_finished":
            self.finished = event
        elif event["event"] == "batch_skipped":
            if event.get("reason") in (None, "halted", "interrupted"):
                self.not_started.extend(event["hosts"])
            else:
                self.done_earlier.extend(event["hosts"])
        elif event["event"] == "rollback_started":
            self.rollback_hosts = list(event["hosts"])
        elif event["event"] == "approval_finished":
            self.approvals.append(
                {
                    "batch": event.get("batch"),
                    "approved": event.get("approved"),
                    "user": event.get("user"),
                    "reason": event.get("reason"),
                }
            )
        elif event["event"] == "step_finished":
            self._step_finished(event)

    def _step_finished(self, event: StepFinished) -> None:
        key = (event["scenario"], event["step"])
        hosts = self.host_status.setdefault(key, {})
        meta = self.step_meta.setdefault(key, {"duration": 0.0, "jids": [], "ran": False})
        meta["duration"] += event["duration"]
        meta["jids"].extend(event["jids"])
        meta["ran"] = meta["ran"] or event["status"] != "skipped"
        for host in event["hosts_in_batch"]:
            res = event["results"].get(host)
            if res is None:
                # Not called: the step was skipped, or the host had already left the run.
                hosts[host] = {"status": "skipped"}
            else:
                hosts[host] = {
                    "status": host_status(res),
                    "reason": res["reason"],
                    "ret": res["ret"],
                }
                if res.get("summary"):
                    hosts[host]["summary"] = res["summary"]

    def _step(self, key: tuple[int, int], pstep: PlannedStep, hosts_of_scenario: list[str]) -> StepResult:
        hosts = self.host_status.get(key, {})
        meta = self.step_meta.get(key, {"duration": 0.0, "jids": [], "ran": False})
        per_host: dict[str, HostResult]
        status: Status
        if pstep.context_only:
            per_host = {}
            status = "passed" if meta["ran"] else "skipped"
        else:
            per_host = {h: hosts.get(h, {"status": "skipped"}) for h in hosts_of_scenario}
            status = fold_hosts(per_host, self.left)
        data: StepResult = {
            "keyword": pstep.step.keyword,
            "text": pstep.step.text,
            "location": pstep.step.location,
            "status": status,
            "duration": round(meta["duration"], 3),
            "jids": meta["jids"],
            "call": cast("CallInfo | None", pstep.call_info()),
            "hosts": per_host,
        }
        if pstep.gate is not None:
            data["gate"] = cast("GateInfo", pstep.gate.as_dict())
        if pstep.check is not None:
            data["check"] = pstep.check.as_dict()
        return data

    def _scenarios(self, pinned: list[str]) -> list[ScenarioResult]:
        scenarios: list[ScenarioResult] = []
        for s_index, ps in enumerate(self.plan.all_scenarios):
            hosts = self.rollback_hosts if ps.rollback else pinned
            steps = [self._step((s_index, i), st, hosts) for i, st in enumerate(ps.steps)]
            statuses = [s["status"] for s in steps]
            entry: ScenarioResult = {
                "name": ps.scenario.name,
                "location": ps.scenario.location,
                "tags": list(ps.scenario.tags),
                "status": scenario_status(statuses, self._interrupted())
                if not (ps.rollback and not self.rollback_hosts)
                else "skipped",
                "steps": steps,
            }
            if ps.rollback:
                entry["on_failure"] = True
            scenarios.append(entry)
        return scenarios

    def _interrupted(self) -> bool:
        return bool(self.finished and self.finished.get("interrupted"))

    @staticmethod
    def _failed_hosts(scenarios: list[ScenarioResult]) -> dict[str, FailedHost]:
        failed: dict[str, FailedHost] = {}
        for scenario in scenarios:
            if scenario.get("on_failure"):
                continue
            for step in scenario["steps"]:
                for host, res in step["hosts"].items():
                    if res["status"] == "failed" and host not in failed:
                        failed[host] = {
                            "step": f"{step['keyword']} {step['text']}",
                            "location": step["location"],
                            "reason": res.get("reason"),
                        }
        return failed

    def result(self) -> RunReturn:
        pinned = self.started["pinned"] if self.started else []
        recovery = {i for i, ps in enumerate(self.plan.all_scenarios) if ps.rollback}
        self.left = {
            h
            for (s, _p), hosts in self.host_status.items()
            if s not in recovery
            for h, r in hosts.items()
            if r["status"] == "failed"
        }
        scenarios = self._scenarios(pinned)
        finished: RunFinished | dict[str, Any] = self.finished or {}
        retcode = finished.get("retcode", EXIT_FAILED)
        duration = finished.get("duration", 0.0)
        main = [s for s in scenarios if not s.get("on_failure")]
        extra: list[str] = []
        rollback = finished.get("rollback")
        if rollback:
            extra.append(f"{_plural(len(rollback['rolled_back']), 'host')} rolled back")
        failed_hosts = self._failed_hosts(scenarios)
        if retcode == EXIT_BUDGET:
            allowed = finished.get("allowed_failures", 0)
            extra.append(f"{_plural(len(failed_hosts), 'host')} failed within the budget of {allowed}")
        ret: RunReturn = {
            "retcode": retcode,
            "result": RESULTS.get(retcode, "failed"),
            "name": self.plan.name,
            "feature": self.plan.feature.name,
            "uri": self.plan.feature.uri,
            "run_id": self.started["run_id"] if self.started else None,
            "target": self.plan.target,
            "pinned": pinned,
            "batches": self.started["batches"] if self.started else [],
            "scenarios": scenarios,
            "failed_hosts": failed_hosts,
            "still_blocked": finished.get("still_blocked", []),
            "not_started": sorted(self.not_started),
            "duration": duration,
            "warnings": list(self.plan.warnings),
            "summary": summary_line(
                summary_words([s["status"] for s in main], retcode),
                summary_words([st["status"] for s in main for st in s["steps"]], retcode),
                len(pinned),
                duration,
                extra,
            ),
        }
        key: Literal["interrupted", "halted"]
        for key in ("interrupted", "halted"):
            if finished.get(key):
                ret[key] = finished[key]
        if self.plan.budget is not None:
            ret["allowed_failures"] = finished.get("allowed_failures", 0)
        if rollback:
            ret["rollback"] = rollback
        if self.approvals:
            ret["approvals"] = self.approvals
        if self.done_earlier:
            ret["done_earlier"] = sorted(self.done_earlier)
        return ret
