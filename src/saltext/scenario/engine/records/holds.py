"""Holds: a host this run left out of the balancer stays out of every other run.

`HoldKeeper` is a must-succeed listener of the run's events:
- On `step_started` of a step whose declared effects say it leaves the balancer, it writes a
  hold (`handle.hold`) on the step's hosts that this run does not hold yet, before the step is
  published. When the store cannot write it, it raises `StoreFailed`: the executor then runs
  nothing more, and the hosts stay as they are.
- When a batch that ran is over (the next batch starts, or the run ends) it clears
  (`handle.clear_own`) the holds of the hosts the run put back after every step passed on them:
  back in the balancer, no failed step, no step skipped. A rollback that passed on every step
  of a host and put it back counts as verified. The holds of the run it resumes (`taken_over`)
  are cleared the same way.
- The holds of the hosts it left out stay: a failed, within-budget (exit 5), interrupted or
  dead run keeps them. At the run's end each kept hold is rewritten with why it stays (the step
  the host failed at, or the stop), so a refused run names it.

Clearing is best effort (a hold that could not be cleared keeps a verified host out: safe);
the warnings say so.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, cast

from ..errors import EXIT_INTERRUPTED, ScenarioError
from ..running.fleet_effects import FleetEffects
from ..steps.effects import RECOVERY_PHASE, Effects
from ..store import RunHandle, StoreUnavailable

log = logging.getLogger(__name__)

TAKEN_OUT = "taken out of the balancer"


class StoreFailed(ScenarioError):
    """The fleet store failed mid-run: the run stops (exit 6), its hosts stay blocked and held."""

    retcode = EXIT_INTERRUPTED

    def __init__(self, error: StoreUnavailable | str) -> None:
        why = f"{error.where}: {error.error}" if isinstance(error, StoreUnavailable) else str(error)
        super().__init__(f"the fleet store failed ({why}); hosts kept blocked and held")


def _hosts(value: object) -> list[str]:
    return [h for h in value if isinstance(h, str)] if isinstance(value, list) else []


class HoldKeeper:
    """The run's holds, kept from its events (see the module doc)."""

    must_succeed = True

    def __init__(self, handle: RunHandle, taken_over: Iterable[str] = ()) -> None:
        self.handle = handle
        self.effects = FleetEffects()  # which hosts this run has out of the balancer now
        self.own: set[str] = set()  # hosts this run wrote a hold on
        self.step_of: dict[str, str] = {}  # host -> the step its hold names
        self.taken_over = set(taken_over)  # hosts held by the run(s) it resumes
        self.ran: set[str] = set()  # hosts of the batches that started
        self.failed: dict[str, tuple[str, str]] = {}  # host -> (step, reason) of its failure
        self.unfinished: set[str] = set()  # hosts of a batch step that was skipped
        self.rolled: set[str] = set()  # hosts a rollback step passed on
        self.rollback_failed: dict[str, tuple[str, str]] = {}
        self.interrupted: str | None = None
        self.warnings: list[str] = []

    @property
    def held(self) -> set[str]:
        """The hosts whose hold this run (or the run it resumes) has now."""
        return self.own | self.taken_over

    def __call__(self, event: Mapping[str, object]) -> None:
        kind = event.get("event")
        if kind == "step_started":
            self._before_step(event)
        elif kind == "step_finished":
            self.effects.observe(event)
            self._after_step(event)
        elif kind == "batch_started":
            self._clear_verified()
            self.ran.update(_hosts(event.get("hosts")))
        elif kind == "run_finished":
            self.interrupted = cast("str | None", event.get("interrupted"))
            self._clear_verified()
            self._say_why_kept()

    def _before_step(self, event: Mapping[str, object]) -> None:
        if not Effects.from_dict(event.get("effects")).leaves_balancer:
            return
        new = [h for h in _hosts(event.get("hosts")) if h not in self.own]
        if not new:
            return
        step = f"{event.get('keyword')} {event.get('text')}".strip()
        try:
            self.handle.hold(new, step, f"{TAKEN_OUT} at {event.get('location')}")
        except StoreUnavailable as exc:
            raise StoreFailed(exc) from None
        self.own.update(new)
        self.step_of.update(dict.fromkeys(new, step))

    def _after_step(self, event: Mapping[str, object]) -> None:
        step = f"{event.get('keyword')} {event.get('text')} ({event.get('location')})"
        results = event.get("results")
        reasons = cast(Mapping[str, Mapping[str, Any]], results) if isinstance(results, dict) else {}
        failed = {h: (step, str((reasons.get(h) or {}).get("reason") or "failed")) for h in _hosts(event.get("failed"))}
        if event.get("phase") == RECOVERY_PHASE:
            if event.get("status") == "skipped":
                unfinished = _hosts(event.get("hosts_in_batch"))
                self.rollback_failed.update(dict.fromkeys(unfinished, (step, "the rollback did not finish")))
            self.rollback_failed.update(failed)
            self.rolled.update(_hosts(event.get("passed")))
            return
        if event.get("status") == "skipped":
            self.unfinished.update(_hosts(event.get("hosts_in_batch")))
        for host, why in failed.items():
            self.failed.setdefault(host, why)

    def _verified(self, host: str) -> bool:
        if host in self.effects.blocked:
            return False
        if host in self.rolled and host not in self.rollback_failed:
            return True  # a rollback that passed and put it back
        return host not in self.failed and host not in self.unfinished and host not in self.rollback_failed

    def _clear_verified(self) -> None:
        done = sorted(h for h in self.held & self.ran if self._verified(h))
        if not done:
            return
        try:
            self.handle.clear_own(done)
        except StoreUnavailable as exc:
            # The hosts stay held: safe, only an operator's release or a later run clears them.
            self.warnings.append(f"holds not cleared on {', '.join(done)}: {exc}")
            log.warning("scenario: holds not cleared on %s: %s", done, exc)
            return
        self.own.difference_update(done)
        self.taken_over.difference_update(done)

    def _why(self, host: str) -> tuple[str, str] | None:
        for found in (self.rollback_failed.get(host), self.failed.get(host)):
            if found is not None:
                return found
        step = self.step_of.get(host, "")
        if self.interrupted:
            return step, f"the run was interrupted ({self.interrupted})"
        if host in self.effects.blocked:
            return step, "the run ended with the host out of the balancer"
        return None

    def _say_why_kept(self) -> None:
        """Rewrite each hold the run keeps with why it stays (best effort)."""
        for host in sorted(self.own):
            why = self._why(host)
            if why is None:
                continue
            step, reason = why
            try:
                self.handle.hold([host], step, reason)
            except StoreUnavailable as exc:
                self.warnings.append(f"the hold on {host} keeps its first reason: {exc}")
