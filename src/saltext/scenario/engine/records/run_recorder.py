"""A listener that keeps what the reports and the journal need beyond the return data.

The return data (ResultCollector) folds batches together: one status, duration and jid list
per step. Reports show each batch, and the journal needs wall-clock times, so this keeps the
step events per (batch, scenario, step), the run_started payload and UTC timestamps.
"""

import time
import uuid
from datetime import datetime, timezone


def new_run_id(now=None):
    """`YYYYmmddHHMMSS-xxxxxxxx` in UTC; engine/journal.py's RUN_ID_RE matches it."""
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
        self.steps = {}  # (batch, scenario, step) -> step_finished event
        self.skipped_batches = {}  # batch index -> hosts

    def __call__(self, event):
        kind = event.get("event")
        if kind == "run_started":
            self.run_started = event
        elif kind == "step_finished":
            self.steps[(event["batch"], event["scenario"], event["step"])] = event
        elif kind == "batch_skipped":
            self.skipped_batches[event["batch"]] = list(event["hosts"])
        elif kind == "run_finished":
            self.finished_at = utc_now()

    def finish(self):
        if self.finished_at is None:
            self.finished_at = utc_now()

    def step_event(self, batch, scenario, step):
        return self.steps.get((batch, scenario, step))
