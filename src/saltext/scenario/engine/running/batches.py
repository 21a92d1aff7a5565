"""Rolling batches and the failure budget, both counted over the pinned hosts of the whole run.

A batch schedule is a tuple of sizes, each a count ``("n", 2)`` or a percentage
``("percent", 10)``; the last size repeats until the hosts run out: ``1,10%,50%`` is a canary
of one host, then 10% of the fleet, then halves. Percentages are of all pinned hosts, rounded
down, and at least one host: a smaller batch is the safer mistake.

The failure budget (``max_failures``) is how many hosts may fail and leave the run before it
halts: a count, or a percentage of the pinned hosts rounded down. 0, the default, is the
seed's rule: the first failed host halts the run.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import overload

from ..contracts import Schedule, Size
from ..parsing.sizes import parse_batch, parse_budget, parse_schedule

# The parsers live in parsing/sizes.py (steps and the reactor read sizes too); kept importable here.
__all__ = [
    "allowed_failures",
    "batch_size",
    "compute_batches",
    "describe_budget",
    "describe_schedule",
    "parse_batch",
    "parse_budget",
    "parse_schedule",
]


def batch_size(spec: Size | None, total: int) -> int:
    if spec is None or total == 0:
        return max(total, 1)
    kind, number = spec
    if kind == "percent":
        return max(1, total * number // 100)
    return number


@overload
def _as_schedule(spec: Size | Schedule) -> Schedule: ...
@overload
def _as_schedule(spec: Size | Schedule | None) -> tuple[Size | None, ...]: ...
def _as_schedule(spec: Size | Schedule | None) -> tuple[Size | None, ...]:
    if spec is None:
        return (None,)
    if isinstance(spec[0], str):  # one size, ("n", 2)
        return (spec,)
    return tuple(spec)


def compute_batches(pinned: Iterable[str], spec: Size | Schedule | None) -> list[list[str]]:
    """The pinned hosts (sorted) cut into batches by a size or a schedule of sizes."""
    hosts = sorted(pinned)
    schedule = _as_schedule(spec)
    batches: list[list[str]] = []
    start, index = 0, 0
    while start < len(hosts):
        size = batch_size(schedule[min(index, len(schedule) - 1)], len(hosts))
        batches.append(hosts[start : start + size])
        start += size
        index += 1
    return batches or [[]]


def describe_schedule(spec: Size | Schedule | None) -> str:
    """`1, 10%, 50%` for messages and plans."""
    if spec is None:
        return "all hosts at once"
    return ", ".join(f"{n}%" if kind == "percent" else str(n) for kind, n in _as_schedule(spec))


def allowed_failures(budget: Size | None, total: int) -> int:
    """How many of `total` pinned hosts may fail: a percentage is rounded down."""
    if budget is None:
        return 0
    kind, number = budget
    return total * number // 100 if kind == "percent" else number


def describe_budget(budget: Size | None) -> str:
    if budget is None:
        return "0 (halt at the first failed host)"
    kind, number = budget
    return f"{number}% of the hosts" if kind == "percent" else f"{number} host{'s' if number != 1 else ''}"
