"""One install phase of `make demo` / `make test`: one line on the terminal, the details in a log.

A newcomer sees `apt: 3 packages installed in 41.2 s` instead of pages of apt and pip output.
Every command of the phase appends its output to the phase's log file; when one fails, the
phase prints the log's path and its last lines, so the reason is on the screen without a
second command. Standard library only: it runs with the machine's python3, before any venv.
"""

import datetime
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

TAIL_LINES = 25


class PhaseFailed(Exception):
    """A command of the phase failed; the message says which and how."""


class Phase:
    def __init__(self, name, log, out=None, err=None):
        self.name = name
        self.log = Path(log)
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.started = time.monotonic()
        self.log.parent.mkdir(parents=True, exist_ok=True)
        # Appended, not truncated: the apt log of `make demo` is still there after `make test`.
        with self.log.open("a") as handle:
            handle.write(f"\n=== {name}: {datetime.datetime.now().isoformat(timespec='seconds')} ===\n")

    @property
    def elapsed(self):
        return time.monotonic() - self.started

    def note(self, text):
        with self.log.open("a") as handle:
            handle.write(f"{text}\n")

    def run(self, argv, env=None, timeout=1800, cwd=None, preexec=None):
        """Run ``argv`` (a list) with its output appended to the log; PhaseFailed unless it exits 0.

        ``preexec``: called in the child before exec (the apt phase's private mount namespace).
        """
        self.note(f"$ {shlex.join(str(a) for a in argv)}")
        started = time.monotonic()
        try:
            self._run(argv, env, timeout, cwd, preexec)
        finally:
            # Per command, so the log shows where a slow phase spent its time.
            self.note(f"({time.monotonic() - started:.1f} s)")

    def _run(self, argv, env, timeout, cwd, preexec):
        with self.log.open("a") as handle:
            try:
                proc = subprocess.run(
                    [str(a) for a in argv],
                    stdin=subprocess.DEVNULL,
                    stdout=handle,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=cwd,
                    timeout=timeout,
                    preexec_fn=preexec,  # the phases run no threads: preexec_fn is safe here
                    check=False,
                )
            except FileNotFoundError as exc:
                raise PhaseFailed(f"{argv[0]}: command not found") from exc
            except subprocess.TimeoutExpired as exc:
                raise PhaseFailed(f"{Path(str(argv[0])).name} gave no result within {timeout} s") from exc
            except subprocess.SubprocessError as exc:  # raised in preexec
                raise PhaseFailed(f"could not start {short(argv)}: {exc}") from exc
        if proc.returncode != 0:
            raise PhaseFailed(f"{short(argv)} exited {proc.returncode}")

    def say(self, text):
        """The phase's one line on the terminal: ``<name>: <text>``."""
        print(f"{self.name}: {text}", file=self.out, flush=True)

    def failed(self, reason):
        """Print why the phase failed, the log's path and its last lines; the exit code for make."""
        self.note(f"FAILED: {reason}")
        lines = self.log.read_text(errors="replace").splitlines()[-TAIL_LINES:]
        print(f"{self.name}: FAILED after {self.elapsed:.1f} s: {reason}", file=self.err)
        print(f"{self.name}: the details are in {self.log}; its last {len(lines)} lines:", file=self.err)
        for line in lines:
            print(f"    {line}", file=self.err)
        self.err.flush()
        return 1


def short(argv):
    # "python -m pip install exited 1": enough to know which step; paths and package lists are in the log.
    words = [Path(str(argv[0])).name]
    words += [str(a) for a in argv[1:4] if os.sep not in str(a)]
    return " ".join(words)
