"""Master-side steps: a step the master answers itself for the whole batch (a Prometheus gate).

A step handler may return a ``MasterCheck`` instead of a Salt call. The executor evaluates
it once per batch, on the master, and gives every host of the batch its verdict, with the
observed value in the reason; it never rides in a minion job (running/pipeline.py). Before
the first host is touched, the run asks each check whether it can be answered at all
(``preflight``), and ``scenario.plan`` shows what each would ask (``rendered``).

What a check may use is in ``MasterContext``: the transport's minion data cache (for the
batch's addresses and server names), the services the adapters built (Prometheus), the
run's clock and sleep, so the unit tests run a 20-second gate in no time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ..ports import MetricsSource

# Longest single sleep while a check waits: a stop request is seen within this.
STOP_SLICE = 0.5


@dataclass(frozen=True)
class MasterVerdict:
    """One verdict for every host of the batch: ok, why (quoting what was observed), the data."""

    ok: bool
    reason: str
    data: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class MasterContext:
    """What a master-side check may reach: minion data, Prometheus (None: not configured), time."""

    transport: Any = None  # a ports.Transport: minion_data(hosts) for the batch's values
    prometheus: MetricsSource | None = None
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def wait(self, seconds: float, stopping: Callable[[], bool]) -> None:
        """Sleep `seconds`, in slices, returning early once `stopping()` says so."""
        deadline = self.clock() + seconds
        while not stopping():
            left = deadline - self.clock()
            if left <= 0:
                return
            self.sleep(min(STOP_SLICE, left))

    def minion_data(self, hosts: Sequence[str]) -> dict[str, dict[str, Any]]:
        finder = getattr(self.transport, "minion_data", None)
        return finder(hosts) if callable(finder) else {}


@runtime_checkable
class MasterCheck(Protocol):
    """A planned master-side step (e.g. gates/steps.py MetricGate)."""

    kind: str
    location: str

    def check(self, hosts: Sequence[str], context: MasterContext, stop: Callable[[], bool]) -> MasterVerdict:
        """The batch's verdict; returns early, not passing, once `stop()` is true."""

    def preflight(self, hosts: Sequence[str], context: MasterContext) -> None:
        """Raise a ScenarioError when the check cannot be answered (before anything changes)."""

    def rendered(self, hosts: Sequence[str], context: MasterContext) -> dict[str, object]:
        """What the check would ask for these hosts, for scenario.plan."""

    def with_tags(self, tags: Sequence[str]) -> MasterCheck:
        """This check under its scenario's tags."""

    def describe(self) -> str: ...

    def as_dict(self) -> dict[str, Any]: ...
