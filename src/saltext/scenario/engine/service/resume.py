"""What `scenario.resume RUN_ID` takes over from a journal record, and when it refuses.

Only a run that failed (exit 1) or was interrupted (exit 6, or its process died) can be
resumed. The resumed run uses the same feature (its text must not have changed, unless
force=True), the same pinned hosts (no new discovery) and the same batches. Batches in
which every host passed every step are not touched again; the failed or interrupted batch
starts again from its first step (steps are idempotent), and the later ones follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import EXIT_BUDGET, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_PASSED, InvalidScenario, LockHeld

RESUMABLE = (EXIT_FAILED, EXIT_INTERRUPTED)


@dataclass(frozen=True)
class Resume:
    """What `scenario.resume` carries over from the earlier run."""

    run_id: str
    pinned: list[str]
    batches: list[list[str]]
    done: dict[int, Any]  # batch index -> why it is not run again
    feature_sha256: str
    force: bool = False
    resumes: tuple[str, ...] = ()  # the run the resumed run itself resumed (its holds are ours too)


def resume_spec(record: dict[str, Any] | None, run_id: str, force: bool = False) -> tuple[Resume, dict[str, Any]]:
    """(Resume, the run's own arguments) for a resumable record, else the error saying why."""
    if record is None:
        raise InvalidScenario(f"no run {run_id} in the journal (see salt-run scenario.history)")
    if record.get("state") == "running":
        raise LockHeld(f"run {run_id} is still running (pid {record.get('pid')}); wait for it or stop it first")
    retcode = record.get("retcode")
    if retcode == EXIT_PASSED:
        raise InvalidScenario(f"run {run_id} passed; there is nothing to resume")
    if retcode == EXIT_BUDGET:
        raise InvalidScenario(
            f"run {run_id} finished within its failure budget; fix the hosts it names and run the feature again"
        )
    if retcode not in RESUMABLE:
        raise InvalidScenario(
            f"run {run_id} never started (exit {retcode}: {record.get('error')}); run the feature again instead"
        )
    if record.get("v", 1) < 2 or not record.get("feature_sha256"):
        raise InvalidScenario(f"run {run_id} was recorded by an older version without what resume needs")
    done = {int(b): why for b, why in (record.get("done_batches") or {}).items()}
    spec = Resume(
        run_id=run_id,
        pinned=list(record.get("pinned") or []),
        batches=[list(b) for b in record.get("batches") or []],
        done=done,
        feature_sha256=record["feature_sha256"],
        force=force,
        resumes=(record["resumes"],) if isinstance(record.get("resumes"), str) else (),
    )
    if not spec.pinned:
        raise InvalidScenario(f"run {run_id} pinned no hosts; run the feature again instead")
    args = {k: v for k, v in (record.get("args") or {}).items() if k in ("scenario", "tags", "max_failures")}
    return spec, args
