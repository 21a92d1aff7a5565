"""Live progress: one line per finished step, per batch and per approval wait, as they happen."""

from __future__ import annotations

from collections.abc import Callable

from ..contracts import Event, StepFinished
from .result import INTERRUPTED, host_status

# Keyed by status; a missing one (None) has no mark. interrupted: a circled slash (DejaVu Sans
# has it, so the HTML report shows it too).
MARKS: dict[str | None, str] = {"passed": "\u2714", "failed": "\u2718", "skipped": "-", INTERRUPTED: "\u2298"}


def _hosts(hosts: list[str], limit: int = 4) -> str:
    """`web1..web30` for a sorted run of hosts, else the first few names."""
    if len(hosts) <= limit:
        return ", ".join(hosts)
    return f"{hosts[0]}..{hosts[-1]}"


def _summaries(event: StepFinished) -> str:
    """`` [web1, web3: 2 states, 1 changed]``: the passed hosts' report lines, hosts grouped by line."""
    groups: dict[str, list[str]] = {}
    for host in event["passed"]:
        line = event["results"][host].get("summary")
        if line:
            groups.setdefault(line, []).append(host)
    if not groups:
        return ""
    parts = []
    for line, hosts in groups.items():
        parts.append(f"{', '.join(hosts) if len(hosts) <= 4 else f'{len(hosts)} hosts'}: {line}")
    return " [" + "; ".join(parts) + "]"


def step_line(event: StepFinished, batches: list[list[str]] | None = None) -> str:
    prefix = ""
    if event.get("phase") == "rollback":
        prefix = "[rollback] "
    elif batches and len(batches) > 1:
        prefix = f"[batch {event['batch'] + 1}/{len(batches)}] "
    head = f"{prefix}{MARKS[event['status']]} {event['keyword']} {event['text']}  # {event['location']}"
    if event["status"] == "skipped":
        return f"{head}  skipped"
    if event["call"] is None and not event["results"]:
        return head
    # Hosts a stop cut short are counted apart from the failed: they neither passed nor failed.
    cut = sorted(h for h, r in event["results"].items() if host_status(r) == INTERRUPTED)
    failed = [h for h in event["failed"] if h not in cut]
    tail = f"{len(event['passed'])} passed, {len(failed)} failed"
    tail += f", {len(cut)} interrupted" if cut else ""
    tail += f", {event['duration']:.2f}s"
    tail += _summaries(event)
    if failed or cut:
        reasons = "; ".join(f"{h}: {event['results'][h]['reason']}" for h in [*failed, *cut])
        tail += f" ({reasons})"
    return f"{head}  {tail}"


def progress_line(event: Event, batches: list[list[str]] | None = None) -> str | None:
    """The line for one event, or None for events that print nothing."""
    if event["event"] == "step_finished":
        return step_line(event, batches)
    if event["event"] == "batch_skipped":
        why = event.get("reason") or "not started"
        why = "not started" if why in ("halted", "interrupted") else why
        return f"- batch {event['batch'] + 1}: {why} ({_hosts(event['hosts'])})"
    if event["event"] == "batch_started" and event["count"] > 1:
        remaining = event["count"] - event["batch"] - 1
        return (
            f"batch {event['batch'] + 1}/{event['count']} ({_hosts(event['hosts'])}), "
            f"{event['elapsed']:.0f}s elapsed, {remaining} batch{'es' if remaining != 1 else ''} to go"
        )
    if event["event"] == "approval_wanted":
        minutes = event["timeout"] / 60
        return (
            f"waiting up to {minutes:g} min for approval of batch {event['batch'] + 1} "
            f"({len(event['hosts_so_far'])} host(s) so far): {event['approve']}  |  {event['abort']}"
        )
    if event["event"] == "approval_finished":
        return f"approval: {'granted' if event['approved'] else 'refused'} ({event['reason']})"
    if event["event"] == "rollback_started":
        line = f"rolling back on {len(event['hosts'])} host(s): {', '.join(event['hosts']) or '-'}"
        if event["unreachable"]:
            line += f"; not answering, left as they are: {', '.join(event['unreachable'])}"
        return line
    if event["event"] == "run_finished" and event.get("interrupted"):
        return f"interrupted by {event['interrupted']}: no step started after it; the hosts stay as they are"
    return None


class ProgressReporter:
    """Calls `write(line)` for every event worth a line, as it happens."""

    def __init__(self, write: Callable[[str], object]) -> None:
        self.write = write
        self.batches: list[list[str]] | None = None

    def __call__(self, event: Event) -> None:
        if event["event"] == "run_started":
            self.batches = event["batches"]
            self.write(f"pinned {len(event['pinned'])} host(s) for {event['target']}: {', '.join(event['pinned'])}")
            return
        line = progress_line(event, self.batches)
        if line:
            self.write(line)
