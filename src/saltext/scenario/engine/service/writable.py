"""Before a run changes anything: every directory it will write its records to can be written.

A journal, write-ahead, lock, lease or report directory on a full, read-only or forbidden
filesystem would otherwise fail half way (a traceback from the lock, a run with no record).
Each directory is created if missing and a probe file is written, synced and removed there;
the first that fails refuses the run with exit 3, naming the path and the error.
"""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Iterable

from ..errors import EXIT_DISCOVERY, ScenarioError

# Bytes the probe writes: a filesystem that cannot take this cannot take a record either.
PROBE_BYTES = 4096
PROBE_NAME = ".scenario-write-probe"


class RecordsUnwritable(ScenarioError):
    """A directory the run's records go to cannot be written: nothing ran (exit 3)."""

    retcode = EXIT_DISCOVERY


def probe(directory: str) -> None:
    """Create `directory` if needed and write, sync and remove a probe file in it (OSError if not)."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    # Per process and thread: reactor runs are threads of one process, probing side by side.
    path = os.path.join(directory, f"{PROBE_NAME}.{os.getpid()}.{threading.get_ident()}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        written = os.write(fd, b"\0" * PROBE_BYTES)
        if written < PROBE_BYTES:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        os.fsync(fd)
    finally:
        os.close(fd)
        try:
            os.unlink(path)
        except OSError:
            pass  # the write is what failed or mattered; a probe left behind is harmless


def check_writable(directories: Iterable[tuple[str, str]]) -> None:
    """Raise RecordsUnwritable for the first (what, directory) that cannot be written."""
    for what, directory in directories:
        try:
            probe(directory)
        except OSError as exc:
            why = exc.strerror or str(exc)
            raise RecordsUnwritable(
                f"the {what} directory {directory} cannot be written ({why}); nothing ran and nothing changed"
            ) from None
