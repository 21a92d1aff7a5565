"""Approval gates: a waiting run, and `scenario.approve` / `scenario.abort` that answer it.

The answer travels as a file beside the run's write-ahead record,
`<journal dir>/runs/<run_id>.approval`, written by the runner functions on the master (the
service finds the waiting run's record and hands its directory and wait in here). No
minion can write there, and no bus event is read, so an `event.send` from a minion, with
any tag and any data, can never approve or abort a run. `scenario.approve` and
`scenario.abort` are ordinary runner functions: `external_auth` says who may call them,
and the decision carries the caller's name into the journal.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ..errors import InvalidScenario

POLL = 0.25
MAX_REASON = 500


@dataclass
class Decision:
    approved: bool
    user: str | None
    reason: str | None


def _path(runs_dir: str, run_id: str) -> str:
    return os.path.join(runs_dir, run_id + ".approval")


class FileApprovals:
    """What the executor waits on: `wait(run_id, batch, hosts, timeout, stopped) -> Decision`."""

    def __init__(
        self,
        runs_dir: str,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Any] | None = None,
    ) -> None:
        self.runs_dir = runs_dir
        self.clock = clock or time.monotonic
        self.sleep = sleep or time.sleep

    def _take(self, run_id: str, batch: int) -> Decision | None:
        path = _path(self.runs_dir, run_id)
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

    def wait(self, run_id: str, batch: int, hosts: list[str], timeout: int, stopped: Callable[[], object]) -> Decision:
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


def check_reason(reason: Any) -> str | None:
    """The reason of an abort, or InvalidScenario (exit 2) when it is not a short text."""
    if reason is not None and (not isinstance(reason, str) or len(reason) > MAX_REASON):
        raise InvalidScenario(f"reason must be a text of at most {MAX_REASON} characters")
    return reason


def decide(
    runs_dir: str, run_id: str, waiting: dict[str, Any], approve: bool, user: str, reason: str | None = None
) -> dict[str, Any]:
    """Answer the approval the run waits for (`waiting`, from its write-ahead record)."""
    answer = {
        "decision": "approve" if approve else "abort",
        "batch": waiting.get("batch"),
        "user": user,
        "reason": reason,
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    path = _path(runs_dir, run_id)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(answer, handle)
    os.replace(tmp, path)
    return {"run_id": run_id, "batch": waiting.get("batch"), **answer}
