"""The run's webhook notifications (``scenario_notify``): records/notify.py's Notifier, wired in.

The Notifier hears the run's events like any listener, with one exception: ``run_finished``
is held back until the run's reports are written, then handed over with what only the
run's return knows (its exit code, the report paths, the hosts still held), so the
``finished`` message names the JUnit report a CI job fetches. Its warnings (a webhook that
could not be told, a reference that did not resolve) join the run's warnings, which the
output and the journal record show. Nothing here changes a verdict or raises into the run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ...config import Settings
from ..contracts import Event
from ..records.notify import Notifier
from .returns import Return

log = logging.getLogger(__name__)

Resolve = Callable[[str], str]


class RunNotice:
    """A run listener that notifies the webhooks; `finish(ret)` sends the final word."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier
        self.started = False
        self.finished: dict[str, Any] | None = None  # the run_finished event, held back

    def __call__(self, event: Event) -> None:
        kind = event.get("event")
        if kind == "run_finished":
            self.finished = dict(event)
            return
        if kind == "run_started":
            self.started = True
        self.notifier(event)

    def finish(self, ret: Return) -> list[str]:
        """Send `finished` (and `halted`) from the run's return; the warnings of the whole run."""
        if self.started:
            final = dict(self.finished or {"event": "run_finished", "run_id": ret.get("run_id")})
            final["retcode"] = ret.get("retcode")
            final["reports"] = dict(ret.get("reports") or {})
            # Still out of the balancer, and (with the fleet store) the hosts this run holds; not
            # ret["held"], which names the hosts other runs held and this run left out.
            final["held"] = sorted({*(ret.get("still_blocked") or []), *(ret.get("holds") or [])})
            self.notifier(final)
        return list(self.notifier.warnings)


def notice_for(settings: Settings, resolve: Resolve | None) -> RunNotice | None:
    """The listener for the run's webhooks, or None when ``scenario_notify`` lists none."""
    if not settings.notify:
        return None
    notifier = Notifier(
        settings.notify,
        timeout=settings.notify_timeout,
        resolve=resolve,
        warn=lambda text: log.warning("scenario notifications: %s", text),
    )
    return RunNotice(notifier)
