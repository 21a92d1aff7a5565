"""The run's live status in the fleet store, for `scenario.active` / `scenario.status` on any master.

`LiveStatus` listens to the run's events and writes `handle.update(RunStatus(...))` when the run
starts a batch, starts or finishes a step, and starts or ends waiting for an approval. A write
that fails does not stop the step in flight; it stops the run at the next step boundary
(`broken`, read with the run's stop flag): a store that cannot be written is a stop, never a guess.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace

from ..steps.effects import RECOVERY_PHASE
from ..store import RunHandle, RunStatus, StoreUnavailable

log = logging.getLogger(__name__)

_UPDATE_ON = {"batch_started", "step_started", "step_finished", "approval_wanted", "approval_finished"}


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class LiveStatus:
    def __init__(self, handle: RunHandle) -> None:
        self.handle = handle
        self.status = RunStatus()
        self.broken: str | None = None  # why the store could not be written, once it failed

    def __call__(self, event: Mapping[str, object]) -> None:
        kind = event.get("event")
        if kind not in _UPDATE_ON or self.broken:
            return
        status = self.status
        fields: dict[str, object] = {}
        if kind == "batch_started":
            fields = {"batch": _int(event.get("batch")) + 1, "batches": _int(event.get("count"))}
        elif kind == "step_started":
            step = f"{event.get('keyword')} {event.get('text')}"
            phase = " (rollback)" if event.get("phase") == RECOVERY_PHASE else ""
            fields = {"step": step, "position": f"{step} ({event.get('location')}){phase}"}
        elif kind == "step_finished":
            failed = event.get("failed")
            if isinstance(failed, list) and failed:
                fields = {"failed_hosts": tuple(sorted({*status.failed_hosts, *failed}))}
        elif kind == "approval_wanted":
            # The gate's batch as the executor counts it, plus one (a rollback's gate: 0).
            fields = {"waiting": True, "batch": _int(event.get("batch")) + 1}
        elif kind == "approval_finished":
            fields = {"waiting": False}
        if not fields:
            return
        self.status = replace(status, **fields)  # type: ignore[arg-type]
        try:
            self.handle.update(self.status)
        except StoreUnavailable as exc:
            self.broken = f"{exc.where}: {exc.error}"
            log.error("scenario run %s: the fleet store cannot be written: %s", self.handle.info.run_id, exc)
