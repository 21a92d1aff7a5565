"""`scenario.status` and `scenario.report_file`: what a CI job polls while a run goes, and fetches after.

A run is found by its run id or by the jid of the runner job that started it (``runner_jid``
in its records: a salt-api ``runner_async`` call answers with that jid only). The answer comes
from the run's write-ahead record while it goes (its process holds the record's lock: running;
the lock is free: the process died, interrupted) and from its final journal record once done.
Both are files on the master, read without contacting a minion: a poll is cheap. A run id that
this master's records do not know is looked up in the fleet store every master shares
(``from_store``: its live runs, then its finished runs), so a run started on another master is
answered too, with what the store keeps (no report paths; held hosts are its holds). A jid is
only ever looked up here: the job runs on the master whose salt-api started it.

``report_file`` hands a report of a finished run over the API (a CI job that does not share a
directory with the master): the file the run wrote into its ``report_dir``, or, when it wrote
none, the same report rendered from the journal record. Bounded in size.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from ..errors import EXIT_INTERRUPTED, RESULTS, InvalidScenario
from ..records import journal, replay
from ..records.cucumber_json import cucumber_report
from ..records.html_report import html_report
from ..records.inflight import records as inflight_records
from ..records.journal_record import interrupted_view
from ..records.junit_xml import junit_report
from ..store import FleetStore
from .returns import Return, answer, failure

# A Salt jid: digits (20 of them today); salt-run parses `jid=2026...` as a number, so int is fine too.
_JID_RE = re.compile(r"[0-9]{1,40}")
# The largest report handed over the API; a bigger one is read on the master.
MAX_REPORT_BYTES = 8 * 1024 * 1024
REPORT_KINDS = ("junit_xml", "cucumber_json", "html")
REFUSED = "refused"  # exit 2, 3 or 4: the run was refused before it changed anything


def check_jid(jid: object) -> str:
    text = str(jid) if isinstance(jid, int) and not isinstance(jid, bool) else jid
    if not isinstance(text, str) or not _JID_RE.fullmatch(text):
        raise InvalidScenario(f"not a job id (digits): {jid!r}")
    return text


def _key(run_id: object, jid: object) -> tuple[str, str]:
    """("run_id" | "runner_jid", the checked value): exactly one of the two is given."""
    if (run_id is None) == (jid is None):
        raise InvalidScenario("give a run id (scenario.status RUN_ID) or a runner job id (jid=JID), not both")
    if run_id is not None:
        return "run_id", journal.check_run_id(run_id)
    return "runner_jid", check_jid(jid)


def find(path: str, run_id: object = None, jid: object = None) -> tuple[dict[str, Any], bool] | None:
    """(record, alive) of the run, newest record first: in flight, died, or final; None if unknown."""
    key, value = _key(run_id, jid)

    def matches(record: dict[str, Any]) -> bool:
        return str(record.get(key)) == value

    pending = [(r, alive) for r, alive in inflight_records(path) if matches(r)]
    for record, alive in pending:
        if alive:
            return record, True
    final = None
    for record in journal.records(path):
        if matches(record):
            final = record  # the last one: a resumed run's jid is its own
    if final is not None:
        return final, False
    if pending:
        return interrupted_view(pending[-1][0]), False
    return None


def _step_line(where: dict[str, Any] | None) -> str | None:
    if not where:
        return None
    return f"{where.get('keyword', '')} {where.get('text', '')} ({where.get('location', '')})".strip()


def _failed(record: dict[str, Any]) -> list[str]:
    failed = set(record.get("failed_hosts") or {})
    for step in record.get("batch_steps") or []:
        for host, verdict in (step.get("hosts") or {}).items():
            if (verdict or {}).get("status") == "failed":
                failed.add(host)
    return sorted(failed)


def _state(record: dict[str, Any], alive: bool) -> str:
    if alive:
        return "running"
    retcode = record.get("retcode")
    if record.get("state") == "interrupted" or retcode == EXIT_INTERRUPTED:
        return RESULTS[EXIT_INTERRUPTED]
    return RESULTS.get(retcode, REFUSED) if isinstance(retcode, int) else REFUSED


def view(record: dict[str, Any], alive: bool) -> Return:
    """The status answer of one record (see the module doc)."""
    state = _state(record, alive)
    where = record.get("position") or {}
    waiting = record.get("waiting") if alive else None
    count = len(record.get("batches") or [])
    at = [where.get("batch"), (waiting or {}).get("batch")]
    current = max((b for b in at if isinstance(b, int)), default=-1) + 1
    ret = answer(
        "status",
        run_id=record.get("run_id"),
        runner_jid=record.get("runner_jid"),
        name=record.get("name"),
        user=record.get("user"),
        started=record.get("started"),
        state=state,
        batch=[current, count],
        step=_step_line(where),
        waiting=bool(waiting),
        failed=_failed(record),
        # Out of the balancer at its last step, and (with the fleet store) the hosts it holds.
        held=sorted({*(record.get("still_blocked") or []), *(record.get("holds") or [])}),
        reports=dict(record.get("reports") or {}),
        summary=record.get("summary"),
    )
    if waiting:
        ret["step"] = f"waiting for approval: salt-run scenario.approve {record.get('run_id')}"
    if state != "running":
        retcode = record.get("retcode")
        ret["exit_code"] = EXIT_INTERRUPTED if state == "interrupted" else retcode
        ret["finished"] = record.get("finished")
        if record.get("error"):
            ret["error"] = record["error"]
    return ret


def status(path: str, run_id: object = None, jid: object = None) -> Return:
    """scenario.status: exit 2 (nothing to poll) for an unknown or malformed id."""
    found = find(path, run_id, jid)
    if found is None:
        what = f"run {run_id}" if run_id is not None else f"a run started by job {jid}"
        hint = " (its job may not have pinned its hosts yet, or it was refused before it had a run id)"
        return failure(2, f"no {what} in the journal or among the runs in flight{hint if jid is not None else ''}")
    return view(*found)


def from_store(store: FleetStore, run_id: str, limit: int = 1000) -> Return | None:
    """The status answer of `run_id` from the fleet store (see the module doc), or None."""
    for live in store.live_runs():
        if live.info.run_id == run_id:
            st = live.status
            ret = answer(
                "status",
                run_id=run_id,
                runner_jid=None,
                name=live.info.feature,
                user=live.info.user,
                master=live.info.master,
                started=live.info.started,
                state="running" if live.alive else RESULTS[EXIT_INTERRUPTED],
                batch=[st.batch, st.batches],
                step=st.position or None,
                waiting=st.waiting and live.alive,
                failed=sorted(st.failed_hosts),
                held=sorted(h.host for h in live.holds),
                reports={},
                summary=None,
            )
            if st.waiting and live.alive:
                ret["step"] = f"waiting for approval: salt-run scenario.approve {run_id}"
            if not live.alive:
                ret["exit_code"] = EXIT_INTERRUPTED
            return ret
    for done in store.finished_runs(limit):
        if done.info.run_id == run_id:
            code = done.exit_code
            return answer(
                "status",
                run_id=run_id,
                runner_jid=None,
                name=done.info.feature,
                user=done.info.user,
                master=done.info.master,
                started=done.info.started,
                state=RESULTS.get(code, REFUSED),
                batch=[0, 0],
                step=None,
                waiting=False,
                failed=[],
                held=sorted(h.host for h in done.holds),
                reports={},
                summary=done.summary,
                exit_code=code,
                finished=done.finished,
            )
    return None


def _render(record: dict[str, Any], kind: str) -> bytes:
    ret, recorder = replay.run_from_record(record)
    if kind == "junit_xml":
        return junit_report(ret, recorder)
    if kind == "cucumber_json":
        return (json.dumps(cucumber_report(ret, recorder), indent=2) + "\n").encode()
    return html_report(ret, recorder)


def _read_bounded(file_path: str) -> bytes | None:
    """The file's bytes; None when it is too large to hand over."""
    with open(file_path, "rb") as handle:
        data = handle.read(MAX_REPORT_BYTES + 1)
    return None if len(data) > MAX_REPORT_BYTES else data


def report_file(path: str, run_id: object, kind: object = "junit_xml") -> Return:
    """scenario.report_file: one report of a finished run, as text (see the module doc)."""
    journal.check_run_id(run_id)
    if kind not in REPORT_KINDS:
        raise InvalidScenario(f"kind must be one of {', '.join(REPORT_KINDS)}: {kind!r}")
    found = find(path, run_id)
    if found is None:
        return failure(1, f"no run {run_id} in the journal")
    record, alive = found
    if alive:
        return failure(1, f"run {run_id} is still running; its reports come when it is done")
    written = (record.get("reports") or {}).get(kind)
    source = "rendered from the journal record"
    data: bytes | None = None
    if isinstance(written, str) and os.path.isfile(written):
        data, source = _read_bounded(written), written
    else:
        data = _render(record, str(kind))
    if data is None or len(data) > MAX_REPORT_BYTES:
        where = f" at {written}" if source == written else ""
        too_big = f"the {kind} report of run {run_id} is over {MAX_REPORT_BYTES} bytes"
        return failure(1, f"{too_big}; read it on the master{where}")
    return answer(
        "report_file",
        run_id=run_id,
        kind=kind,
        source=source,
        bytes=len(data),
        content=data.decode("utf-8", errors="replace"),
    )
