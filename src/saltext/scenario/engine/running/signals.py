"""SIGTERM and SIGINT end a run cleanly: the step in flight gets a grace, nothing new starts.

While a run goes, its own handlers replace salt-run's (whose SIGTERM handler raises
SystemExit(0) wherever the runner happens to be, which would lose the step in flight and
make the exit code 0). The handlers only set a flag that the executor reads between steps
and while a step waits (running/execute.py: after `scenario_stop_grace` seconds the step's
job is killed; a second signal kills it at once); the old handlers come back when the run ends.

A reactor-started run goes in a thread of the master's reactor process, where no signal
handler can be set. That process ends on SIGTERM by running the finalize methods registered
on it, then `os._exit`: the run registers one that sets its flag and waits (a bounded time)
for the step in flight (the stop grace plus the time to kill and record it), so the run is
recorded as interrupted there too.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGTERM, signal.SIGINT)
# How long killing a cut step's job on its hosts and recording the run may take after the
# stop grace (the transport's kill waits: term_job, find_job, kill_job, find_job).
KILL_MARGIN = 30
# How long a process that is shutting down waits for a run's step in flight by default.
FINALIZE_WAIT = 30 + KILL_MARGIN


def finalize_wait(grace: float) -> float:
    """How long a process that is shutting down waits for a run with this stop grace."""
    return grace + KILL_MARGIN


class StopFlag:
    """Callable: why the run must stop ("SIGTERM"), or None. `set` works from anywhere.

    `since` is when the first stop came (time.monotonic()), `again` whether another came
    after it: the executor cuts the step in flight at once then.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.reason: str | None = None
        self.since: float | None = None
        self.again: str | None = None  # the second stop's reason, once one came
        self.clock = clock

    def set(self, reason: str) -> None:
        if self.reason is None:
            self.reason, self.since = reason, self.clock()
        elif self.again is None:
            self.again = reason

    def __call__(self) -> str | None:
        return self.reason


@contextlib.contextmanager
def _on_process_exit(flag: StopFlag, wait: float) -> Iterator[StopFlag]:
    """In a thread: stop the run, and wait for it, when the process is told to end."""
    process = multiprocessing.current_process()
    register = getattr(process, "register_finalize_method", None)
    methods = getattr(process, "_finalize_methods", None)
    if register is None or not isinstance(methods, list):
        yield flag
        return
    done = threading.Event()

    def finalize() -> None:
        flag.set("the process running it was told to stop (SIGTERM)")
        done.wait(wait)

    register(finalize)
    try:
        yield flag
    finally:
        done.set()
        entry: tuple[Callable[[], None], tuple[()], dict[str, Any]] = (finalize, (), {})
        if entry in methods:
            methods.remove(entry)


@contextlib.contextmanager
def stop_on_signals(flag: StopFlag | None = None, wait: float = FINALIZE_WAIT) -> Iterator[StopFlag]:
    """Yield a StopFlag that SIGTERM/SIGINT set while the block runs."""
    flag = flag or StopFlag()
    if threading.current_thread() is not threading.main_thread():
        with _on_process_exit(flag, wait):
            yield flag
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        flag.set(signal.Signals(signum).name)

    saved = {sig: signal.signal(sig, handler) for sig in SIGNALS}
    try:
        yield flag
    finally:
        for sig, old in saved.items():
            signal.signal(sig, old)
