"""A listener that keeps what the reports and the journal need beyond the return data.

The return data (ResultCollector) folds batches together: one status, duration and jid list
per step. Reports show each batch, and the journal needs wall-clock times and, while the run
goes, where it is and which hosts are blocked, so this keeps the step events in order, the
run_started payload, an open approval wait and UTC timestamps.
"""

import time
import uuid
from datetime import datetime, timezone

from ..running.fleet_effects import FleetEffects


def new_run_id(now=None):
    """`YYYYmmddHHMMSS-xxxxxxxx` in UTC; records/journal.py's RUN_ID_RE matches it."""
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(now))
    return f"{stamp}-{uuid.uuid4().hex[:8]}"


def utc_now():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class RunRecorder:
    def __init__(self, run_id=None):
        self.run_id = run_id or new_run_id()
        self.started_at = utc_now()
        self.finished_at = None
        self.run_started = {}
        self.step_events = []  # step_finished events in the order they happened
        self.steps = {}  # (batch, scenario, step) -> step_finished event
        self.skipped_batches = {}  # batch index -> hosts
        self.skipped_reasons = {}  # batch index -> why it did not run
        self.waiting = None  # the approval_wanted event of a wait in progress
        self.approvals = []
        self.rollback = None  # the rollback_started event
        self.finished = None  # the run_finished event
        self.fleet = FleetEffects()  # the steps' declared effects, as of the last finished step

    def __call__(self, event):
        kind = event.get("event")
        if kind == "run_started":
            self.run_started = event
        elif kind == "step_finished":
            self.step_events.append(event)
            self.steps[(event["batch"], event["scenario"], event["step"])] = event
            self.fleet.observe(event)
        elif kind == "batch_skipped":
            self.skipped_batches[event["batch"]] = list(event["hosts"])
            self.skipped_reasons[event["batch"]] = event.get("reason") or "halted"
        elif kind == "approval_wanted":
            self.waiting = event
        elif kind == "approval_finished":
            self.waiting = None
            self.approvals.append(event)
        elif kind == "rollback_started":
            self.rollback = event
        elif kind == "run_finished":
            self.finished = event
            self.finished_at = utc_now()

    @property
    def blocked(self):
        """Hosts out of the load balancer as of the last finished step."""
        return self.fleet.blocked

    def finish(self):
        if self.finished_at is None:
            self.finished_at = utc_now()

    def step_event(self, batch, scenario, step):
        return self.steps.get((batch, scenario, step))

    @property
    def position(self):
        """The last finished (or skipped) step: where a run that died stopped."""
        if not self.step_events:
            return None
        last = self.step_events[-1]
        return {
            key: last.get(key) for key in ("phase", "batch", "scenario_name", "keyword", "text", "location", "status")
        }
