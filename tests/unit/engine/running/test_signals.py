"""SIGTERM and SIGINT during a run set the stop flag instead of ending the process."""

import os
import signal
import threading

from saltext.scenario.engine.running import signals
from saltext.scenario.engine.running.signals import StopFlag, stop_on_signals


def test_a_signal_sets_the_flag_and_the_old_handlers_come_back():
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    with stop_on_signals() as stop:
        assert stop() is None
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop() == "SIGTERM"
        os.kill(os.getpid(), signal.SIGINT)
        assert stop() == "SIGTERM"  # the first reason stays
    assert {sig: signal.getsignal(sig) for sig in before} == before


def test_outside_the_main_thread_the_flag_is_there_but_no_handler_is_set():
    before = signal.getsignal(signal.SIGTERM)
    seen = []

    def in_a_thread():
        with stop_on_signals() as stop:
            seen.append((stop(), signal.getsignal(signal.SIGTERM)))
            stop.set("master shutdown")
            seen.append(stop())

    thread = threading.Thread(target=in_a_thread)
    thread.start()
    thread.join(timeout=10)
    assert seen == [(None, before), "master shutdown"]


def test_a_flag_keeps_its_first_reason():
    flag = StopFlag()
    flag.set("SIGINT")
    flag.set("SIGTERM")
    assert flag() == "SIGINT"


class SaltProcess:
    """What Salt's SignalHandlingProcess offers: finalize methods run when it is told to end."""

    def __init__(self):
        self._finalize_methods = []

    def register_finalize_method(self, function, *args, **kwargs):
        self._finalize_methods.append((function, args, kwargs))

    def terminate(self):
        for method, args, kwargs in list(self._finalize_methods):
            method(*args, **kwargs)


def test_in_a_thread_of_a_salt_process_its_shutdown_stops_the_run_and_waits_for_it(monkeypatch):
    process = SaltProcess()
    monkeypatch.setattr(signals.multiprocessing, "current_process", lambda: process)
    inside, release, seen = threading.Event(), threading.Event(), []

    def run():
        with stop_on_signals(wait=30) as stop:
            inside.set()
            release.wait(10)  # the step in flight
            seen.append(stop())

    thread = threading.Thread(target=run)
    thread.start()
    inside.wait(10)
    assert len(process._finalize_methods) == 1
    ender = threading.Thread(target=process.terminate)
    ender.start()
    ender.join(0.2)
    assert ender.is_alive()  # the process waits for the run...
    release.set()
    ender.join(10)
    thread.join(10)
    assert not ender.is_alive() and seen == ["the process running it was told to stop (SIGTERM)"]
    assert process._finalize_methods == []  # ...and a finished run leaves nothing registered
