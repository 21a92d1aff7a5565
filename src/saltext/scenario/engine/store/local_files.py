"""The local fleet store's file primitives: quoted host file names, flocks, JSON records, and
OSErrors turned into StoreUnavailable naming the path."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

from ..records import inflight, report_files
from .base import StoreUnavailable, decode

# The project's atomic write (temporary file, fsync, rename), typed for this module.
write_atomic: Callable[[str, bytes, int], None] = report_files.write_atomic

SUFFIX = ".json"


def host_file(directory: str, host: str, suffix: str) -> str:
    return os.path.join(directory, quote(host, safe="") + suffix)


@contextmanager
def os_errors(path: str, before_change: bool = True) -> Iterator[None]:
    """Turn an OSError into StoreUnavailable naming `path` and the error."""
    try:
        yield
    except OSError as exc:
        raise StoreUnavailable(path, exc.strerror or exc, before_change=before_change) from None


def read_json(path: str) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreUnavailable(path, exc.strerror or exc) from None
    return decode(data, path)


def locked(path: str) -> bool:
    """True while some process holds the flock on `path` (a live run); StoreUnavailable if unreadable."""
    with os_errors(path):
        return inflight.lock_held(path)


def read_holder(fd: int) -> dict[str, Any]:
    try:
        data = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def unlock_all(fds: Iterable[int]) -> None:
    for fd in list(fds):
        try:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
        except OSError:
            pass
        finally:
            os.close(fd)
