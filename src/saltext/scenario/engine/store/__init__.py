"""The fleet store: holds, leases, live runs, approvals and history shared by every master.

`open_store(settings)` builds the store the master options choose (`scenario_store`):
`local` (files in the master's cachedir, the default) or `etcd` (etcd v3, for several masters).

A run uses it in this order:

    store = open_store(settings)
    store.check()                                  # StoreUnavailable: exit 3, nothing changed
    with store.open_run(RunInfo(run_id, master, feature, user, pid, resumes=(resumed_id,))) as run:
        run.claim(pinned)                          # LockHeld: exit 4 naming runs and holds
        run.hold(hosts, step, reason)              # before a step takes hosts out of the balancer
        run.update(RunStatus(...))                 # after each step, for scenario.active
        if run.lost(): ...                         # at each step boundary: stop, exit 6
        run.take_answer()                          # polled by an approval gate
        run.clear_own(hosts)                       # hosts put back after every step passed
        run.finish(exit_code, summary)             # holds stay; closing frees the claims

The runner functions read and answer through the store: `holds()`, `release(run_id, hosts,
user=, reason=)`, `live_runs()` (alive, or interrupted with its holds), `answer(...)`,
`finished_runs(limit)`. `exclude_held=True` is `holds()` subtracted from the pinned hosts
before `claim`.

The local store keeps running/leases.py's lease files (`leases/<host>.lease`, flock), so a run
of the code before the store and a run of the code after it still exclude each other.
"""

from __future__ import annotations

import os
import socket

from ...config import Settings
from .base import (
    Answer,
    FinishedRun,
    FleetStore,
    Hold,
    LiveRun,
    RunHandle,
    RunInfo,
    RunStatus,
    StoreUnavailable,
)

__all__ = [
    "Answer",
    "FinishedRun",
    "FleetStore",
    "Hold",
    "LiveRun",
    "RunHandle",
    "RunInfo",
    "RunStatus",
    "StoreUnavailable",
    "open_store",
]


def open_store(settings: Settings) -> FleetStore:
    """The FleetStore of these settings; StoreUnavailable when the local one has no directory
    or the etcd client is not installed."""
    master = settings.master_id or socket.gethostname()
    if settings.store == "etcd":
        from .etcd import EtcdStore

        return EtcdStore(
            settings.etcd_endpoints,
            master,
            prefix=settings.etcd_prefix,
            ttl=settings.store_ttl,
            ca=settings.etcd_ca,
            cert=settings.etcd_cert,
            key=settings.etcd_key,
            user=settings.etcd_user,
            password=settings.etcd_password,
        )
    from .local import LocalStore

    if not settings.cachedir:
        raise StoreUnavailable("scenario_store: local", "the master has no cachedir")
    return LocalStore(os.path.join(settings.cachedir, "scenario"), master)
