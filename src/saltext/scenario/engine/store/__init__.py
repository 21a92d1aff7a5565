"""The fleet store: holds, leases, live runs, approvals and history shared by every master.

`open_store(settings)` builds the store the master options choose (`scenario_store`):
`local` (files in the master's cachedir, the default) or `etcd` (etcd v3, for several masters).
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
