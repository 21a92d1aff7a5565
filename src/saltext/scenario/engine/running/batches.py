"""Rolling batches over the pinned hosts: a count or a percentage of them."""

import math
import re

from ..errors import InvalidScenario

_BATCH_RE = re.compile(r"^\s*([0-9]+)\s*(%?)\s*$")


def parse_batch(value):
    """`2` -> ("n", 2); `25%` -> ("percent", 25); None stays None."""
    if value is None or value == "":
        return None
    m = _BATCH_RE.match(str(value))
    if not m:
        raise InvalidScenario(f"batch={value!r}: use a host count like 2 or a percentage like 25%")
    number = int(m.group(1))
    if m.group(2):
        if not 1 <= number <= 100:
            raise InvalidScenario(f"batch={value!r}: a percentage must be between 1 and 100")
        return ("percent", number)
    if number < 1:
        raise InvalidScenario(f"batch={value!r}: a count must be at least 1")
    return ("n", number)


def batch_size(spec, total):
    if spec is None or total == 0:
        return max(total, 1)
    kind, number = spec
    if kind == "percent":
        return max(1, math.ceil(total * number / 100))
    return number


def compute_batches(pinned, spec):
    hosts = sorted(pinned)
    size = batch_size(spec, len(hosts))
    return [hosts[i : i + size] for i in range(0, len(hosts), size)]
