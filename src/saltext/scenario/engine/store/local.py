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
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from types import TracebackType
from typing import Any
from urllib.parse import quote, unquote

from ..errors import InvalidScenario, LockHeld
from ..records import report_files
from . import base
from .base import (
    HISTORY_KEEP,
    Answer,
    FinishedRun,
    Hold,
    LiveRun,
    RunInfo,
    RunStatus,
    StoreUnavailable,
    answer_of,
    check_hosts,
    check_reason,
    check_run_id,
    decode,
    encode,
    finished_of,
    hold_of,
    interrupted_summary,
    live_run,
    refused_claim,
    registration,
    utc_now,
)

# The project's atomic write (temporary file, fsync, rename), typed for this module.
write_atomic: Callable[[str, bytes, int], None] = report_files.write_atomic

SUFFIX = ".json"


def _host_file(directory: str, host: str, suffix: str) -> str:
    return os.path.join(directory, quote(host, safe="") + suffix)


@contextmanager
def _io(path: str, before_change: bool = True) -> Iterator[None]:
    """Turn an OSError into StoreUnavailable naming `path` and the error."""
    try:
        yield
    except OSError as exc:
        raise StoreUnavailable(path, exc.strerror or exc, before_change=before_change) from None


def _read_json(path: str) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreUnavailable(path, exc.strerror or exc) from None
    return decode(data, path)


def _locked(path: str) -> bool:
    """True while some process holds the flock on `path` (a live run)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise StoreUnavailable(path, exc.strerror or exc) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


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
            with _io(directory):
                os.makedirs(directory, mode=0o700, exist_ok=True)

    def check(self) -> None:
        self._makedirs()
        for directory in self._dirs():
            probe = os.path.join(directory, f".probe{os.getpid()}")
            with _io(directory):
                write_atomic(probe, b"probe\n", 0o600)
                os.unlink(probe)
        with _io(self.finished):
            os.close(os.open(self.finished, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600))

    def open_run(self, info: RunInfo) -> LocalRun:
        check_run_id(info.run_id)
        for run_id in info.resumes:
            check_run_id(run_id)
        self._makedirs()
        return LocalRun(self, info)

    # --- holds -------------------------------------------------------------------------

    def hold_path(self, host: str) -> str:
        return _host_file(self.holds_dir, host, SUFFIX)

    def read_hold(self, host: str) -> Hold | None:
        data = _read_json(self.hold_path(host))
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
        data = _read_json(self._live_path(run_id))
        if data is not None and _locked(self._live_lock(run_id)):
            raise LockHeld(
                f"run {run_id} is still running (pid {data['info'].get('pid')}); its holds stay while it runs"
            )
        released = []
        for hold in self.holds():
            if hold.run_id == run_id and (wanted is None or hold.host in wanted):
                with _io(self.hold_path(hold.host)):
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
            data = _read_json(os.path.join(self.live, name))
            if data is not None:
                runs.append(live_run(data, _locked(self._live_lock(run_id)), holds))
        return runs

    def _bury(self, data: dict[str, Any], summary: str) -> None:
        """A dead run's registration becomes a finished record (exit 6, interrupted)."""
        run_id = str(data["info"]["run_id"])
        self.append_finished({"info": data["info"], "exit_code": 6, "summary": summary, "finished": utc_now()})
        for path in (self._live_path(run_id), self._live_lock(run_id)):
            with _io(path, before_change=False):
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass

    def bury_resumed(self, run_ids: Iterable[str], by: str) -> None:
        for run_id in run_ids:
            data = _read_json(self._live_path(run_id))
            if data is not None and not _locked(self._live_lock(run_id)):
                self._bury(data, interrupted_summary(f"its process is gone; resumed by run {by}"))

    # --- approvals ---------------------------------------------------------------------

    def _answer_path(self, run_id: str) -> str:
        return os.path.join(self.answers, run_id + SUFFIX)

    def answer(
        self, run_id: str, approved: bool, user: str, reason: str | None = None, batch: int | None = None
    ) -> Answer:
        check_run_id(run_id)
        text = check_reason(reason, required=False)
        if _read_json(self._live_path(run_id)) is None:
            raise InvalidScenario(f"run {run_id} is not running (see scenario.history); nothing to answer")
        if not _locked(self._live_lock(run_id)):
            raise InvalidScenario(f"run {run_id} is not running any more (interrupted); nothing to answer")
        answer = Answer(run_id, bool(approved), str(user), text, self.master, utc_now(), batch)
        path = self._answer_path(run_id)
        with _io(path):
            os.makedirs(self.answers, mode=0o700, exist_ok=True)
            write_atomic(path, encode(answer), 0o600)
        return answer

    def answer_for(self, run_id: str) -> Answer | None:
        check_run_id(run_id)
        data = _read_json(self._answer_path(run_id))
        return answer_of(data) if data is not None else None

    def take_answer(self, run_id: str) -> Answer | None:
        path = self._answer_path(run_id)
        taken = f"{path}.taken{os.getpid()}"
        with _io(path, before_change=False):
            try:
                os.rename(path, taken)  # atomic: the answer is taken once
            except FileNotFoundError:
                return None
        data = _read_json(taken)
        with _io(taken, before_change=False):
            os.unlink(taken)
        return answer_of(data) if data is not None else None

    # --- history -----------------------------------------------------------------------

    def append_finished(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, sort_keys=True, separators=(",", ":")).encode() + b"\n"
        with _io(self.finished, before_change=False):
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


class LocalRun:
    """One live run in a LocalStore: its registration's flock and its hosts' lease flocks."""

    def __init__(self, store: LocalStore, info: RunInfo) -> None:
        self.store = store
        self._info = info
        self.status = RunStatus()
        self.fds: dict[str, int] = {}
        self.finished = False
        self.ever_claimed = False
        lock = store._live_lock(info.run_id)
        with _io(lock):
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LockHeld(f"run {info.run_id} is already registered by a live process") from None
        self.live_fd = fd
        self.holder = encode(
            {"run_id": info.run_id, "feature": info.feature, "master": info.master, "pid": info.pid, "user": info.user}
        )
        try:
            self._register()
        except StoreUnavailable:
            self.close()
            raise

    @property
    def info(self) -> RunInfo:
        return self._info

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(sorted(self.fds))

    def _register(self, before_change: bool = True) -> None:
        path = self.store._live_path(self._info.run_id)
        with _io(path, before_change):
            write_atomic(path, encode(registration(self._info, self.status, self.fds)), 0o600)

    def _owners(self) -> set[str]:
        return {self._info.run_id, *self._info.resumes}

    def claim(self, hosts: Iterable[str]) -> None:
        wanted = [h for h in check_hosts(hosts) if h not in self.fds]
        taken: dict[str, int] = {}
        busy: dict[str, dict[str, Any]] = {}
        try:
            # Sorted order: of two runs that want overlapping hosts, the one that takes the
            # first shared host gets all the shared hosts.
            for host in wanted:
                path = _host_file(self.store.leases, host, ".lease")
                with _io(path):
                    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    busy[host] = _holder(fd)
                    os.close(fd)
                    continue
                taken[host] = fd
                if not busy:
                    # Written at once: a run refused a moment later can name us.
                    with _io(path):
                        os.ftruncate(fd, 0)
                        os.pwrite(fd, self.holder, 0)
            # Holds are read under the claim (only a claimant writes a hold on a host), and on
            # the busy hosts too, so that a refusal names every hold.
            owners = self._owners()
            held = {}
            for host in wanted:
                hold = self.store.read_hold(host)
                if hold is not None and hold.run_id not in owners:
                    held[host] = hold
        except BaseException:
            _unlock(taken.values())
            raise
        if busy or held:
            _unlock(taken.values())  # all or nothing
            raise refused_claim(wanted, busy, held)
        self.fds.update(taken)
        self.ever_claimed = True
        try:
            self._register()
        except StoreUnavailable:
            _unlock(taken.values())
            for host in taken:
                del self.fds[host]
            raise

    def lost(self) -> str | None:
        return None  # an flock is not lost while its process lives

    def update(self, status: RunStatus) -> None:
        self.status = status
        self._register(before_change=False)

    def hold(self, hosts: Iterable[str], step: str, reason: str) -> list[Hold]:
        wanted = check_hosts(hosts)
        unclaimed = [h for h in wanted if h not in self.fds]
        if unclaimed:
            raise base.unclaimed(self._info.run_id, unclaimed)
        since = utc_now()
        made = []
        for host in wanted:
            hold = Hold(host, self._info.run_id, self._info.feature, step, reason, self._info.master, since)
            path = self.store.hold_path(host)
            with _io(path, before_change=False):
                write_atomic(path, encode(hold), 0o600)
            made.append(hold)
        return made

    def clear_own(self, hosts: Iterable[str]) -> list[Hold]:
        owners = self._owners()
        cleared = []
        for host in check_hosts(hosts):
            if host not in self.fds:
                continue  # a host we do not hold the claim on is not ours to clear
            hold = self.store.read_hold(host)
            if hold is not None and hold.run_id in owners:
                path = self.store.hold_path(host)
                with _io(path, before_change=False):
                    os.unlink(path)
                cleared.append(hold)
        return cleared

    def take_answer(self) -> Answer | None:
        return self.store.take_answer(self._info.run_id)

    def finish(self, exit_code: int, summary: str) -> FinishedRun:
        record = {"info": asdict(self._info), "exit_code": exit_code, "summary": summary, "finished": utc_now()}
        self.store.append_finished(record)
        self.store.bury_resumed(self._info.resumes, self._info.run_id)
        path = self.store._live_path(self._info.run_id)
        with _io(path, before_change=False):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        self.finished = True
        return finished_of(record, self.store.holds())

    def close(self) -> None:
        _unlock(self.fds.values())
        self.fds = {}
        if self.live_fd >= 0:
            # A run that never claimed a host changed nothing (say, its claim was refused):
            # it leaves no registration behind to be read as interrupted.
            # Otherwise an unfinished run's registration stays, and reads as interrupted.
            if self.finished or not self.ever_claimed:
                for path in (self.store._live_path(self._info.run_id), self.store._live_lock(self._info.run_id)):
                    try:
                        os.unlink(path)
                    except OSError:
                        pass
            fcntl.flock(self.live_fd, fcntl.LOCK_UN)
            os.close(self.live_fd)
            self.live_fd = -1

    def __enter__(self) -> LocalRun:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def _holder(fd: int) -> dict[str, Any]:
    try:
        data = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _unlock(fds: Iterable[int]) -> None:
    for fd in list(fds):
        try:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
        except OSError:
            pass
        finally:
            os.close(fd)
