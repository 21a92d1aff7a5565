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

import re
from collections.abc import Iterable, Sequence
from typing import cast, overload

from ..contracts import Schedule, Size
from ..errors import InvalidScenario

_SIZE_RE = re.compile(r"^\s*([0-9]+)\s*(%?)\s*$")
MAX_SCHEDULE = 20


def _size(text: object, what: str, value: object) -> Size:
    m = _SIZE_RE.match(str(text))
    if not m:
        raise InvalidScenario(f"{what}={value!r}: use a host count like 2 or a percentage like 25%")
    number = int(m.group(1))
    if m.group(2):
        if not 1 <= number <= 100:
            raise InvalidScenario(f"{what}={value!r}: a percentage must be between 1 and 100")
        return ("percent", number)
    if number < 1:
        raise InvalidScenario(f"{what}={value!r}: a count must be at least 1")
    return ("n", number)


def parse_batch(value: object) -> Size | None:
    """`2` -> ("n", 2); `25%` -> ("percent", 25); None stays None. One size, no schedule."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidScenario(f"batch={value!r}: use a host count like 2 or a percentage like 25%")
    return _size(value, "batch", value)


def parse_schedule(value: object) -> Schedule | None:
    """`1,10%,50%` -> (("n", 1), ("percent", 10), ("percent", 50)); a single size works too."""
    if value is None or value == "":
        return None
    if isinstance(value, (list, tuple)):
        parts: Sequence[object] = list(value)
    elif isinstance(value, bool):
        parts = [value]
    else:
        parts = str(value).split(",")
    if not parts or len(parts) > MAX_SCHEDULE:
        raise InvalidScenario(f"batch={value!r}: give 1 to {MAX_SCHEDULE} sizes separated by commas")
    if any(str(part).strip() == "" for part in parts):
        raise InvalidScenario(f"batch={value!r}: an empty size between commas")
    # parse_batch raises for a bool, so no size here is None.
    return cast(
        Schedule,
        tuple(_size(part, "batch", value) if not isinstance(part, bool) else parse_batch(part) for part in parts),
    )


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


def parse_budget(value: object, what: str = "max_failures") -> Size | None:
    """`2` -> ("n", 2); `10%` -> ("percent", 10); 0/None -> None (halt at the first failure)."""
    if isinstance(value, bool):
        raise InvalidScenario(f"{what}={value!r}: use a host count like 2 or a percentage like 10%")
    if value is None or str(value).strip() in ("", "0", "0%"):
        return None
    return _size(value, what, value)


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
