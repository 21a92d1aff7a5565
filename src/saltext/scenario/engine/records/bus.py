"""Execution events onto the master event bus, under the project's own tag prefix.

Tags are ``saltext/scenario/<run_id>/<event>`` with the event's underscores as slashes:
``run/started``, ``batch/started``, ``step/finished``, ``batch/skipped``,
``approval/wanted``, ``approval/finished``, ``rollback/started``, ``run/finished``.
"""

from __future__ import annotations

from collections.abc import Callable

from ..contracts import Event

# Puts (data, tag) onto the master's event bus: the transport's fire.
Fire = Callable[[dict[str, object], str], None]

TAG_PREFIX = "saltext/scenario"
ON_THE_BUS = frozenset(
    {
        "run_started",
        "batch_started",
        "step_finished",
        "batch_skipped",
        "approval_wanted",
        "approval_finished",
        "rollback_started",
        "run_finished",
    }
)


def event_tag(run_id: str, kind: str) -> str:
    return f"{TAG_PREFIX}/{run_id}/{kind.replace('_', '/')}"


class BusReporter:
    """Puts start, every step and the end onto the master event bus."""

    def __init__(self, fire: Fire, name: str) -> None:
        self.fire = fire
        self.name = name

    def __call__(self, event: Event) -> None:
        kind = event["event"]
        if kind not in ON_THE_BUS:
            return
        data: dict[str, object] = {k: v for k, v in event.items() if k != "results"}
        if event["event"] == "step_finished":
            # Per-host verdicts without full returns keep events small.
            data["hosts"] = {h: {"ok": r["ok"], "reason": r["reason"]} for h, r in event["results"].items()}
        data["name"] = self.name
        self.fire(data, event_tag(event["run_id"], kind))
