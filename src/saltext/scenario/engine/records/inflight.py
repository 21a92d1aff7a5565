"""The write-ahead record of a run in flight: `<journal dir>/runs/<run_id>.json`.

A run is on record from the moment it pins its hosts: the record is rewritten after every
finished step (to a temporary file, fsync'd, then renamed over the old one, so a reader or
a crash never sees half a record) and removed once the final record is in the journal. The
run holds an flock on `<run_id>.lock` while it lives; the kernel drops it when the process
dies, so a record whose lock is free belongs to a run that is gone: interrupted.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Mapping
from typing import Any

from .report_files import write_atomic

log = logging.getLogger(__name__)

SUFFIX = ".json"


def encode(value: object) -> str:
    """The record's JSON text (keys sorted; what JSON cannot say, as text)."""
    return json.dumps(value, sort_keys=True, default=str)


def with_lists(head: Mapping[str, object], lists: Mapping[str, list[str]]) -> str:
    """The JSON text of `head` plus `lists` ({key: [JSON text of an item, ...]}) as its keys.

    Lets a caller encode each item of a growing list once and reuse it on every rewrite.
    """
    text = encode(head)
    tail = ", ".join(f"{json.dumps(key)}: [{', '.join(items)}]" for key, items in lists.items())
    if not tail:
        return text
    return f"{text[:-1]}{', ' if head else ''}{tail}}}"


def runs_dir(journal_path: str) -> str:
    return os.path.join(os.path.dirname(journal_path), "runs")


class InflightRecord:
    """The write-ahead file of one run; `open()` takes its lock, `close()` removes both files."""

    def __init__(self, journal_path: str, run_id: str) -> None:
        self.dir = runs_dir(journal_path)
        self.path = os.path.join(self.dir, run_id + SUFFIX)
        self.lock_path = os.path.join(self.dir, run_id + ".lock")
        self.fd: int | None = None

    def open(self) -> InflightRecord:
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new run id: nobody else has it
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd
        return self

    def write(self, record: Mapping[str, object]) -> None:
        self.write_text(encode(record))

    def write_text(self, text: str) -> None:
        """Replace the record with `text` (one JSON document), atomically and durably."""
        write_atomic(self.path, (text + "\n").encode(), 0o600)

    def close(self, remove: bool = True) -> None:
        if remove:
            for path in (self.path, self.lock_path):
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def lock_held(lock_path: str) -> bool:
    """True while some process holds the flock on `lock_path` (the run that owns it lives).

    Raises OSError when the file exists but cannot be opened; the fleet store translates it."""
    try:
        fd = os.open(lock_path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def records(journal_path: str, warnings: list[str] | None = None) -> list[tuple[dict[str, Any], bool]]:
    """(record, alive) of every write-ahead record; damaged files are skipped with a warning."""
    directory = runs_dir(journal_path)
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return []
    found: list[tuple[dict[str, Any], bool]] = []
    for name in names:
        if not name.endswith(SUFFIX):
            continue  # locks, and temporary files a crash left behind
        path = os.path.join(directory, name)
        try:
            with open(path, "rb") as handle:
                record = json.loads(handle.read())
            if not isinstance(record, dict) or not isinstance(record.get("run_id"), str):
                raise ValueError("not a run record")
        except (OSError, ValueError) as exc:
            message = f"{path}: damaged write-ahead record skipped ({exc})"
            log.warning("%s", message)
            if warnings is not None:
                warnings.append(message)
            continue
        found.append((record, lock_held(os.path.join(directory, record["run_id"] + ".lock"))))
    return found
