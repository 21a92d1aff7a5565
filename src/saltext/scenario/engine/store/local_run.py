"""One live run in the local fleet store: its registration's flock and its hosts' lease flocks.

A claim is an flock() on `leases/<host>.lease` that the kernel drops when the run's process
dies; the holder's run id, feature, master and pid are written in it for a refused run to name.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable
from dataclasses import asdict
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..errors import LockHeld
from . import base
from .base import (
    Answer,
    FinishedRun,
    Hold,
    RunInfo,
    RunStatus,
    StoreUnavailable,
    check_hosts,
    encode,
    finished_of,
    refused_claim,
    registration,
    utc_now,
)
from .local_files import host_file, os_errors, read_holder, unlock_all, write_atomic

if TYPE_CHECKING:
    from .local import LocalStore


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
        with os_errors(lock):
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
        with os_errors(path, before_change):
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
                path = host_file(self.store.leases, host, ".lease")
                with os_errors(path):
                    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    busy[host] = read_holder(fd)
                    os.close(fd)
                    continue
                taken[host] = fd
                if not busy:
                    # Written at once: a run refused a moment later can name us.
                    with os_errors(path):
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
            unlock_all(taken.values())
            raise
        if busy or held:
            unlock_all(taken.values())  # all or nothing
            raise refused_claim(wanted, busy, held)
        self.fds.update(taken)
        self.ever_claimed = True
        try:
            self._register()
        except StoreUnavailable:
            unlock_all(taken.values())
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
            with os_errors(path, before_change=False):
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
                with os_errors(path, before_change=False):
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
        with os_errors(path, before_change=False):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        self.finished = True
        return finished_of(record, self.store.holds())

    def close(self) -> None:
        unlock_all(self.fds.values())
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
