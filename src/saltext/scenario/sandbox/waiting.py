"""How long the sandbox waits for its processes, and the wait itself (with the log's last lines
when it gives up)."""

import time
from pathlib import Path

from . import procs
from .errors import SandboxError

READY_TIMEOUT = 90  # seconds a daemon (a master, a minion) has to get ready
STOP_GRACE = 1.0  # seconds between SIGTERM and SIGKILL when the sandbox stops a process


def wait_for(ready, timeout, what, proc_record=None, log=None):
    """Poll ``ready()`` until it is true; SandboxError after ``timeout`` seconds, or at once when
    the process of ``proc_record`` exited (naming ``what`` and the last lines of ``log``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        if proc_record is not None and not procs.alive(proc_record):
            raise SandboxError(f"gave up waiting for {what}: the process exited; {_tail(log)}")
        time.sleep(0.05)
    raise SandboxError(f"gave up waiting for {what} after {timeout} s; {_tail(log)}")


def _tail(path, lines=8):
    if not path:
        return ""
    try:
        text = Path(path).read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return "last log lines: " + " | ".join(text[-lines:]) if text else ""
