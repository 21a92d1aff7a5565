"""Run one process, timed: wall seconds, exit code and peak RSS, output kept in files.

Peak RSS comes from wait4() on that very child (ru_maxrss, KiB on Linux): the salt-run
process itself, since nsenter execs its command without forking.
"""

import json
import os
import tempfile
import threading
import time
from dataclasses import dataclass


@dataclass
class Sample:
    way: str
    wall: float
    rc: int
    peak_rss_kib: int
    stdout: str
    stderr: str
    extra: dict = None

    @property
    def ok(self):
        return self.rc == 0


def timed(start, way, timeout=600):
    """Run ``start(stdout, stderr) -> Popen`` to its end and return a Sample.

    Output goes to temp files, so a chatty process never stalls on a full pipe.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = start(out, err)
        # A blocking wait4 is exact; the timer only kills a hung run (it then shows as rc -9).
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            _pid, status, rusage = os.wait4(proc.pid, 0)
        except BaseException:  # Ctrl-C: do not leave the child behind
            proc.kill()
            os.waitpid(proc.pid, 0)
            proc.returncode = -9
            raise
        finally:
            killer.cancel()
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait() again
        out.seek(0)
        err.seek(0)
        return Sample(way, wall, proc.returncode, rusage.ru_maxrss, out.read(), err.read())


def json_docs(text):
    """Every JSON document of a salt --out=json stream (progress events, then the return)."""
    decoder, index, docs = json.JSONDecoder(), 0, []
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            return docs
        try:
            doc, index = decoder.raw_decode(text, index)
        except ValueError:
            return docs  # trailing non-JSON (a warning line): keep what parsed
        docs.append(doc)


def last_json(text):
    docs = json_docs(text)
    return docs[-1] if docs else None
