"""Batch sizes, schedules and failure budgets as text -> data (``1,10%,50%``, ``2``, ``10%``).

Parsing only, so that the typed step parameters, the running stage and the reactor's
request check share one reading of them; cutting the pinned hosts into batches is in
``running/batches.py``. Each error names the argument it came from.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import cast

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


def parse_budget(value: object, what: str = "max_failures") -> Size | None:
    """`2` -> ("n", 2); `10%` -> ("percent", 10); 0/None -> None (halt at the first failure)."""
    if isinstance(value, bool):
        raise InvalidScenario(f"{what}={value!r}: use a host count like 2 or a percentage like 10%")
    if value is None or str(value).strip() in ("", "0", "0%"):
        return None
    return _size(value, what, value)
