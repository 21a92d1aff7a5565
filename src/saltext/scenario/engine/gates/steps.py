"""The metric steps: their wording, their parameters, and the ``MetricGate`` each one plans.

A metric step is master-side: the master asks Prometheus, no minion runs anything, and the
verdict covers the whole batch. Its handler returns a frozen ``MetricGate`` (not a SaltCall);
the run checks it with ``gate.run_gate`` against the query rendered for the batch.

    Then the metric "<PromQL>" should be below 0.05            (above, at most, at least)
    Then the metric "<PromQL>" should stay below 0.05 for 20 seconds[, checked every 2 seconds][, allowing 1 failure]
    Then the metric should stay below 0.05 for 20 seconds, checked every 2 seconds
      \"\"\"
      sum(rate(haproxy_server_http_responses_total{server=~"{{ haproxy_servers }}",code="5xx"}[10s]))
      / sum(rate(haproxy_server_http_responses_total{server=~"{{ haproxy_servers }}"}[10s]))
      \"\"\"

The scenario (or feature) tag ``@metrics-dry-run`` makes its metric gates record their
verdicts and never fail (``MetricGate.with_tags``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from ..errors import InvalidScenario
from ..steps.registry import StepDef
from .gate import DEFAULT_INCONCLUSIVE_LIMIT, DEFAULT_RETRY_SECONDS, Comparison, Condition, Policy
from .prometheus import format_value
from .template import BatchValues, TemplateError, placeholders, render

DRY_RUN_TAG = "@metrics-dry-run"
# Without ", checked every ...": a check every 5 s (or once at the end of a shorter duration).
DEFAULT_INTERVAL = 5

_QUOTED = 'the metric "{query:promql}"'
_DOC = "the metric"
_ONCE = " should be {comparison} {threshold:number}"
_STAY = (
    " should stay {comparison} {threshold:number} for {duration:duration}"
    "[, checked every {interval:duration}][, allowing {failures:failure_count}]"
)


class _Step(Protocol):
    """What a handler reads of a parsed step (parsing/model.py:Step)."""

    @property
    def location(self) -> str: ...

    @property
    def argument(self) -> object: ...


class _Registry(Protocol):
    def add(self, stepdef: StepDef) -> object: ...


@dataclass(frozen=True)
class MetricGate:
    """A planned metric gate: what to ask Prometheus for each batch, and how to judge it."""

    query: str  # the template: {{ hosts }}, {{ addresses }}, {{ haproxy_servers }}
    comparison: Comparison
    threshold: float
    duration: int = 0  # seconds; 0: check once
    interval: int = DEFAULT_INTERVAL  # seconds between checks (a once-gate: between retries)
    allowed_failures: int = 0
    inconclusive_limit: int = DEFAULT_INCONCLUSIVE_LIMIT
    dry_run: bool = False
    location: str = ""
    kind: ClassVar[str] = "metric"  # a master-side step: never fused into a minion job

    @property
    def condition(self) -> Condition:
        return Condition(self.comparison, self.threshold)

    def policy(self) -> Policy:
        return Policy(
            self.condition,
            duration=float(self.duration),
            interval=float(self.interval),
            allowed_failures=self.allowed_failures,
            inconclusive_limit=self.inconclusive_limit,
            dry_run=self.dry_run,
        )

    def render(self, values: BatchValues) -> str:
        """The query for one batch (``scenario.plan`` shows it for the first batch)."""
        return render(self.query, values)

    def with_tags(self, tags: Iterable[str]) -> MetricGate:
        """This gate under a scenario's (or feature's) tags: ``@metrics-dry-run`` makes it a dry run."""
        return dataclasses.replace(self, dry_run=True) if DRY_RUN_TAG in tags else self

    def describe(self) -> str:
        what = f"{self.comparison} {format_value(self.threshold)}"
        if not self.duration:
            return f"metric {what}"
        allowing = f", allowing {self.allowed_failures}" if self.allowed_failures else ""
        return f"metric {what} for {self.duration} s every {self.interval} s{allowing}"

    def as_dict(self) -> dict[str, Any]:
        """The plan's record of this step (as ``SaltCall.as_dict`` / ``ApprovalGate.as_dict``)."""
        return {
            "metric": True,
            "query": self.query,
            "comparison": self.comparison,
            "threshold": self.threshold,
            "duration": self.duration,
            "interval": self.interval,
            "allowed_failures": self.allowed_failures,
            "inconclusive_limit": self.inconclusive_limit,
            "dry_run": self.dry_run,
        }


def _query(step: _Step, quoted: str | None) -> str:
    doc = step.argument
    if quoted is not None:
        if doc is not None:
            raise InvalidScenario("the query is both in quotes and in a doc string: give it once", step.location)
        query = quoted
    else:
        if not isinstance(doc, str) or not doc.strip():
            raise InvalidScenario('put the PromQL query in a doc string (""") under this step', step.location)
        query = doc.strip()
    try:
        placeholders(query)
    except TemplateError as exc:
        raise InvalidScenario(str(exc), step.location) from None
    return query


def _require_prometheus(ctx: Any, step: _Step) -> None:
    if not getattr(ctx.settings, "prometheus_url", None):
        raise InvalidScenario("a metric step needs the master option scenario_prometheus_url", step.location)


def _once(ctx: Any, step: _Step, comparison: Comparison, threshold: float, query: str | None = None) -> MetricGate:
    _require_prometheus(ctx, step)
    return MetricGate(
        _query(step, query), comparison, threshold, interval=int(DEFAULT_RETRY_SECONDS), location=step.location
    )


def _stay(
    ctx: Any,
    step: _Step,
    comparison: Comparison,
    threshold: float,
    duration: int,
    interval: int | None = None,
    failures: int | None = None,
    query: str | None = None,
) -> MetricGate:
    _require_prometheus(ctx, step)
    every = interval if interval is not None else min(DEFAULT_INTERVAL, duration)
    if every > duration:
        raise InvalidScenario(f"checked every {every} s is longer than the {duration} s to watch", step.location)
    return MetricGate(
        _query(step, query),
        comparison,
        threshold,
        duration=duration,
        interval=every,
        allowed_failures=failures or 0,
        location=step.location,
    )


THEN: list[tuple[str, Callable[..., MetricGate]]] = [
    (_QUOTED + _ONCE, _once),
    (_QUOTED + _STAY, _stay),
    (_DOC + _ONCE, _once),
    (_DOC + _STAY, _stay),
]


def register(registry: _Registry) -> _Registry:
    """Add the metric steps: Then steps that plan a MetricGate and never share a minion publish."""
    for pattern, handler in THEN:
        registry.add(StepDef("then", pattern, handler, pipeline=False))
    return registry
