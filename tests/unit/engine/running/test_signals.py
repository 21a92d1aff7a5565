"""SIGTERM and SIGINT during a run set the stop flag instead of ending the process."""

import os
import signal
import threading

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
