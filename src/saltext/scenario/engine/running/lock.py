"""One run per scenario at a time: a lock file in the master's cachedir.

flock() rather than a bare O_EXCL file: the kernel drops the lock when its holder dies,
so a stale lock (dead pid) is simply taken over. The pid is written for humans.
"""

from __future__ import annotations

import fcntl
import os
from typing import Any

from ..errors import LockHeld


def lock_path(cachedir: str, name: str) -> str:
    safe = name.replace("/", "%2F")
    return os.path.join(cachedir, "scenario", "locks", f"{safe}.lock")


class ScenarioLock:
    def __init__(self, cachedir: str, name: str) -> None:
        self.name = name
        self.path = lock_path(cachedir, name)
        self.fd: int | None = None

    def acquire(self) -> ScenarioLock:
        os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise LockHeld(
                f"another run of scenario {self.name!r} holds the lock (pid {holder}, {self.path})"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> ScenarioLock:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()
