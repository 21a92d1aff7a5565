"""A listener that keeps what the reports and the journal need beyond the return data.

The return data (ResultCollector) folds batches together: one status, duration and jid list
per step. Reports show each batch, and the journal needs wall-clock times and, while the run
goes, where it is and which hosts are blocked, so this keeps the step events in order, the
run_started payload, an open approval wait and UTC timestamps.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone
from typing import Any

from ..contracts import (
    ApprovalFinished,
    ApprovalWanted,
    Event,
    Position,
    RecordedStep,
    RollbackStarted,
    RunFinished,
    RunStarted,
)
from ..running.fleet_effects import FleetEffects


def new_run_id(now: float | None = None) -> str:
    """`YYYYmmddHHMMSS-xxxxxxxx` in UTC; records/journal.py's RUN_ID_RE matches it."""
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(now))
    return f"{stamp}-{uuid.uuid4().hex[:8]}"


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class RunRecorder:
    def __init__(self, run_id: str | None = None) -> None:
        self.run_id = run_id or new_run_id()
        self.started_at = utc_now()
        self.finished_at: str | None = None
        # The run_started event; a run replayed from its journal record has only part of it.
        self.run_started: RunStarted | dict[str, Any] = {}
        self.step_events: list[RecordedStep] = []  # step_finished events in the order they happened
        self.steps: dict[tuple[int, int, int], RecordedStep] = {}  # (batch, scenario, step) -> step_finished event
        self.skipped_batches: dict[int, list[str]] = {}  # batch index -> hosts
        self.skipped_reasons: dict[int, str] = {}  # batch index -> why it did not run
        self.waiting: ApprovalWanted | None = None  # the approval_wanted event of a wait in progress
        self.approvals: list[ApprovalFinished] = []
        self.rollback: RollbackStarted | None = None  # the rollback_started event
        self.finished: RunFinished | None = None  # the run_finished event
        self.fleet = FleetEffects()  # the steps' declared effects, as of the last finished step

    def __call__(self, event: Event) -> None:
        if event["event"] == "run_started":
            self.run_started = event
        elif event["event"] == "step_finished":
            self.step_events.append(event)
            self.steps[(event["batch"], event["scenario"], event["step"])] = event
            self.fleet.observe(event)
        elif event["event"] == "batch_skipped":
            self.skipped_batches[event["batch"]] = list(event["hosts"])
            self.skipped_reasons[event["batch"]] = event.get("reason") or "halted"
        elif event["event"] == "approval_wanted":
            self.waiting = event
        elif event["event"] == "approval_finished":
            self.waiting = None
            self.approvals.append(event)
        elif event["event"] == "rollback_started":
            self.rollback = event
        elif event["event"] == "run_finished":
            self.finished = event
            self.finished_at = utc_now()

    @property
    def blocked(self) -> set[str]:
        """Hosts out of the load balancer as of the last finished step."""
        return self.fleet.blocked

    def finish(self) -> None:
        if self.finished_at is None:
            self.finished_at = utc_now()

    def step_event(self, batch: int, scenario: int, step: int) -> RecordedStep | None:
        return self.steps.get((batch, scenario, step))

    @property
    def position(self) -> Position | None:
        """The last finished (or skipped) step: where a run that died stopped."""
        if not self.step_events:
            return None
        last = self.step_events[-1]
        return {
            "phase": last.get("phase"),
            "batch": last.get("batch"),
            "scenario_name": last.get("scenario_name"),
            "keyword": last.get("keyword"),
            "text": last.get("text"),
            "location": last.get("location"),
            "status": last.get("status"),
        }
