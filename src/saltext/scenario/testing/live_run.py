"""Watch a sandbox run as it happens: salt-run's progress lines, and HAProxy's view of its servers.

For the metric-gate tests and bench (tests/integration/test_metric_gates.py, bench/metric_gate.py):
when a batch rejoined HAProxy, when its gate decided, which servers ever left the ready state.

    run = LiveRun(sb, "canary_metrics")             # salt-run scenario.run canary_metrics, streamed
    watch = ServerWatch(sb)                         # `show stat` every 0.2 s in a thread
    run.wait_for(lambda line: "the metric" in line, timeout=120)
    returncode, ret, lines = run.finish(timeout=180)
    watch.stop()

Times are ``time.time()`` on the machine running the test (the sandbox shares its clock).
"""

import json
import threading
import time

from saltext.scenario.sandbox.balancer import Balancer


class LiveRun:
    """``salt-run scenario.run ARGS --out=json`` in the master's netns, its lines timed as they come."""

    def __init__(self, sb, *args):
        argv = ["salt-run", "scenario.run", *args, "--out=json", "--out-indent=-1"]
        self.proc = sb.popen_in_master(argv)
        self.docs = []  # (time seen, parsed JSON line)
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
            except ValueError:
                doc = {"text": line}
            with self.changed:
                self.docs.append((time.time(), doc))
                self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()

    def progress(self):
        """[(time, progress line)] so far."""
        return [(t, d["event"]["message"]) for t, d in list(self.docs) if d.get("suffix") == "progress"]

    def wait_for(self, wanted, timeout):
        """The time of the first progress line `wanted(line)` accepts; AssertionError at the timeout."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for at, line in self.progress():
                    if wanted(line):
                        return at
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self.reader.is_alive()):
                    raise AssertionError(f"no such progress line within {timeout} s: {self.progress()[-5:]}")
                self.changed.wait(min(left, 1.0))

    def finish(self, timeout):
        """(exit code, the run's return, [(time, progress line)]) once salt-run exits."""
        self.proc.wait(timeout)
        self.reader.join(10)
        err = self.proc.stderr.read()
        assert self.docs, f"no output (exit {self.proc.returncode}); stderr: {err[-2000:]}"
        return self.proc.returncode, self.docs[-1][1], self.progress()


def first_line(lines, *words, after=0.0):
    """The time of the first (time, line) holding every word, at or after `after`."""
    return next(t for t, line in lines if t >= after and all(w in line for w in words))


class ServerWatch:
    """HAProxy's status of every backend server, sampled every `every` seconds in a thread."""

    def __init__(self, sb, every=0.2):
        self.balancer = Balancer(sb.state_dir, sb.record["lb"]["netns"], sb.bin_dir, sb.spec)
        self.every = every
        self.samples = []  # (time, {server: status})
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self):
        while not self.done.is_set():
            stat = self.balancer.show_stat()
            if stat:
                self.samples.append((time.time(), stat))
            self.done.wait(self.every)

    def stop(self):
        self.done.set()
        self.thread.join(10)
        return self.samples

    def statuses(self, server):
        """Every status `server` had, in order, repeats folded."""
        seen = []
        for _t, stat in self.samples:
            status = stat.get(server)
            if status and (not seen or seen[-1] != status):
                seen.append(status)
        return seen

    def up_spans(self, server):
        """[(from, to)] of the times `server` was UP (to: the first sample it was not)."""
        spans, began = [], None
        for at, stat in self.samples:
            up = str(stat.get(server, "")).startswith("UP")
            if up and began is None:
                began = at
            elif not up and began is not None:
                spans.append((began, at))
                began = None
        if began is not None:
            spans.append((began, self.samples[-1][0]))
        return spans
