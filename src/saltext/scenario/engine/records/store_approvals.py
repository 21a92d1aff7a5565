"""Approvals and aborts through the fleet store: the waiting run takes the answer any master wrote.

`scenario.approve` / `scenario.abort` on any master sharing the store write `store.answer(...)`
for the run's gate (the batch its live status says it waits at); the run's master polls
`handle.take_answer()`. An answer meant for an earlier gate of the run is stale and dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..running.approval import AnswerWait, Decision, decision
from ..store import RunHandle


def store_approvals(
    handle: RunHandle, clock: Callable[[], float] | None = None, sleep: Callable[[float], Any] | None = None
) -> AnswerWait:
    """The executor's approval channel of this run."""

    def take(run_id: str, batch: int) -> Decision | None:
        answer = handle.take_answer()
        if answer is None or answer.run_id != run_id or answer.batch != batch:
            return None
        return decision(answer.approved, answer.user, answer.reason)

    return AnswerWait(take, clock, sleep)
