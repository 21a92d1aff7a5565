"""The `local` fleet store: files under one master's `<cachedir>/scenario` (the embedded default).

For a shop with one master; no daemon to run. The layout:

    leases/<host>.lease       a run's claim on a host: an flock() the kernel drops when the run's
                              process dies (the layout of running/leases.py), with the holder's
                              run id, feature, master and pid written in it for a refused run
    holds/<host>.json         a hold: no lock, it outlives the run
    live/<run_id>.json        a run's registration and live status
    live/<run_id>.lock        its flock: free while the registration remains = interrupted
    answers/<run_id>.json     an approval or abort waiting to be taken by the run
    finished.jsonl            the last word of finished runs (the newest HISTORY_KEEP kept)

Host names are quoted into one safe file name each (minion ids are untrusted text). Records are
written to a temporary file and renamed (readers see the old record or the new one), and every
write that fails is StoreUnavailable naming its path.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote

from ..errors import InvalidScenario, LockHeld
from . import base
from .base import (
    HISTORY_KEEP,
    Answer,
    FinishedRun,
    Hold,
    LiveRun,
    RunInfo,
    StoreUnavailable,
    answer_of,
    check_hosts,
    check_reason,
    check_run_id,
    encode,
    finished_of,
    hold_of,
    interrupted_summary,
    live_run,
    utc_now,
)
from .local_files import SUFFIX, host_file, locked, os_errors, read_json, write_atomic
from .local_run import LocalRun


class LocalStore:
    """The FleetStore of one master, in `root` (`<cachedir>/scenario`)."""

    def __init__(self, root: str, master: str) -> None:
        self.root = root
        self.master = master
        self.leases = os.path.join(root, "leases")
        self.holds_dir = os.path.join(root, "holds")
        self.live = os.path.join(root, "live")
        self.answers = os.path.join(root, "answers")
        self.finished = os.path.join(root, "finished.jsonl")

    @property
    def where(self) -> str:
        return self.root

    def _dirs(self) -> tuple[str, ...]:
        return (self.leases, self.holds_dir, self.live, self.answers)

    def _makedirs(self) -> None:
        for directory in self._dirs():
            with os_errors(directory):
                os.makedirs(directory, mode=0o700, exist_ok=True)

    def check(self) -> None:
        self._makedirs()
        for directory in self._dirs():
            # Per process and thread: reactor runs are threads of one process; a shared name
            # let one thread unlink the other's probe (a false "store cannot be written").
            probe = os.path.join(directory, f".probe{os.getpid()}.{threading.get_ident()}")
            with os_errors(directory):
                write_atomic(probe, b"probe\n", 0o600)
                os.unlink(probe)
        with os_errors(self.finished):
            os.close(os.open(self.finished, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600))

    def open_run(self, info: RunInfo) -> LocalRun:
        check_run_id(info.run_id)
        for run_id in info.resumes:
            check_run_id(run_id)
        self._makedirs()
        return LocalRun(self, info)

    # --- holds -------------------------------------------------------------------------

    def hold_path(self, host: str) -> str:
        return host_file(self.holds_dir, host, SUFFIX)

    def read_hold(self, host: str) -> Hold | None:
        data = read_json(self.hold_path(host))
        return hold_of(data) if data is not None else None

    def holds(self) -> list[Hold]:
        try:
            names = sorted(os.listdir(self.holds_dir))
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StoreUnavailable(self.holds_dir, exc.strerror or exc) from None
        found = []
        for name in names:
            if name.endswith(SUFFIX):  # not the temporary files of a write in progress
                hold = self.read_hold(unquote(name[: -len(SUFFIX)]))
                if hold is not None:
                    found.append(hold)
        return found

    def release(self, run_id: str, hosts: Iterable[str] | None = None, *, user: str, reason: str) -> list[Hold]:
        check_run_id(run_id)
        reason = check_reason(reason)
        wanted = None if hosts is None else set(check_hosts(hosts))
        data = read_json(self._live_path(run_id))
        if data is not None and locked(self._live_lock(run_id)):
            raise LockHeld(
                f"run {run_id} is still running (pid {data['info'].get('pid')}); its holds stay while it runs"
            )
        released = []
        for hold in self.holds():
            if hold.run_id == run_id and (wanted is None or hold.host in wanted):
                with os_errors(self.hold_path(hold.host)):
                    os.unlink(self.hold_path(hold.host))
                released.append(hold)
        if data is not None and wanted is None:
            self._bury(data, interrupted_summary(f"its process is gone; holds released by {user}: {reason}"))
        return released

    # --- live runs ---------------------------------------------------------------------

    def _live_path(self, run_id: str) -> str:
        return os.path.join(self.live, run_id + SUFFIX)

    def _live_lock(self, run_id: str) -> str:
        return os.path.join(self.live, run_id + ".lock")

    def live_runs(self) -> list[LiveRun]:
        try:
            names = sorted(os.listdir(self.live))
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StoreUnavailable(self.live, exc.strerror or exc) from None
        holds = self.holds()
        runs = []
        for name in names:
            if not name.endswith(SUFFIX):
                continue
            run_id = name[: -len(SUFFIX)]
            data = read_json(os.path.join(self.live, name))
            if data is not None:
                runs.append(live_run(data, locked(self._live_lock(run_id)), holds))
        return runs

    def _bury(self, data: dict[str, Any], summary: str) -> None:
        """A dead run's registration becomes a finished record (exit 6, interrupted)."""
        run_id = str(data["info"]["run_id"])
        self.append_finished({"info": data["info"], "exit_code": 6, "summary": summary, "finished": utc_now()})
        for path in (self._live_path(run_id), self._live_lock(run_id)):
            with os_errors(path, before_change=False):
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass

    def bury_resumed(self, run_ids: Iterable[str], by: str) -> None:
        for run_id in run_ids:
            data = read_json(self._live_path(run_id))
            if data is not None and not locked(self._live_lock(run_id)):
                self._bury(data, interrupted_summary(f"its process is gone; resumed by run {by}"))

    # --- approvals ---------------------------------------------------------------------

    def _answer_path(self, run_id: str) -> str:
        return os.path.join(self.answers, run_id + SUFFIX)

    def answer(
        self, run_id: str, approved: bool, user: str, reason: str | None = None, batch: int | None = None
    ) -> Answer:
        check_run_id(run_id)
        text = check_reason(reason, required=False)
        if read_json(self._live_path(run_id)) is None:
            raise InvalidScenario(f"run {run_id} is not running (see scenario.history); nothing to answer")
        if not locked(self._live_lock(run_id)):
            raise InvalidScenario(f"run {run_id} is not running any more (interrupted); nothing to answer")
        answer = Answer(run_id, bool(approved), str(user), text, self.master, utc_now(), batch)
        path = self._answer_path(run_id)
        with os_errors(path):
            os.makedirs(self.answers, mode=0o700, exist_ok=True)
            write_atomic(path, encode(answer), 0o600)
        return answer

    def answer_for(self, run_id: str) -> Answer | None:
        check_run_id(run_id)
        data = read_json(self._answer_path(run_id))
        return answer_of(data) if data is not None else None

    def take_answer(self, run_id: str) -> Answer | None:
        path = self._answer_path(run_id)
        taken = f"{path}.taken{os.getpid()}.{threading.get_ident()}"
        with os_errors(path, before_change=False):
            try:
                os.rename(path, taken)  # atomic: the answer is taken once
            except FileNotFoundError:
                return None
        data = read_json(taken)
        with os_errors(taken, before_change=False):
            os.unlink(taken)
        return answer_of(data) if data is not None else None

    # --- history -----------------------------------------------------------------------

    def append_finished(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, sort_keys=True, separators=(",", ":")).encode() + b"\n"
        with os_errors(self.finished, before_change=False):
            while True:
                fd = os.open(self.finished, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
                # One writer at a time: the pruning below rewrites the file. A writer that
                # waited while it was replaced opens the new one.
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    if os.fstat(fd).st_ino == os.stat(self.finished).st_ino:
                        break
                except FileNotFoundError:
                    pass
                os.close(fd)
            try:
                os.write(fd, line)
                os.fsync(fd)
                if os.fstat(fd).st_size > HISTORY_KEEP * 1024:
                    self._prune()
            finally:
                os.close(fd)

    def _prune(self) -> None:
        with open(self.finished, "rb") as handle:
            lines = handle.read().splitlines(keepends=True)
        if len(lines) > 2 * HISTORY_KEEP:
            write_atomic(self.finished, b"".join(lines[-HISTORY_KEEP:]), 0o600)

    def finished_runs(self, limit: int = 20) -> list[FinishedRun]:
        limit = base.check_limit(limit)
        try:
            with open(self.finished, "rb") as handle:
                lines = handle.read().splitlines()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StoreUnavailable(self.finished, exc.strerror or exc) from None
        holds = self.holds()
        runs = []
        for line in reversed(lines):
            try:
                data = json.loads(line)
            except ValueError:
                continue  # a line a crash cut short
            if isinstance(data, dict):
                runs.append(finished_of(data, holds))
            if len(runs) >= limit:
                break
        return runs

    def close(self) -> None:
        pass
