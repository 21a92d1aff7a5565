"""The run's place in the fleet store (engine/store/): what service/run.py calls, in its order.

    store = open_checked(factory, settings)        # StoreUnavailable: exit 3, nothing changed
    pinned, held = leave_out_held(...)             # exclude_held=True only
    handle = store.open_run(run_info(...))
    handle.claim(pinned)                           # LockHeld: exit 4 naming runs and holds
    ... the run, with HoldKeeper, LiveStatus and store_approvals(handle) ...
    handle.finish(exit, summary); handle.close(); store.close()

The store replaces the per-host leases (running/leases.py); the per-feature lock stays.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from typing import Any

from ...config import Settings
from ..errors import LockHeld
from ..ports import close_quietly
from ..records.holds import StoreFailed
from ..records.live_status import LiveStatus
from ..store import FleetStore, Hold, RunHandle, RunInfo, StoreUnavailable, open_store
from ..store.base import refused_claim
from .resume import Resume

log = logging.getLogger(__name__)

StoreFactory = Callable[[], FleetStore]


class Refused(LockHeld):
    """The claim was refused (exit 4); `held_by` lists the holds on the pinned hosts, for the
    return and the reactor's event."""

    def __init__(self, exc: LockHeld, holds: Iterable[Hold], pinned: Iterable[str], mine: Iterable[str]) -> None:
        super().__init__(str(exc))
        wanted, own = set(pinned), set(mine)
        self.held_by: list[dict[str, Any]] = [
            asdict(h) for h in sorted(holds, key=lambda h: h.host) if h.host in wanted and h.run_id not in own
        ]


def default_factory(settings: Settings) -> StoreFactory:
    return lambda: open_store(settings)


def open_checked(factory: StoreFactory) -> FleetStore:
    """The store, reachable and writable; StoreUnavailable (exit 3) before anything changed."""
    store = factory()
    try:
        store.check()
    except BaseException:
        close_quietly(store)
        raise
    return store


def master_name(settings: Settings) -> str:
    """This master as the store names it (open_store's choice)."""
    return settings.master_id or socket.gethostname()


def owners(resume: Resume | None) -> tuple[str, ...]:
    """The runs whose holds this run may take over: the run it resumes and the one that resumed."""
    if resume is None:
        return ()
    return tuple(dict.fromkeys((resume.run_id, *resume.resumes)))


def run_info(settings: Settings, run_id: str, name: str, user: str | None, resume: Resume | None) -> RunInfo:
    return RunInfo(run_id, master_name(settings), name, user or "?", os.getpid(), resumes=owners(resume))


def leave_out_held(store: FleetStore, pinned: Sequence[str], mine: Iterable[str]) -> tuple[list[str], list[Hold]]:
    """exclude_held=True: (the pinned hosts nobody else holds, the holds left out).

    Every pinned host held: exit 4 naming the holds, as without exclude_held (nothing to run).
    """
    own = set(mine)
    wanted = set(pinned)
    held = sorted((h for h in store.holds() if h.host in wanted and h.run_id not in own), key=lambda h: h.host)
    out = {h.host for h in held}
    rest = [h for h in pinned if h not in out]
    if not rest:
        raise LockHeld(f"exclude_held=True left no host to run: {refused_claim(pinned, {}, {h.host: h for h in held})}")
    return rest, held


def taken_over(store: FleetStore, pinned: Iterable[str], mine: Iterable[str]) -> list[str]:
    """The pinned hosts held by the runs this one resumes (their holds are ours to clear)."""
    own, wanted = set(mine), set(pinned)
    if not own:
        return []
    return sorted(h.host for h in store.holds() if h.run_id in own and h.host in wanted)


def stop_or_lost(
    stop: Callable[[], str | None], handle: RunHandle, status: LiveStatus, where: str
) -> Callable[[], str | None]:
    """The run's stop flag: a signal, or the store's lease lost / not writable (exit 6 either way)."""

    def why() -> str | None:
        reason = stop()
        if reason:
            return reason
        try:
            lost = handle.lost() or status.broken
        except StoreUnavailable as exc:
            lost = f"{exc.where}: {exc.error}"
        return str(StoreFailed(f"{where}: {lost}")) if lost else None

    class _Flag:
        """`why` plus what the signal flag tells the executor (a second signal: `again`)."""

        def __call__(self) -> str | None:
            return why()

        def __getattr__(self, name: str) -> object:
            return getattr(stop, name)

    return _Flag()


def held_lines(held: Sequence[Hold]) -> list[str]:
    """The return's warning lines of hosts left out by exclude_held."""
    return [
        f"{h.host} left out: held by run {h.run_id} (feature {h.feature!r}, master {h.master}, "
        f"step {h.step!r}: {h.reason})"
        for h in held
    ]


def finish(handle: RunHandle, ret: dict[str, Any]) -> None:
    """The run's last word in the store, for `scenario.history` on every master; its holds stay."""
    summary = str(ret.get("summary") or ret.get("error") or "")
    try:
        handle.finish(int(ret.get("retcode", 1)), summary)
    except StoreUnavailable as exc:
        log.error("scenario run %s: the fleet store did not take its last word: %s", handle.info.run_id, exc)
        ret.setdefault("warnings", []).append(f"the fleet store did not take the run's last word: {exc}")
