"""A run's journal record, built from its return data and the events a RunRecorder kept.

The same builder makes the write-ahead record while the run goes (no return yet: the steps
come from the events, `state: running`) and the final record the journal keeps. Both carry
what `scenario.resume` needs: the run's arguments, the feature's digest, the pinned hosts
and batches, and every step's per-host verdicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from ..contracts import (
    CompactStep,
    HostResult,
    JournalRecord,
    JournalStep,
    RecordedStep,
    RunFinished,
    RunReturn,
    StepHost,
)
from ..errors import RESULTS
from .result import host_status
from .run_recorder import RunRecorder

FORMAT_VERSION = 2


def _host_results(hosts: Mapping[str, HostResult]) -> dict[str, StepHost]:
    return {h: {"status": r.get("status"), "reason": r.get("reason")} for h, r in sorted(hosts.items())}


def _steps_from_return(ret: RunReturn) -> list[JournalStep]:
    steps: list[JournalStep] = []
    for sc in ret["scenarios"]:
        for st in sc["steps"]:
            step: JournalStep = {
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
            if sc.get("on_failure"):
                step["on_failure"] = True
            steps.append(step)
    return steps


def compact_step(ev: RecordedStep) -> CompactStep:
    """One step event, compact: what per-batch reports and resume need of it."""
    return {
        "phase": ev.get("phase", "deploy"),
        "batch": ev["batch"],
        "scenario": ev["scenario"],
        "scenario_name": ev.get("scenario_name"),
        "step": ev["step"],
        "keyword": ev["keyword"],
        "text": ev["text"],
        "location": ev["location"],
        "status": ev["status"],
        "duration": ev.get("duration"),
        "jids": ev.get("jids", []),
        "call": ev.get("call"),
        "hosts_in_batch": ev.get("hosts_in_batch", []),
        "hosts": {
            h: {"status": host_status(r), "reason": r["reason"]} for h, r in sorted(ev.get("results", {}).items())
        },
    }


def batch_steps(recorder: RunRecorder) -> list[CompactStep]:
    """Every step event, compact and in order."""
    return [compact_step(ev) for ev in recorder.step_events]


def done_batches(recorder: RunRecorder) -> dict[str, str]:
    """{batch index (as text): why} of the batches a resume must not touch again: every host
    passed every step there, in this run or (carried over) in the run it resumed."""
    done = {str(b): why for b, why in recorder.skipped_reasons.items() if why.startswith("passed")}
    wanted = recorder.run_started.get("deploy_steps")
    if not wanted:
        return done
    passed: dict[int, int] = {}
    failed: set[int] = set()
    for ev in recorder.step_events:
        if ev.get("phase", "deploy") != "deploy" or not ev.get("results"):
            continue  # Given steps (no host was asked) and the rollback
        if ev["status"] == "passed":
            passed[ev["batch"]] = passed.get(ev["batch"], 0) + 1
        else:
            failed.add(ev["batch"])
    run_id = recorder.run_id
    for batch, count in passed.items():
        if count == wanted and batch not in failed:
            done[str(batch)] = f"passed in run {run_id}"
    return done


def event_step(entry: CompactStep) -> JournalStep:
    """A compact step (`compact_step`) as the record's `steps` list shows it while the run goes."""
    return {
        "scenario": entry["scenario_name"],
        "batch": entry["batch"],
        "keyword": entry["keyword"],
        "text": entry["text"],
        "location": entry["location"],
        "status": entry["status"],
        "duration": entry["duration"],
        "jids": entry["jids"],
        "call": entry["call"],
        "hosts": entry["hosts"],
    }


def build(
    ret: RunReturn | None,
    recorder: RunRecorder,
    meta: Mapping[str, Any],
    reports: dict[str, str] | None = None,
    state: str = "finished",
    compact: list[CompactStep] | None = None,
) -> JournalRecord:
    """The record of a run; `ret` is None while it goes. `meta`: user, runner_jid, pid, args...

    `compact`: the step events already made compact (default: `batch_steps(recorder)`).
    """
    ret = ret or {}
    started = recorder.run_started
    compact = batch_steps(recorder) if compact is None else compact
    finished: RunFinished | dict[str, Any] = recorder.finished or {}
    record: JournalRecord = {
        "v": FORMAT_VERSION,
        "run_id": recorder.run_id,
        "state": state,
        "name": ret.get("name", meta.get("name")),
        "uri": ret.get("uri", started.get("uri")),
        "feature": ret.get("feature", started.get("feature")),
        "feature_sha256": started.get("feature_sha256"),
        "started": recorder.started_at,
        "finished": recorder.finished_at if state == "finished" else None,
        "user": meta.get("user"),
        "runner_jid": meta.get("runner_jid"),
        "pid": meta.get("pid"),
        "args": meta.get("args", {}),
        "resumes": meta.get("resumes"),
        "retcode": ret.get("retcode"),
        "result": ret.get("result", "running" if state == "running" else None),
        "error": ret.get("error"),
        "target": ret.get("target", started.get("target")),
        "pinned": ret.get("pinned", started.get("pinned", [])),
        "batches": ret.get("batches", started.get("batches", [])),
        "done_batches": done_batches(recorder),
        "plan": started.get("plan", []),
        "feature_line": started.get("feature_line"),
        "feature_description": started.get("feature_description"),
        "feature_tags": started.get("feature_tags", []),
        "steps": _steps_from_return(ret) if "scenarios" in ret else [event_step(e) for e in compact],
        "batch_steps": compact,
        "position": recorder.position,
        "failed_hosts": ret.get("failed_hosts", {}),
        "still_blocked": ret.get("still_blocked", sorted(recorder.blocked)),
        "not_started": ret.get("not_started", []),
        "left": finished.get("left", {}),
        "rollback": ret.get("rollback", finished.get("rollback")),
        "replaced": finished.get("replaced", {}),
        "approvals": [
            {"batch": a.get("batch"), "approved": a.get("approved"), "user": a.get("user"), "reason": a.get("reason")}
            for a in recorder.approvals
        ],
        "waiting": recorder.waiting,
        "duration": ret.get("duration"),
        "reports": reports,
        "summary": ret.get("summary") or _summary(ret, recorder, state),
    }
    key: Literal["interrupted", "halted"]
    for key in ("interrupted", "halted"):
        if ret.get(key):
            record[key] = ret[key]
    # Holds: the hosts exclude_held left out, those the run holds at its end, and the holds
    # that refused it (exit 4), so reports rendered from the record name them too.
    if ret.get("held"):
        record["held"] = list(ret["held"])
    if ret.get("holds"):
        record["holds"] = list(ret["holds"])
    if ret.get("held_by"):
        record["held_by"] = [dict(h) for h in ret["held_by"]]
    return record


def _summary(ret: RunReturn, recorder: RunRecorder, state: str) -> str:
    if state == "running":
        where = recorder.position
        at = f"at {where['keyword']} {where['text']} ({where['location']})" if where else "before its first step"
        return f"running {at}"
    return f"exit {ret.get('retcode')}: {ret.get('error')}"


# Records read back from the journal are the JSON their writer (any version) put there.
def interrupted_view(record: dict[str, Any], why: str = "its process is gone without a final record") -> dict[str, Any]:
    """How `history`/`show` present a write-ahead record whose run died: interrupted."""
    where = record.get("position")
    at = f"after {where['keyword']} {where['text']} ({where['location']})" if where else "before its first step"
    blocked = record.get("still_blocked") or []
    view = dict(record)
    view.update(
        state="interrupted",
        result=RESULTS[6],
        retcode=6,
        interrupted=why,
        summary=f"interrupted {at}: {why}; still blocked: {', '.join(blocked) or 'none'}",
    )
    return view
