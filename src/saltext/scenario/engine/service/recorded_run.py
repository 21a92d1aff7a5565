"""`scenario.run` and `scenario.resume` with their paper trail.

Around the engine's run this adds, in order:
- the stop flag SIGTERM/SIGINT set (signals.py) and the approval channel (approval.py);
- the write-ahead record (inflight.py), written when the hosts are pinned and after every
  finished step, so a run that dies is still on record, as interrupted;
- after the run, the report files and the final journal record, all built from the run's
  own return data and events, so they carry the same verdict; then the write-ahead record
  goes.
Records that cannot be written stop the run cleanly: before it starts, every directory it
writes to is probed (writable.py: exit 3, nothing changed); a write-ahead rewrite that fails
mid-run stops it at the next step boundary (exit 6, hosts as they are, the reason named); a
final record that cannot be appended is logged and returned in full, as JSON.
Test-mode runs change nothing and are neither reported nor journaled; every other run,
including one refused with exit 2/3/4, gets a run id and a journal record, so the audit
trail also shows who tried to deploy what.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable
from typing import Any, cast

from ...config import Settings
from ..contracts import Event, RunReturn
from ..errors import EXIT_INTERRUPTED, InvalidScenario, ScenarioError
from ..ports import FeatureSource, MetricsSource, Transport
from ..records import journal_record
from ..records.inflight import InflightRecord, encode, runs_dir, with_lists
from ..records.journal import append, find, journal_path
from ..records.report_files import write_reports
from ..records.run_recorder import RunRecorder
from ..running.leases import lease_dir
from ..running.lock import lock_path
from ..running.signals import finalize_wait, stop_on_signals
from . import returns
from . import run as engine
from .notifying import Resolve, RunNotice, notice_for
from .request import Caller, RunRequest
from .resume import resume_spec
from .writable import check_writable

log = logging.getLogger(__name__)

# What the write-ahead record rewrites itself on: the hosts pinned, each step, an approval wait.
_WRITE_ON = {"run_started", "step_finished", "approval_wanted", "approval_finished", "rollback_started"}
# The record's lists with an entry (every host's verdict) per finished step. Each entry is
# encoded once, when its step finishes: encoding them all again on every rewrite cost
# hosts x steps² and was most of the engine's time on large fleets (bench/engine_cost.py).
_PER_STEP = ("batch_steps", "steps")


class WriteAhead:
    """A listener that keeps the run's write-ahead record current."""

    def __init__(self, record_file: InflightRecord, recorder: RunRecorder, meta: dict[str, Any]) -> None:
        self.file = record_file
        self.recorder = recorder
        self.meta = meta
        self.opened = False
        # Told why, when the record cannot be written: the run then stops at the next step
        # boundary (the stop flag's `set`); a run with no write-ahead record must not go on.
        self.on_failure: Callable[[str], None] | None = None
        self.failed: str | None = None
        self.encoded: dict[str, list[str]] = {key: [] for key in _PER_STEP}  # JSON text per step event so far

    def _encode_new_steps(self) -> None:
        for event in self.recorder.step_events[len(self.encoded["batch_steps"]) :]:
            entry = journal_record.compact_step(event)
            self.encoded["batch_steps"].append(encode(entry))
            self.encoded["steps"].append(encode(journal_record.event_step(entry)))

    def __call__(self, event: Event) -> None:
        if event.get("event") not in _WRITE_ON or self.failed:
            return
        try:
            self._write()
        except OSError as exc:
            self.failed = f"the write-ahead record {self.file.path} could not be written ({exc.strerror or exc})"
            log.error("scenario run %s: %s; stopping at the next step boundary", self.recorder.run_id, self.failed)
            if self.on_failure is not None:
                self.on_failure(self.failed)

    def _write(self) -> None:
        if not self.opened:
            self.file.open()
            self.opened = True
        self._encode_new_steps()
        # The same record as journal_record.build(None, ..., state="running"), its step lists spliced in.
        head = cast(dict[str, Any], journal_record.build(None, self.recorder, self.meta, state="running", compact=[]))
        for key in _PER_STEP:
            del head[key]
        self.file.write_text(with_lists(head, self.encoded))

    def close(self) -> None:
        if self.opened:
            self.file.close()


# (listeners, run id, stop flag, approval channel: None for the fleet store's) -> the return
Engine = Callable[[list[Any], str, Callable[[], str | None], Any], returns.Return]


def _meta(request: RunRequest, caller: Caller, resumes: str | None = None) -> dict[str, Any]:
    args = request.recorded_args()
    if resumes is not None:
        args.pop("batch")  # a resumed run keeps the batches it recorded
    return {
        "name": request.name,
        "user": caller.user,
        "runner_jid": caller.jid,
        "pid": os.getpid(),
        "args": args,
        "resumes": resumes,
    }


def _unwritable(settings: Settings, request: RunRequest) -> returns.Return | None:
    """Exit 3 (nothing ran) when a directory the run writes its records to cannot be written."""
    try:
        path = journal_path(settings)
        directories = [
            ("journal", os.path.dirname(path)),
            ("write-ahead record", runs_dir(path)),
            ("lock", os.path.dirname(lock_path(settings.cachedir, request.name))),
            ("lease", lease_dir(settings.cachedir)),
        ]
        if request.report_dir is not None:
            directories.append(("report", request.report_dir))
        check_writable(directories)
    except ScenarioError as exc:
        log.error("scenario %s: %s", request.name, exc)
        return returns.error(exc, name=request.name)
    return None


def _recorded(
    settings: Settings,
    request: RunRequest,
    meta: dict[str, Any],
    call_engine: Engine,
    caller: Caller,
    notice: RunNotice | None = None,
) -> returns.Return:
    """Run `call_engine(listeners, run_id, stop, approvals)` with every record of the run kept."""
    name, report_dir = request.name, request.report_dir
    path = journal_path(settings)
    recorder = RunRecorder()
    ahead = WriteAhead(InflightRecord(path, recorder.run_id), recorder, meta)
    with stop_on_signals(wait=finalize_wait(settings.stop_grace)) as stop:
        ahead.on_failure = stop.set
        try:
            listeners: list[Any] = [recorder, ahead] if notice is None else [recorder, ahead, notice]
            ret = call_engine(listeners, recorder.run_id, stop, None)
        except (KeyboardInterrupt, SystemExit) as exc:
            # Outside a step (e.g. while reports were written): the record still says so.
            ret = {"retcode": EXIT_INTERRUPTED, "result": "interrupted", "name": name, "error": repr(exc)}
    recorder.finish()
    ret.setdefault("run_id", recorder.run_id)
    if caller.progress and stop():
        caller.say(f"stopped ({stop()}): nothing started after the step in flight (exit {EXIT_INTERRUPTED})")
    reports = None
    if report_dir is not None:
        try:
            reports = ret["reports"] = write_reports(report_dir, cast(RunReturn, ret), recorder)
        except OSError as exc:
            # The deployment already happened; a report that cannot be written must not hide its verdict.
            log.error("scenario %s run %s: cannot write reports to %s: %s", name, recorder.run_id, report_dir, exc)
            ret.setdefault("warnings", []).append(f"reports not written to {report_dir}: {exc}")
    # Webhooks (scenario_notify): the final word, with the report paths; their warnings are kept.
    noticed = notice.finish(ret) if notice is not None else []
    if noticed:
        ret["warnings"] = [*ret.get("warnings", []), *noticed]
    record = journal_record.build(cast(RunReturn, ret), recorder, meta, reports)
    if noticed:
        record["warnings"] = noticed
    try:
        append(path, record)
    except (OSError, InvalidScenario) as exc:
        # Nothing may be lost: the record goes to the log and the return in full.
        text = json.dumps(record, sort_keys=True, default=str)
        log.error(
            "scenario %s run %s: journal record not written to %s: %s; the record: %s",
            name,
            recorder.run_id,
            path,
            exc,
            text,
        )
        ret.setdefault("warnings", []).append(f"journal record not written to {path}: {exc}; the record: {text}")
        ahead.file.close(remove=False)  # keep the write-ahead record: it is all the trail has
    else:
        ahead.close()
    return ret


def _engine_call(
    settings: Settings,
    request: RunRequest,
    source: FeatureSource,
    transport_factory: Callable[[], Transport],
    caller: Caller,
    extra: list[Any],
    resume: Any,
    prometheus: Callable[[], MetricsSource | None] | None,
    store: Any,
) -> Callable[[list[Any], str, Callable[[], str | None], Any], returns.Return]:
    """What `_recorded` calls: the engine's run with the recorders, run id, stop flag and approvals."""

    def call_engine(
        recorders: list[Any], run_id: str, stop: Callable[[], str | None], approvals: Any
    ) -> returns.Return:
        return engine.run(
            settings,
            request,
            source,
            transport_factory,
            caller,
            listeners=[*recorders, *extra],
            run_id=run_id,
            stop=stop,
            approvals=approvals,
            resume=resume,
            prometheus=prometheus,
            store=store,
        )

    return call_engine


def run(
    settings: Settings,
    request: RunRequest,
    source: FeatureSource,
    transport_factory: Callable[[], Transport],
    caller: Caller | None = None,
    listeners: Iterable[Any] = (),
    prometheus: Callable[[], MetricsSource | None] | None = None,
    store: Any = None,
    resolve: Resolve | None = None,
) -> returns.Return:
    """The engine's run of the request plus its records (see the module doc).

    `resolve` turns a webhook's ``sdb://`` or ``pillar:`` URL reference into its URL.
    """
    caller = caller or Caller()
    if request.test:
        return engine.run(settings, request, source, transport_factory, caller, listeners)
    refused = _unwritable(settings, request)
    if refused is not None:
        return refused
    call_engine = _engine_call(
        settings, request, source, transport_factory, caller, list(listeners), None, prometheus, store
    )
    return _recorded(settings, request, _meta(request, caller), call_engine, caller, notice_for(settings, resolve))


def resume(
    settings: Settings,
    request: RunRequest,
    source: FeatureSource,
    transport_factory: Callable[[], Transport],
    caller: Caller | None = None,
    prometheus: Callable[[], MetricsSource | None] | None = None,
    store: Any = None,
    resolve: Resolve | None = None,
) -> returns.Return:
    """Continue a failed or interrupted run (``request.resumes``): same feature, hosts and batches."""
    caller = caller or Caller()
    run_id = request.resumes
    try:
        record, _warnings = find(journal_path(settings), run_id)
        spec, args = resume_spec(record, run_id, force=request.force)
    except ScenarioError as exc:  # unknown, passed, never started (2), still running (4)
        return returns.error(exc, name=None)
    if record is None:  # resume_spec refuses a missing record; this only tells the type checker
        return returns.error(ScenarioError(f"no run {run_id} in the journal"), name=None)
    request = request.resuming(record["name"], args)
    refused = _unwritable(settings, request)
    if refused is not None:
        return refused
    call_engine = _engine_call(settings, request, source, transport_factory, caller, [], spec, prometheus, store)

    meta = _meta(request, caller, resumes=run_id)
    ret = _recorded(settings, request, meta, call_engine, caller, notice_for(settings, resolve))
    ret.setdefault("resumes", run_id)
    return ret
