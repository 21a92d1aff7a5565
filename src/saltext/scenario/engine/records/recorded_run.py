"""`scenario.run` with its paper trail: the engine's run, then the reports and the journal.

The reports and the journal are built from the run's own return data (plus the per-batch
events a RunRecorder kept), so all three carry the same verdict. Test-mode runs change
nothing and are neither reported nor journaled; every other run, including one refused
with exit 2/3/4, gets a run id and a journal record, so the audit trail also shows who
tried to deploy what.
"""

import logging

from .. import api
from ..contracts import JournalRecord
from ..errors import InvalidScenario
from .journal import append, journal_path
from .report_files import check_report_dir, write_reports
from .run_recorder import RunRecorder

log = logging.getLogger(__name__)


def _host_results(hosts):
    return {h: {"status": r.get("status"), "reason": r.get("reason")} for h, r in sorted(hosts.items())}


def _steps_from_return(ret):
    return [
        {
            "scenario": sc["name"],
            "keyword": st["keyword"],
            "text": st["text"],
            "location": st["location"],
            "status": st["status"],
            "duration": st.get("duration"),
            "jids": st.get("jids", []),
            "call": st.get("call"),
            "hosts": _host_results(st.get("hosts", {})),
        }
        for sc in ret["scenarios"]
        for st in sc["steps"]
    ]


def _steps_from_events(recorder):
    # An aborted run has no collected result; the steps that finished still matter (blocks).
    out = []
    for key in sorted(recorder.steps):
        ev = recorder.steps[key]
        out.append(
            {
                "scenario": ev.get("scenario_name"),
                "batch": ev["batch"],
                "keyword": ev["keyword"],
                "text": ev["text"],
                "location": ev["location"],
                "status": ev["status"],
                "duration": ev.get("duration"),
                "jids": ev.get("jids", []),
                "call": ev.get("call"),
                "hosts": {
                    h: {"status": "passed" if r["ok"] else "failed", "reason": r["reason"]}
                    for h, r in sorted(ev.get("results", {}).items())
                },
            }
        )
    return out


def _blocked_by_events(recorder):
    # An aborted run returns no still_blocked; the block/unblock steps that finished tell it.
    blocked = set()
    for key in sorted(recorder.steps):
        ev = recorder.steps[key]
        effect = (ev.get("call") or {}).get("lb_effect")
        for host, res in ev.get("results", {}).items():
            if res["ok"] and effect == "block":
                blocked.add(host)
            elif res["ok"] and effect == "unblock":
                blocked.discard(host)
    return sorted(blocked)


def journal_record(ret, recorder, user=None, runner_jid=None, reports=None) -> JournalRecord:
    started = recorder.run_started
    steps = _steps_from_return(ret) if "scenarios" in ret else _steps_from_events(recorder)
    return {
        "v": 1,
        "run_id": recorder.run_id,
        "name": ret.get("name"),
        "uri": ret.get("uri", started.get("uri")),
        "feature": ret.get("feature", started.get("feature")),
        "started": recorder.started_at,
        "finished": recorder.finished_at,
        "user": user,
        "runner_jid": runner_jid,
        "retcode": ret.get("retcode"),
        "result": ret.get("result"),
        "error": ret.get("error"),
        "target": ret.get("target", started.get("target")),
        "pinned": ret.get("pinned", started.get("pinned", [])),
        "batches": ret.get("batches", started.get("batches", [])),
        "steps": steps,
        "failed_hosts": ret.get("failed_hosts", {}),
        "still_blocked": ret.get("still_blocked", _blocked_by_events(recorder)),
        "not_started": ret.get("not_started", []),
        "duration": ret.get("duration"),
        "reports": reports,
        "summary": ret.get("summary") or f"exit {ret.get('retcode')}: {ret.get('error')}",
    }


def run(opts, name, source, transport_factory, report_dir=None, user=None, runner_jid=None, **kwargs):
    """api.run(...) plus `report_dir` reports and a journal record. kwargs go to api.run."""
    if report_dir is not None:
        try:
            report_dir = check_report_dir(report_dir)
        except InvalidScenario as exc:
            return {"retcode": exc.retcode, "result": "error", "name": name, "error": str(exc)}
    if kwargs.get("test"):
        return api.run(opts, name, source, transport_factory, **kwargs)
    recorder = RunRecorder()
    listeners = [recorder, *kwargs.pop("listeners", ())]
    ret = api.run(opts, name, source, transport_factory, listeners=listeners, run_id=recorder.run_id, **kwargs)
    recorder.finish()
    ret.setdefault("run_id", recorder.run_id)
    reports = None
    if report_dir is not None:
        try:
            reports = ret["reports"] = write_reports(report_dir, ret, recorder)
        except OSError as exc:
            # The deployment already happened; a report that cannot be written must not hide its verdict.
            log.error("scenario %s run %s: cannot write reports to %s: %s", name, recorder.run_id, report_dir, exc)
            ret.setdefault("warnings", []).append(f"reports not written to {report_dir}: {exc}")
    try:
        append(journal_path(opts), journal_record(ret, recorder, user, runner_jid, reports))
    except (OSError, InvalidScenario) as exc:
        log.error("scenario %s run %s: journal record not written: %s", name, recorder.run_id, exc)
        ret.setdefault("warnings", []).append(f"journal record not written: {exc}")
    return ret
