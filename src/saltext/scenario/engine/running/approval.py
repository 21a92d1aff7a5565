"""Approval gates: a waiting run, and `scenario.approve` / `scenario.abort` that answer it.

The answer travels through the fleet store (records/store_approvals.py): the runner function
on whichever master the operator asked writes it (`store.answer`), the run's master takes it
(`handle.take_answer`). No minion can write there, and no bus event is read, so an
`event.send` from a minion, with any tag and any data, can never approve or abort a run.
`scenario.approve` and `scenario.abort` are ordinary runner functions: `external_auth` says
who may call them, and the decision carries the caller's name into the journal.

This module is the waiting: `AnswerWait.wait` polls a `take(run_id, batch)` until an answer
for this gate comes, the run is stopped, or the gate's time is up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidScenario

POLL = 0.25
MAX_REASON = 500


@dataclass
class Decision:
    approved: bool
    user: str | None
    reason: str | None


Take = Callable[[str, int], "Decision | None"]


def decision(approved: bool, user: str | None, reason: str | None) -> Decision:
    """The gate's verdict of an answer: who approved, or who aborted and why."""
    who = user or "?"
    if approved:
        return Decision(True, who, f"approved by {who}")
    return Decision(False, who, f"aborted by {who}: {reason or 'no reason given'}")


class AnswerWait:
    """What the executor waits on: `wait(run_id, batch, hosts, timeout, stopped) -> Decision`.

    `take(run_id, batch)` returns the answer for this gate (taking it), or None.
    """

    def __init__(
        self,
        take: Take,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Any] | None = None,
    ) -> None:
        self.take = take
        self.clock = clock or time.monotonic
        self.sleep = sleep or time.sleep

    def wait(self, run_id: str, batch: int, hosts: list[str], timeout: int, stopped: Callable[[], object]) -> Decision:
        deadline = self.clock() + timeout
        while True:
            found = self.take(run_id, batch)
            if found is not None:
                return found
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
