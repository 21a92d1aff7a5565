"""SIGTERM and SIGINT end a run cleanly: the step in flight finishes, nothing new starts.

While a run goes, its own handlers replace salt-run's (whose SIGTERM handler raises
SystemExit(0) wherever the runner happens to be, which would lose the step in flight and
make the exit code 0). The handlers only set a flag that the executor reads between steps;
the old handlers come back when the run ends. Signal handlers can only be set from the main
thread: a run in a reactor thread gets a flag that no signal sets, and the master's own
shutdown ends it like a kill (its write-ahead record then shows it as interrupted).
"""

import contextlib
import signal
import threading

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopFlag:
    """Callable: why the run must stop ("SIGTERM"), or None. `set` works from anywhere."""

    def __init__(self):
        self.reason = None

    def set(self, reason):
        if self.reason is None:
            self.reason = reason

    def __call__(self):
        return self.reason


@contextlib.contextmanager
def stop_on_signals(flag=None):
    """Yield a StopFlag that SIGTERM/SIGINT set while the block runs (main thread only)."""
    flag = flag or StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, _frame):
        flag.set(signal.Signals(signum).name)

    saved = {sig: signal.signal(sig, handler) for sig in SIGNALS}
    try:
        yield flag
    finally:
        for sig, old in saved.items():
            signal.signal(sig, old)
