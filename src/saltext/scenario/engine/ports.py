"""The seams between the engine and the world outside it, as ``typing.Protocol`` classes.

Stage 0: every stage may import this module, and it imports nothing of the engine but the
contracts (whose ``FeatureSource`` and ``HostFinder`` the seams here build on). The Salt
implementations are in ``adapters.py`` (the only engine module that imports salt); the unit
tests pass a directory source and a fake fleet through the same seams.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from .contracts import FeatureSource, HostFinder

__all__ = [
    "CallSpec",
    "Cut",
    "EventBus",
    "FeatureSource",
    "HostFinder",
    "MetricsSource",
    "Reply",
    "Transport",
    "close_quietly",
]

# One host's answer to one call: {"ret", "retcode", "failed"} (and "why" when the master is to blame).
Reply = dict[str, Any]
# A call as data: (function, positional arguments, keyword arguments).
CallSpec = tuple[str, Sequence[Any], dict[str, Any]]
# Asked while a call waits for its hosts: why to stop waiting now (e.g. "still running after
# 10 s", "interrupted mid-step: ..."), or None to go on. The transport then stops waiting,
# kills the job on the hosts that have not answered, and fails them with that reason.
Cut = Callable[[], str | None]


class EventBus(Protocol):
    """The master's event bus. Best effort: firing never fails a run."""

    def fire(self, data: dict[str, Any], tag: str) -> None: ...


class Transport(HostFinder, EventBus, Protocol):
    """Discovery and calls on pinned hosts; every requested host is in every answer.

    A transport may hold connections: whoever opens one closes it with ``close_quietly``.
    """

    def minion_data(self, hosts: Sequence[str]) -> dict[str, dict[str, Any]]: ...

    def call(
        self, hosts: Sequence[str], fun: str, args: Sequence[Any], kwargs: dict[str, Any], cut: Cut | None = None
    ) -> tuple[str | None, dict[str, Reply]]: ...

    def call_many(
        self, hosts: Sequence[str], calls: Sequence[CallSpec], cut: Cut | None = None
    ) -> tuple[str | None, dict[str, list[Reply]]]: ...


class MetricsSource(Protocol):
    """A metrics service the master asks (Prometheus): one instant query -> one typed answer.

    The answer is one of gates/prometheus.py's Observed, Inconclusive, Rejected, SeveralSeries;
    it never raises for a network or HTTP problem (that is an inconclusive answer).
    """

    def query(self, promql: str) -> Any: ...

    @property
    def where(self) -> str:
        """Where it is, as messages may show it (scheme, host and port; no credentials)."""


def close_quietly(thing: object) -> None:
    """Close a source, transport or bus that has a ``close()`` (fakes may not)."""
    close = getattr(thing, "close", None)
    if callable(close):
        close()
