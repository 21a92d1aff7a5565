"""One run per host at a time: after discovery a run leases every pinned host until it ends.

A lease is an flock() on `<cachedir>/scenario/leases/<host>.lease`, so the kernel drops it
when its holder dies, like the feature lock. Leases are taken all or nothing and without
waiting, always in sorted host order: of two runs that want overlapping hosts, the one that
takes the first shared host gets all the shared hosts, and the other stops before anything
changes (exit 4), told who holds them.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from ..errors import LockHeld


def lease_dir(cachedir: str) -> str:
    return os.path.join(cachedir, "scenario", "leases")


def _path(cachedir: str, host: str) -> str:
    # Minion ids are untrusted text: quote them into one safe file name.
    return os.path.join(lease_dir(cachedir), quote(host, safe="") + ".lease")


def _holder(fd: int) -> dict[str, Any]:
    try:
        holder: dict[str, Any] = json.loads(os.pread(fd, 4096, 0).decode() or "{}")  # JSON another run wrote
        return holder
    except (OSError, ValueError):
        return {}


class HostLeases:
    """Leases of one run. `holder` is what another run is told: run id, feature, pid, user."""

    def __init__(self, cachedir: str, holder: Mapping[str, object]) -> None:
        self.cachedir = cachedir
        self.holder = dict(holder)
        self.fds: dict[str, int] = {}

    def acquire(self, hosts: Iterable[str]) -> HostLeases:
        os.makedirs(lease_dir(self.cachedir), mode=0o700, exist_ok=True)
        busy: dict[tuple[str, str], list[str]] = {}  # (run_id, feature) of a holder -> the hosts it holds that we want
        data = json.dumps(self.holder, sort_keys=True).encode()
        for host in sorted(set(hosts)):
            fd = os.open(_path(self.cachedir, host), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _holder(fd)
                os.close(fd)
                busy.setdefault((holder.get("run_id", "?"), holder.get("feature", "?")), []).append(host)
                continue
            if busy:
                # Already refused: look at the rest only to name every shared host.
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
            else:
                # Who holds it is written at once: a run refused a moment later can name us.
                os.ftruncate(fd, 0)
                os.pwrite(fd, data, 0)
                self.fds[host] = fd
        if busy:
            self.release()  # all or nothing
            holders = "; ".join(
                f"run {run_id} (feature {feature!r}) holds {', '.join(shared)}"
                for (run_id, feature), shared in sorted(busy.items())
            )
            raise LockHeld(f"pinned hosts are leased by another run: {holders}; nothing was changed")
        return self

    def release(self) -> None:
        for fd in self.fds.values():
            try:
                os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)
        self.fds = {}

    @property
    def hosts(self) -> list[str]:
        return sorted(self.fds)
