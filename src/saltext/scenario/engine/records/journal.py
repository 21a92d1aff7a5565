"""The run journal: an append-only JSON-lines audit trail of scenario runs on the master.

One record per run, appended with O_APPEND in a single write() and fsync'd, never rewritten,
so concurrent runs cannot interleave records and a crash loses at most the record being
written. It lives apart from Salt's job cache (`<cachedir>/scenario/journal.jsonl`, or the
master option `scenario_journal`), so it survives keep_jobs expiry and a wiped job cache.
Readers skip a damaged line with a warning instead of failing.

Runs in flight, and runs whose process died, have no line here yet: their write-ahead
records (inflight.py) are read beside the journal, so `history`, `show` and `active` see
every run from the moment it pinned its hosts.
"""

from __future__ import annotations

import collections
import fcntl
import json
import logging
import os
import re
from collections.abc import Iterator, Mapping
from typing import Any, TypedDict

from ...config import Settings
from ..errors import RESULTS, InvalidScenario
from . import inflight
from .journal_record import interrupted_view

log = logging.getLogger(__name__)

RUN_ID_RE = re.compile(r"[0-9]{14}-[0-9a-f]{8}")
MAX_LIMIT = 10000


class RunSummary(TypedDict):
    """One line of `scenario.history`: what a journal record says at a glance."""

    run_id: str | None
    started: str | None
    name: str | None
    user: str | None
    retcode: int | None
    state: str
    summary: str | None
    still_blocked: list[str]
    held: list[str]  # pinned hosts exclude_held left out: held by other runs


# A record as read back: the JSON its writer (of any format version) appended.
Record = dict[str, Any]


def journal_path(settings: Settings) -> str:
    """The journal file: master option scenario_journal, else in the master's cachedir."""
    path = settings.journal
    if not path:
        raise InvalidScenario("no journal: neither the master option scenario_journal nor cachedir is set")
    return path


def check_run_id(run_id: object) -> str:
    if not isinstance(run_id, str) or not RUN_ID_RE.fullmatch(run_id):
        raise InvalidScenario(f"not a run id (YYYYmmddHHMMSS-xxxxxxxx): {run_id!r}")
    return run_id


def check_limit(limit: Any) -> int:
    try:
        value = int(limit)
    except (TypeError, ValueError):
        raise InvalidScenario(f"limit must be a whole number: {limit!r}") from None
    if isinstance(limit, bool) or not 1 <= value <= MAX_LIMIT:
        raise InvalidScenario(f"limit must be between 1 and {MAX_LIMIT}: {limit!r}")
    return value


def append(path: str, record: Mapping[str, object]) -> int:
    """Append one record as one line in one write(); returns the bytes written."""
    line = (json.dumps(record, sort_keys=True, default=str, separators=(",", ":")) + "\n").encode()
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        # O_APPEND already makes the write land whole at the end; the lock also covers
        # filesystems (NFS) where it does not.
        fcntl.flock(fd, fcntl.LOCK_EX)
        written = os.write(fd, line)
        if written != len(line):
            raise OSError(f"short write to the scenario journal {path}: {written} of {len(line)} bytes")
        os.fsync(fd)
    finally:
        os.close(fd)
    return written


def records(path: str, warnings: list[str] | None = None) -> Iterator[Record]:
    """Every readable record, oldest first; damaged lines are skipped and reported in `warnings`."""
    if not os.path.exists(path):
        return
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            try:
                record: Record = json.loads(raw)
                if not isinstance(record, dict) or not isinstance(record.get("run_id"), str):
                    raise ValueError("not a run record")
            except ValueError as exc:
                message = f"{path}:{number}: damaged journal line skipped ({exc})"
                log.warning("%s", message)
                if warnings is not None:
                    warnings.append(message)
                continue
            yield record


def summary_of(record: Record) -> RunSummary:
    return {
        "run_id": record.get("run_id"),
        "started": record.get("started"),
        "name": record.get("name"),
        "user": record.get("user"),
        "retcode": record.get("retcode"),
        "state": record.get("state", "finished"),
        "summary": record.get("summary"),
        "still_blocked": record.get("still_blocked", []),
        "held": record.get("held", []),
    }


def all_records(path: str, warnings: list[str] | None = None) -> list[Record]:
    """Final records and write-ahead records of runs without one, oldest first.

    A write-ahead record whose run still holds its lock is `running`; one whose process is
    gone is shown as `interrupted`, with its still-blocked hosts as of its last finished step.
    """
    finals = list(records(path, warnings))
    final_ids = {r["run_id"] for r in finals}
    pending = []
    for record, alive in inflight.records(path, warnings):
        if record["run_id"] in final_ids:
            continue  # the final record made it; the write-ahead file is a leftover
        pending.append(record if alive else interrupted_view(record))
    # Run ids start with their UTC start time, so they sort by it.
    return sorted([*finals, *pending], key=lambda r: (r.get("started") or "", r["run_id"]))


def active(path: str, warnings: list[str] | None = None) -> list[Record]:
    """The runs in flight (their process holds the lock), oldest first."""
    return [record for record, alive in inflight.records(path, warnings) if alive]


def history(path: str, name: str | None = None, limit: Any = 20) -> tuple[list[RunSummary], list[str]]:
    """The newest `limit` runs (of scenario `name`, if given), newest first, one summary each."""
    limit = check_limit(limit)
    warnings: list[str] = []
    newest: collections.deque[RunSummary] = collections.deque(maxlen=limit)
    for record in all_records(path, warnings):
        if name is None or record.get("name") == name:
            newest.append(summary_of(record))
    return list(reversed(newest)), warnings


def find(path: str, run_id: object) -> tuple[Record | None, list[str]]:
    """The record of `run_id` (validated first), or None; runs in flight and interrupted too."""
    check_run_id(run_id)
    warnings: list[str] = []
    found = None
    for record in all_records(path, warnings):
        if record.get("run_id") == run_id:
            found = record
    return found, warnings


def history_line(summary: Mapping[str, Any]) -> str:
    state = summary.get("state", "finished")
    # The outcome's word beside its code ("exit 6 interrupted", "exit 5 within budget") unless
    # the summary says it already: a stopped run and a dead one read alike.
    retcode = summary.get("retcode")
    word = (RESULTS.get(retcode, "") if isinstance(retcode, int) else "").replace("_", " ")
    word = "" if word in str(summary.get("summary")) else f" {word}"
    code = "running" if state == "running" else f"exit {summary.get('retcode')}{word}"
    line = f"{summary.get('run_id')}  {summary.get('started')}  {summary.get('name')}  {code}  {summary.get('summary')}"
    # Rows merged from the fleet store: another master's run, and the holds a run has now.
    if summary.get("master"):
        line += f"  (master {summary['master']})"
    holds = [h.get("host") for h in summary.get("holds") or [] if isinstance(h, dict)]
    if holds:
        line += f"  holds: {', '.join(str(h) for h in holds)}"
    # The holds above are the fleet store's now; the hosts exclude_held left out are the record's.
    if summary.get("held"):
        line += f"  left out (held by other runs): {', '.join(str(h) for h in summary['held'])}"
    return line
