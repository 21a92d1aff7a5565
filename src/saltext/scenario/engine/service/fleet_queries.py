"""What the runner functions read and answer through the fleet store, shared by every master.

`scenario.active` (live runs, and interrupted runs that still hold hosts), `scenario.holds`,
`scenario.release`, `scenario.approve` / `scenario.abort`, and the other masters' finished runs
that `scenario.history` merges with this master's journal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from ..errors import InvalidScenario
from ..records import journal
from ..records.run_recorder import new_run_id, utc_now
from ..running import approval
from ..store import FleetStore, Hold, LiveRun
from ..store.base import check_reason
from .returns import Return, answer, failure


def _hold_row(hold: Hold) -> dict[str, Any]:
    return asdict(hold)


def active_rows(store: FleetStore) -> list[dict[str, Any]]:
    """Live runs, and interrupted runs that still hold hosts, oldest first."""
    rows = []
    for run in store.live_runs():
        if not run.alive and not run.holds:
            continue
        info, status = run.info, run.status
        rows.append(
            {
                "run_id": info.run_id,
                "name": info.feature,
                "master": info.master,
                "user": info.user,
                "pid": info.pid,
                "started": info.started,
                "state": "running" if run.alive else "interrupted",
                "step": status.position,
                "batch": status.batch,
                "batches": status.batches,
                "failed_hosts": list(status.failed_hosts),
                "waiting": status.waiting,
                "leased": list(run.hosts) if run.alive else [],
                "holds": [_hold_row(h) for h in run.holds],
            }
        )
    return sorted(rows, key=lambda r: (str(r["started"]), str(r["run_id"])))


def holds(store: FleetStore) -> Return:
    rows = sorted((_hold_row(h) for h in store.holds()), key=lambda r: (r["host"], r["run_id"]))
    lines = [
        f"{r['host']}  held by run {r['run_id']} ({r['feature']}, master {r['master']}) since {r['since']}: "
        f"{r['step']}: {r['reason']}"
        for r in rows
    ]
    return answer("holds", holds=rows, lines=lines)


def hosts_arg(hosts: Any) -> list[str] | None:
    """`hosts=a,b` (text) or a list; None: every host of the run."""
    if hosts is None or hosts == "":
        return None
    if isinstance(hosts, str):
        names = [h.strip() for h in hosts.split(",")]
        if not all(names):
            raise InvalidScenario(f"hosts must be minion ids separated by commas: {hosts!r}")
        return names
    if isinstance(hosts, (list, tuple)) and all(isinstance(h, str) for h in hosts):
        return list(hosts)
    raise InvalidScenario(f"hosts must be minion ids separated by commas, or a list: {hosts!r}")


def release(store: FleetStore, journal_path: str, run_id: Any, hosts: Any, user: str, reason: Any) -> Return:
    """Clear a run's holds (all, or on `hosts`) with a required reason; journaled with the user.

    Never unblocks anything: a released host comes back through a run that verifies it.
    """
    journal.check_run_id(run_id)
    why = check_reason(reason)
    wanted = hosts_arg(hosts)
    held = [h for h in store.holds() if h.run_id == run_id]
    released = store.release(run_id, wanted, user=user, reason=why)
    if not released:
        where = f" on {', '.join(wanted)}" if wanted else ""
        return failure(1, f"run {run_id} holds no host{where} (see salt-run scenario.holds); nothing was released")
    names = sorted(h.host for h in released)
    feature = held[0].feature if held else None
    summary = f"released the holds of run {run_id} on {', '.join(names)} (nothing was unblocked): {why}"
    record = {
        "v": 2,
        "kind": "release",
        "run_id": new_run_id(),
        "releases": run_id,
        "name": feature,
        "user": user,
        "started": utc_now(),
        "state": "finished",
        "retcode": 0,
        "result": "released",
        "hosts": names,
        "reason": why,
        "summary": summary,
        "still_blocked": [],
    }
    warnings = []
    try:
        journal.append(journal_path, record)
    except OSError as exc:
        warnings.append(f"the release is not in the journal: {exc}")
    return answer(
        "released",
        run_id=run_id,
        released=[_hold_row(h) for h in released],
        user=user,
        reason=why,
        warnings=warnings,
        lines=[summary],
    )


def decide(store: FleetStore, run_id: Any, approve: bool, user: str, reason: Any = None) -> Return:
    """Answer the approval the run waits for, through the store (the run may be on another master)."""
    journal.check_run_id(run_id)
    why = approval.check_reason(reason)
    run: LiveRun | None = next((r for r in store.live_runs() if r.info.run_id == run_id), None)
    if run is None:
        raise InvalidScenario(f"run {run_id} is not running (see scenario.history); nothing to approve")
    if not run.alive:
        raise InvalidScenario(f"run {run_id} is not running any more (interrupted); nothing to approve")
    if not run.status.waiting:
        raise InvalidScenario(f"run {run_id} is not waiting for approval")
    given = store.answer(run_id, approve, user, why, batch=run.status.batch - 1)
    return answer(
        "decided",
        run_id=run_id,
        batch=given.batch,
        decision="approve" if approve else "abort",
        user=given.user,
        reason=given.reason or None,
        at=given.at,
        master=given.master,
    )


def merged_history(
    store: FleetStore, rows: Iterable[journal.RunSummary], name: str | None, limit: int
) -> list[dict[str, Any]]:
    """This master's journal rows plus the finished runs of other masters, newest first, one per run
    id, each with the holds it has now."""
    by_run: dict[str, list[dict[str, Any]]] = {}
    for hold in store.holds():
        by_run.setdefault(hold.run_id, []).append(_hold_row(hold))
    merged: dict[str, dict[str, Any]] = {}
    for row in rows:
        merged[str(row["run_id"])] = dict(row)
    for run in store.finished_runs(limit):
        info = run.info
        if info.run_id in merged or (name is not None and info.feature != name):
            continue
        merged[info.run_id] = {
            "run_id": info.run_id,
            "started": info.started,
            "name": info.feature,
            "user": info.user,
            "retcode": run.exit_code,
            "state": "finished",
            "summary": run.summary,
            "still_blocked": [],
            "master": info.master,
        }
    out = sorted(merged.values(), key=lambda r: (str(r.get("started") or ""), str(r["run_id"])), reverse=True)[:limit]
    for entry in out:
        entry["holds"] = by_run.get(str(entry["run_id"]), [])
    return out
