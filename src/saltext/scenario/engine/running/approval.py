"""Approval gates: a waiting run, and `scenario.approve` / `scenario.abort` that answer it.

The answer travels as a file beside the run's write-ahead record,
`<journal dir>/runs/<run_id>.approval`, written by the runner functions on the master. No
minion can write there, and no bus event is read, so an `event.send` from a minion, with
any tag and any data, can never approve or abort a run. `scenario.approve` and
`scenario.abort` are ordinary runner functions: `external_auth` says who may call them,
and the decision carries the caller's name into the journal.
"""

import json
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from ..errors import InvalidScenario
from ..records import inflight

POLL = 0.25
MAX_REASON = 500


@dataclass
class Decision:
    approved: bool
    user: str | None
    reason: str | None


def _path(journal_path, run_id):
    return os.path.join(inflight.runs_dir(journal_path), run_id + ".approval")


class FileApprovals:
    """What the executor waits on: `wait(run_id, batch, hosts, timeout, stopped) -> Decision`."""

    def __init__(self, journal_path, clock=None, sleep=None):
        self.journal_path = journal_path
        self.clock = clock or time.monotonic
        self.sleep = sleep or time.sleep

    def _take(self, run_id, batch):
        path = _path(self.journal_path, run_id)
        try:
            with open(path, encoding="utf-8") as handle:
                answer = json.load(handle)
        except (FileNotFoundError, ValueError):
            return None
        os.unlink(path)
        if not isinstance(answer, dict) or answer.get("batch") != batch:
            return None  # meant for another gate of this run: stale
        user = answer.get("user") or "?"
        if answer.get("decision") == "approve":
            return Decision(True, user, f"approved by {user}")
        why = answer.get("reason") or "no reason given"
        return Decision(False, user, f"aborted by {user}: {why}")

    def wait(self, run_id, batch, hosts, timeout, stopped):
        deadline = self.clock() + timeout
        while True:
            decision = self._take(run_id, batch)
            if decision is not None:
                return decision
            if stopped():
                return Decision(False, None, "the run was interrupted while it waited for approval")
            if self.clock() >= deadline:
                wait = f"{timeout // 60} minute(s)" if timeout % 60 == 0 else f"{timeout} seconds"
                return Decision(False, None, f"no approval within {wait}")
            self.sleep(min(POLL, max(0.0, deadline - self.clock())))


def decide(journal_path, run_id, approve, user, reason=None):
    """Answer the approval a run waits for; InvalidScenario (exit 2) when it waits for none."""
    if reason is not None and (not isinstance(reason, str) or len(reason) > MAX_REASON):
        raise InvalidScenario(f"reason must be a text of at most {MAX_REASON} characters")
    waiting = None
    for record, alive in inflight.records(journal_path):
        if record.get("run_id") == run_id:
            if not alive:
                raise InvalidScenario(f"run {run_id} is not running any more (interrupted); nothing to approve")
            waiting = record.get("waiting")
            break
    else:
        raise InvalidScenario(f"run {run_id} is not running (see scenario.history); nothing to approve")
    if not waiting:
        raise InvalidScenario(f"run {run_id} is not waiting for approval")
    answer = {
        "decision": "approve" if approve else "abort",
        "batch": waiting.get("batch"),
        "user": user,
        "reason": reason,
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    path = _path(journal_path, run_id)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(answer, handle)
    os.replace(tmp, path)
    return {"run_id": run_id, "batch": waiting.get("batch"), **answer}
