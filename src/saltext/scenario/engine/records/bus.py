"""Execution events onto the master event bus, under the project's own tag prefix.

Tags are ``saltext/scenario/<run_id>/<event>`` with the event's underscores as slashes:
``run/started``, ``batch/started``, ``step/finished``, ``batch/skipped``,
``approval/wanted``, ``approval/finished``, ``rollback/started``, ``run/finished``.
"""

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


def event_tag(run_id, kind):
    return f"{TAG_PREFIX}/{run_id}/{kind.replace('_', '/')}"


class BusReporter:
    """Puts start, every step and the end onto the master event bus."""

    def __init__(self, fire, name):
        self.fire = fire
        self.name = name

    def __call__(self, event):
        kind = event["event"]
        if kind not in ON_THE_BUS:
            return
        data = {k: v for k, v in event.items() if k != "results"}
        if kind == "step_finished":
            # Per-host verdicts without full returns keep events small.
            data["hosts"] = {h: {"ok": r["ok"], "reason": r["reason"]} for h, r in event["results"].items()}
        data["name"] = self.name
        self.fire(data, event_tag(event["run_id"], kind))
