"""A journal record back into what the report writers read: the run's return and its recorder.

`scenario.report RUN_ID dir=...` writes the HTML, JUnit and Cucumber files of any run in the
journal, interrupted ones included. The record keeps the run's plan (every step, run or not)
and every step event it saw, per batch; folded per host, they give the same return data the
run would have returned, so the files say what the run's own reports said, and for a run
that died they mark everything after its last finished step as skipped.
"""

from __future__ import annotations

from typing import Any, TypedDict, cast

from ..contracts import HostResult, RecordedStep, RunReturn, ScenarioResult, StepResult
from .result import fold_hosts, scenario_status, summary_line, summary_words
from .run_recorder import RunRecorder

# A journal record read back (records/journal.py): JSON its writer put there, so open data; what
# it gives the report writers is typed.
Record = dict[str, Any]


class _Totals(TypedDict):
    """One step's time and jids, summed over the batches."""

    duration: float
    jids: list[str]


def _recorder(record: Record) -> RunRecorder:
    recorder = RunRecorder(run_id=record["run_id"])
    recorder.started_at = record.get("started") or recorder.started_at
    recorder.finished_at = record.get("finished")
    recorder.run_started = {
        "feature_line": record.get("feature_line"),
        "feature_description": record.get("feature_description"),
        "feature_tags": record.get("feature_tags", []),
        "pinned": record.get("pinned", []),
        "batches": record.get("batches", []),
    }
    for step in record.get("batch_steps") or []:
        # A compact step (journal_record.compact_step) has every key the report writers read of
        # a step event but the per-host returns, which the journal does not keep.
        event = cast(RecordedStep, {**step, "results": {}})
        recorder.steps[(step["batch"], step["scenario"], step["step"])] = event
        recorder.step_events.append(event)
    return recorder


def _scenarios(record: Record) -> list[ScenarioResult]:
    """Every planned scenario and step with per-host verdicts folded over the batches."""
    pinned = record.get("pinned", [])
    rollback_hosts = (record.get("rollback") or {}).get("hosts") or []
    seen: dict[tuple[int, int], dict[str, HostResult]] = {}  # (scenario, step) -> {host: {status, reason}}
    ran: set[tuple[int, int]] = set()
    meta: dict[tuple[int, int], _Totals] = {}
    for event in record.get("batch_steps") or []:
        key = (event["scenario"], event["step"])
        hosts = seen.setdefault(key, {})
        for host in event.get("hosts_in_batch") or []:
            hosts[host] = event["hosts"].get(host, {"status": "skipped"})
        if event["status"] != "skipped":
            ran.add(key)
        info = meta.setdefault(key, {"duration": 0.0, "jids": []})
        info["duration"] += event.get("duration") or 0.0
        info["jids"] += event.get("jids") or []
    scenarios: list[ScenarioResult] = []
    for s_index, planned in enumerate(record.get("plan") or []):
        hosts_of = rollback_hosts if planned.get("on_failure") else pinned
        steps: list[StepResult] = []
        for p_index, step in enumerate(planned["steps"]):
            key = (s_index, p_index)
            info = meta.get(key, {"duration": 0.0, "jids": []})
            given = step.get("call") is None and "gate" not in step and "check" not in step
            per_host = {} if given else {h: seen.get(key, {}).get(h, {"status": "skipped"}) for h in hosts_of}
            status = (
                ("passed" if key in ran else "skipped")
                if given
                else fold_hosts(per_host, record.get("failed_hosts") or {})
            )
            result: StepResult = {
                "keyword": step.get("keyword"),
                "text": step.get("text"),
                "location": step.get("location"),
                "call": step.get("call"),
                "status": status,
                "duration": round(info["duration"], 3),
                "jids": info["jids"],
                "hosts": per_host,
            }
            if "gate" in step:
                result["gate"] = step["gate"]
            steps.append(result)
        entry: ScenarioResult = {
            "name": planned["name"],
            "location": planned["location"],
            "tags": planned.get("tags", []),
            "status": "skipped"
            if planned.get("on_failure") and not rollback_hosts
            else scenario_status([s["status"] for s in steps], bool(record.get("interrupted"))),
            "steps": steps,
        }
        if planned.get("on_failure"):
            entry["on_failure"] = True
        scenarios.append(entry)
    return scenarios


def run_from_record(record: Record) -> tuple[RunReturn, RunRecorder]:
    """(return data, recorder) of a journal record, for records/report_files.write_reports."""
    scenarios = _scenarios(record)
    main = [s for s in scenarios if not s.get("on_failure")]
    # The keys of a RunReturn, as the record has them (None where it has not).
    ret = cast(
        RunReturn,
        {
            key: record.get(key)
            for key in (
                "retcode",
                "result",
                "name",
                "feature",
                "uri",
                "run_id",
                "target",
                "pinned",
                "batches",
                "failed_hosts",
                "still_blocked",
                "not_started",
                "rollback",
                "interrupted",
                "halted",
                "error",
            )
        },
    )
    # Held hosts (records/held_hosts.py), as the run's own reports had them.
    for key in ("held", "holds", "held_by"):
        if record.get(key):
            ret[key] = record[key]
    ret["scenarios"] = scenarios
    ret["approvals"] = record.get("approvals") or []
    ret["duration"] = record.get("duration") or 0.0
    ret["warnings"] = []
    ret["summary"] = record.get("summary") or summary_line(
        summary_words([s["status"] for s in main], ret["retcode"]),
        summary_words([st["status"] for s in main for st in s["steps"]], ret["retcode"]),
        len(record.get("pinned") or []),
        ret["duration"],
    )
    return ret, _recorder(record)
