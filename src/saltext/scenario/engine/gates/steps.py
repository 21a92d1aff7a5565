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
import ipaddress
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar

from ..errors import InvalidScenario, Unreachable
from ..steps.builtin_steps import haproxy_servers
from ..steps.master import MasterContext, MasterVerdict
from ..steps.registry import StepDef
from .gate import DEFAULT_INCONCLUSIVE_LIMIT, DEFAULT_RETRY_SECONDS, Comparison, Condition, Policy, run_gate
from .prometheus import Inconclusive, Rejected, SeveralSeries, format_value
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

    def values(self, hosts: Sequence[str], context: MasterContext) -> BatchValues:
        """The batch's values from the master's minion data cache."""
        return batch_values(hosts, context)

    def check(self, hosts: Sequence[str], context: MasterContext, stop: Callable[[], bool]) -> MasterVerdict:
        """Run the gate for the batch: one verdict, quoting the value that decided it."""
        client = context.prometheus
        if client is None:
            return MasterVerdict(False, NO_PROMETHEUS)
        try:
            query = self.render(self.values(hosts, context))
        except TemplateError as exc:
            return MasterVerdict(False, str(exc))
        result = run_gate(
            lambda: client.query(query),
            self.policy(),
            clock=context.clock,
            wait=lambda seconds: context.wait(seconds, stop),
            stopping=stop,
        )
        return MasterVerdict(result.ok, result.reason, {"query": query, **result.as_dict()})

    def preflight(self, hosts: Sequence[str], context: MasterContext) -> None:
        """Ask the query once, rendered for `hosts` (the first batch), before anything changes.

        No Prometheus, or one that cannot be reached: Unreachable (exit 3). A query Prometheus
        rejects (HTTP 400/422), one that returns several series (it does not aggregate: every
        check would fail the same way, after the batch was changed), or a placeholder the batch
        has no value for: InvalidScenario (exit 2). An empty result or NaN is fine here: the
        batch has served nothing yet.
        """
        if context.prometheus is None:
            raise Unreachable(NO_PROMETHEUS, self.location)
        try:
            query = self.render(self.values(hosts, context))
        except TemplateError as exc:
            raise InvalidScenario(str(exc), self.location) from None
        answer = context.prometheus.query(query)
        if isinstance(answer, Rejected):
            raise InvalidScenario(f"Prometheus rejected the query: {answer.reason}", self.location)
        if isinstance(answer, SeveralSeries):
            raise InvalidScenario(f"{answer.reason} (asked before the run, with the first batch)", self.location)
        if isinstance(answer, Inconclusive) and answer.kind in ("http", "timeout", "unreachable"):
            raise Unreachable(f"the metric step's query could not be checked: {answer.reason}", self.location)

    def rendered(self, hosts: Sequence[str], context: MasterContext) -> dict[str, object]:
        """The query as the first batch would send it (scenario.plan)."""
        try:
            return {"query": self.render(self.values(hosts, context))}
        except TemplateError as exc:
            return {"query": self.query, "error": str(exc)}

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


NO_PROMETHEUS = "a metric step needs Prometheus: set the master option scenario_prometheus_url"


def _ipv4(grains: object) -> list[str]:
    found = grains.get("ipv4") if isinstance(grains, dict) else None
    out = []
    for text in found if isinstance(found, list) else []:
        try:
            address = ipaddress.IPv4Address(str(text))
        except ValueError:
            continue
        if not address.is_loopback:
            out.append(str(address))
    return out


def batch_values(hosts: Sequence[str], context: MasterContext) -> BatchValues:
    """hosts: the minion ids; addresses: their IPv4 addresses (grain ``ipv4``, loopback left
    out); haproxy_servers: their names in HAProxy, as the HAProxy steps map them."""
    data = context.minion_data(hosts)
    addresses = [a for h in hosts for a in _ipv4((data.get(h) or {}).get("grains"))]
    servers = haproxy_servers(context, hosts)
    return BatchValues(tuple(hosts), tuple(addresses), tuple(str(servers[h]) for h in hosts))


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


def _once(ctx: Any, step: _Step, comparison: Comparison, threshold: float, query: str | None = None) -> MetricGate:
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


_R = TypeVar("_R", bound=_Registry)


def register(registry: _R) -> _R:
    """Add the metric steps: Then steps that plan a MetricGate and never share a minion publish."""
    for pattern, handler in THEN:
        registry.add(StepDef("then", pattern, handler, pipeline=False))
    return registry
