"""Batch sizes, schedules and failure budgets as text -> data (``1,10%,50%``, ``2``, ``10%``).

Parsing only, so that steps (typed step parameters), the running stage and the service's
request check share one reading of them; counting hosts into batches is in
``running/batches.py``. Each error names the argument it came from.
"""

import re
from typing import Any

from ..errors import InvalidScenario

_SIZE_RE = re.compile(r"^\s*([0-9]+)\s*(%?)\s*$")
MAX_SCHEDULE = 20

# ("n", 2) is two hosts, ("percent", 10) ten percent of the pinned hosts.
Size = tuple[str, int]


def _size(text: Any, what: str, value: Any) -> Size:
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


def parse_batch(value: Any) -> Size | None:
    """`2` -> ("n", 2); `25%` -> ("percent", 25); None stays None. One size, no schedule."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidScenario(f"batch={value!r}: use a host count like 2 or a percentage like 25%")
    return _size(value, "batch", value)


def parse_schedule(value: Any) -> tuple[Size | None, ...] | None:
    """`1,10%,50%` -> (("n", 1), ("percent", 10), ("percent", 50)); a single size works too."""
    if value is None or value == "":
        return None
    parts: list[Any]
    if isinstance(value, (list, tuple)):
        parts = list(value)
    elif isinstance(value, bool):
        parts = [value]
    else:
        parts = str(value).split(",")
    if not parts or len(parts) > MAX_SCHEDULE:
        raise InvalidScenario(f"batch={value!r}: give 1 to {MAX_SCHEDULE} sizes separated by commas")
    if any(str(part).strip() == "" for part in parts):
        raise InvalidScenario(f"batch={value!r}: an empty size between commas")
    return tuple(_size(part, "batch", value) if not isinstance(part, bool) else parse_batch(part) for part in parts)


def parse_budget(value: Any, what: str = "max_failures") -> Size | None:
    """`2` -> ("n", 2); `10%` -> ("percent", 10); 0/None -> None (halt at the first failure)."""
    if isinstance(value, bool):
        raise InvalidScenario(f"{what}={value!r}: use a host count like 2 or a percentage like 10%")
    if value is None or str(value).strip() in ("", "0", "0%"):
        return None
    return _size(value, what, value)
