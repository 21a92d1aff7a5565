"""`scenario.run` and `scenario.resume` with their paper trail.

Around the engine's run this adds, in order:
- the stop flag SIGTERM/SIGINT set (signals.py) and the approval channel (approval.py);
- the write-ahead record (inflight.py), written when the hosts are pinned and after every
  finished step, so a run that dies is still on record, as interrupted;
- after the run, the report files and the final journal record, all built from the run's
  own return data and events, so they carry the same verdict; then the write-ahead record
  goes.
Test-mode runs change nothing and are neither reported nor journaled; every other run,
including one refused with exit 2/3/4, gets a run id and a journal record, so the audit
trail also shows who tried to deploy what.
"""

import logging
import os

from .. import api
from ..errors import EXIT_INTERRUPTED, InvalidScenario
from ..running.approval import FileApprovals
from ..running.signals import stop_on_signals
from . import journal_record
from .inflight import InflightRecord, encode, with_lists
from .journal import append, find, journal_path
from .report_files import check_report_dir, write_reports
from .resume import resume_spec
from .run_recorder import RunRecorder

log = logging.getLogger(__name__)

# What the write-ahead record rewrites itself on: the hosts pinned, each step, an approval wait.
_WRITE_ON = {"run_started", "step_finished", "approval_wanted", "approval_finished", "rollback_started"}
# The record's lists with an entry (every host's verdict) per finished step. Each entry is
# encoded once, when its step finishes: encoding them all again on every rewrite cost
# hosts x steps² and was most of the engine's time on large fleets (bench/engine_cost.py).
_PER_STEP = ("batch_steps", "steps")


class WriteAhead:
    """A listener that keeps the run's write-ahead record current."""

    def __init__(self, record_file, recorder, meta):
        self.file = record_file
        self.recorder = recorder
        self.meta = meta
        self.opened = False
        self.encoded = {key: [] for key in _PER_STEP}  # JSON text per step event so far

    def _encode_new_steps(self):
        for event in self.recorder.step_events[len(self.encoded["batch_steps"]) :]:
            entry = journal_record.compact_step(event)
            self.encoded["batch_steps"].append(encode(entry))
            self.encoded["steps"].append(encode(journal_record.event_step(entry)))

    def __call__(self, event):
        if event.get("event") not in _WRITE_ON:
            return
        if not self.opened:
            self.file.open()
            self.opened = True
        self._encode_new_steps()
        # The same record as journal_record.build(None, ..., state="running"), its step lists spliced in.
        head = journal_record.build(None, self.recorder, self.meta, state="running", compact=[])
        for key in _PER_STEP:
            del head[key]
        self.file.write_text(with_lists(head, self.encoded))

    def close(self):
        if self.opened:
            self.file.close()


def _error(exc, name):
    return {"retcode": exc.retcode, "result": "error", "name": name, "error": str(exc)}


def _meta(name, user, runner_jid, args, resumes=None):
    return {"name": name, "user": user, "runner_jid": runner_jid, "pid": os.getpid(), "args": args, "resumes": resumes}


def _recorded(settings, name, report_dir, meta, call_engine, progress=None):
    """Run `call_engine(listeners, run_id, stop, approvals)` with every record of the run kept."""
    path = journal_path(settings)
    recorder = RunRecorder()
    ahead = WriteAhead(InflightRecord(path, recorder.run_id), recorder, meta)
    with stop_on_signals() as stop:
        try:
            ret = call_engine([recorder, ahead], recorder.run_id, stop, FileApprovals(path))
        except (KeyboardInterrupt, SystemExit) as exc:
            # Outside a step (e.g. while reports were written): the record still says so.
            ret = {"retcode": EXIT_INTERRUPTED, "result": "interrupted", "name": name, "error": repr(exc)}
    recorder.finish()
    ret.setdefault("run_id", recorder.run_id)
    if progress and stop():
        progress(f"{stop()} received: the run ended after the step in flight (exit {EXIT_INTERRUPTED})")
    reports = None
    if report_dir is not None:
        try:
            reports = ret["reports"] = write_reports(report_dir, ret, recorder)
        except OSError as exc:
            # The deployment already happened; a report that cannot be written must not hide its verdict.
            log.error("scenario %s run %s: cannot write reports to %s: %s", name, recorder.run_id, report_dir, exc)
            ret.setdefault("warnings", []).append(f"reports not written to {report_dir}: {exc}")
    try:
        append(path, journal_record.build(ret, recorder, meta, reports))
    except (OSError, InvalidScenario) as exc:
        log.error("scenario %s run %s: journal record not written: %s", name, recorder.run_id, exc)
        ret.setdefault("warnings", []).append(f"journal record not written: {exc}")
        ahead.file.close(remove=False)  # keep the write-ahead record: it is all the trail has
    else:
        ahead.close()
    return ret


def _checked_report_dir(report_dir):
    return None if report_dir is None else check_report_dir(report_dir)


def run(opts, name, source, transport_factory, report_dir=None, user=None, runner_jid=None, **kwargs):
    """api.run(...) plus its records (see the module doc). kwargs go to api.run."""
    try:
        report_dir = _checked_report_dir(report_dir)
    except InvalidScenario as exc:
        return _error(exc, name)
    if kwargs.get("test"):
        return api.run(opts, name, source, transport_factory, **kwargs)
    args = {k: kwargs.get(k) for k in ("scenario", "tags", "batch", "max_failures")}
    extra = list(kwargs.pop("listeners", ()))

    def engine(listeners, run_id, stop, approvals):
        return api.run(
            opts,
            name,
            source,
            transport_factory,
            listeners=[*listeners, *extra],
            run_id=run_id,
            user=user,
            stop=stop,
            approvals=approvals,
            **kwargs,
        )

    return _recorded(opts, name, report_dir, _meta(name, user, runner_jid, args), engine, kwargs.get("progress"))


def resume(opts, run_id, source, transport_factory, force=False, report_dir=None, user=None, runner_jid=None, **kw):
    """Continue a failed or interrupted run: same feature, hosts and batches; passed batches stay done."""
    try:
        report_dir = _checked_report_dir(report_dir)
        record, _warnings = find(journal_path(opts), run_id)
        spec, args = resume_spec(record, run_id, force=bool(force))
    except InvalidScenario as exc:
        return _error(exc, None)
    name = record["name"]

    def engine(listeners, new_run_id, stop, approvals):
        return api.run(
            opts,
            name,
            source,
            transport_factory,
            listeners=listeners,
            run_id=new_run_id,
            user=user,
            stop=stop,
            approvals=approvals,
            resume=spec,
            **args,
            **kw,
        )

    meta = _meta(name, user, runner_jid, args, resumes=run_id)
    ret = _recorded(opts, name, report_dir, meta, engine, kw.get("progress"))
    ret.setdefault("resumes", run_id)
    return ret
