"""The verdict of a metric gate: when to check, what each check counts as, when to stop.

Pure: the query, the clock, the wait and the stop flag are passed in, so a test runs a
20-second gate in no time and the engine runs it against Prometheus.

- **once** (``duration`` 0): ``below/above/at most/at least X``. One conclusive check decides.
- **stay** (``duration`` N, ``interval`` M): a check every M seconds, at M, 2M, ... N (the
  first one an interval after the start, once the batch has served traffic). Each failed
  check counts against ``allowed_failures`` (K): the gate fails at the K+1st, without waiting
  for the rest.
- **inconclusive** (empty result, NaN, HTTP error, timeout, unreachable): never a pass.
  ``inconclusive_limit`` checks in a row (default 2) fail the gate with the reason. Where the
  schedule ends on an inconclusive check, the gate checks on, every interval, until a check
  is conclusive or the limit is reached: its verdict never rests on an inconclusive answer.
- **rejected** query or **several series**: the query cannot be judged; the gate fails at once.
- **stopped** (the run is being interrupted): the gate ends at once, at its next wait, and
  does not pass; its reason starts with ``interrupted mid-step``, so the reports show the
  batch's hosts as interrupted (exit 6), not as failing the gate.
- **dry run**: every scheduled check is made and recorded, and the gate passes; the reason
  says what the verdict would have been.

The result carries every check (its observed value, or why there was none) and a reason that
quotes the observed value, e.g. ``0.31 is not below 0.05 (check 3 of 10, no failure allowed)``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from ..contracts import INTERRUPTED_MID_STEP
from .prometheus import Answer, Inconclusive, Observed, Rejected, SeveralSeries, format_value

Comparison = Literal["below", "above", "at most", "at least"]
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "below": operator.lt,
    "above": operator.gt,
    "at most": operator.le,
    "at least": operator.ge,
}
DEFAULT_INCONCLUSIVE_LIMIT = 2
# A once-gate whose answer is inconclusive asks again after this long (the limit still applies).
DEFAULT_RETRY_SECONDS = 2.0

Outcome = Literal["passed", "failed", "inconclusive", "rejected"]
Verdict = Literal["passed", "failed", "stopped"]


@dataclass(frozen=True)
class Condition:
    comparison: Comparison
    threshold: float

    def __post_init__(self) -> None:
        if self.comparison not in COMPARISONS:
            raise ValueError(f"comparison must be one of {', '.join(COMPARISONS)}, not {self.comparison!r}")

    def holds(self, value: float) -> bool:
        return COMPARISONS[self.comparison](value, self.threshold)

    def describe(self, value: float) -> str:
        """``0.31 is not below 0.05`` / ``0.02 is below 0.05``."""
        verb = "is" if self.holds(value) else "is not"
        return f"{format_value(value)} {verb} {self.comparison} {format_value(self.threshold)}"

    def __str__(self) -> str:
        return f"{self.comparison} {format_value(self.threshold)}"


@dataclass(frozen=True)
class Policy:
    condition: Condition
    duration: float = 0.0  # seconds; 0: check once
    interval: float = DEFAULT_RETRY_SECONDS  # seconds between checks
    allowed_failures: int = 0  # K
    inconclusive_limit: int = DEFAULT_INCONCLUSIVE_LIMIT  # in a row
    dry_run: bool = False

    def __post_init__(self) -> None:
        if self.duration < 0 or self.interval <= 0:
            raise ValueError("duration must be >= 0 and interval > 0 seconds")
        if self.duration and self.interval > self.duration:
            raise ValueError(f"the interval ({self.interval:g} s) is longer than the duration ({self.duration:g} s)")
        if self.allowed_failures < 0 or self.inconclusive_limit < 1:
            raise ValueError("allowed failures must be >= 0 and the inconclusive limit >= 1")

    @property
    def scheduled(self) -> int:
        """How many checks the schedule holds: 1 for a once-gate, N // M for a stay-gate."""
        return max(1, int(self.duration // self.interval)) if self.duration else 1


@dataclass(frozen=True)
class Check:
    number: int  # 1-based
    at: float  # seconds since the gate started
    outcome: Outcome
    value: float | None = None
    reason: str = ""


@dataclass(frozen=True)
class GateResult:
    ok: bool
    verdict: Verdict  # what the gate decided (in a dry run: what it would have decided)
    reason: str
    checks: tuple[Check, ...] = ()
    dry_run: bool = False

    @property
    def values(self) -> list[float]:
        """Every observed value, in order."""
        return [c.value for c in self.checks if c.value is not None]

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "verdict": self.verdict,
            "reason": self.reason,
            "dry_run": self.dry_run,
            "checks": [
                {"n": c.number, "at": round(c.at, 3), "outcome": c.outcome, "value": c.value, "reason": c.reason}
                for c in self.checks
            ],
        }


def classify(answer: Answer, condition: Condition) -> tuple[Outcome, float | None, str]:
    """One answer -> (outcome, value, why)."""
    if isinstance(answer, Observed):
        outcome: Outcome = "passed" if condition.holds(answer.value) else "failed"
        return outcome, answer.value, condition.describe(answer.value)
    if isinstance(answer, Inconclusive):
        return "inconclusive", None, answer.reason
    if isinstance(answer, SeveralSeries):
        return "rejected", None, answer.reason
    if isinstance(answer, Rejected):
        return "rejected", None, f"Prometheus rejected the query: {answer.reason}"
    raise TypeError(f"not a Prometheus answer: {answer!r}")


@dataclass
class _Tally:
    policy: Policy
    checks: list[Check] = field(default_factory=list)
    failures: int = 0
    inconclusive_run: int = 0
    decided: tuple[Verdict, str] | None = None  # the first decisive verdict (kept going in a dry run)

    def where(self, check: Check) -> str:
        scheduled = self.policy.scheduled
        if check.number > scheduled:  # checking on after an inconclusive end of the schedule
            return f"check {check.number}, after the {scheduled} scheduled"
        return f"check {check.number} of {scheduled}" if self.policy.duration else f"check {check.number}"

    def add(self, check: Check) -> None:
        self.checks.append(check)
        if check.outcome == "inconclusive":
            self.inconclusive_run += 1
            if self.inconclusive_run >= self.policy.inconclusive_limit:
                self._decide(
                    "failed",
                    f"inconclusive {self.inconclusive_run} checks in a row (limit "
                    f"{self.policy.inconclusive_limit}): {check.reason} ({self.where(check)})",
                )
            return
        self.inconclusive_run = 0
        if check.outcome == "rejected":
            self._decide("failed", f"{check.reason} ({self.where(check)})")
        elif check.outcome == "failed":
            self.failures += 1
            if self.failures > self.policy.allowed_failures:
                self._decide("failed", f"{check.reason} ({self.where(check)}, {self._allowance()})")

    def _allowance(self) -> str:
        k = self.policy.allowed_failures
        if not k:
            return "no failure allowed"
        return f"failed check {self.failures}, {k} failure{'s' if k != 1 else ''} allowed"

    def _decide(self, verdict: Verdict, reason: str) -> None:
        if self.decided is None:
            self.decided = (verdict, reason)

    def passing_reason(self) -> str:
        values = [c.value for c in self.checks if c.value is not None]
        cond = self.policy.condition
        if not self.policy.duration:
            last = values[-1]
            return cond.describe(last)
        span = (
            format_value(values[0])
            if min(values) == max(values)
            else f"{format_value(min(values))} to {format_value(max(values))}"
        )
        conclusive = sum(1 for c in self.checks if c.outcome in ("passed", "failed"))
        text = f"{conclusive - self.failures} of {conclusive} checks {cond} over {self.policy.duration:g} s ({span})"
        if self.failures:
            text += f", {self.failures} failed of {self.policy.allowed_failures} allowed"
        return text


def run_gate(
    query: Callable[[], Answer],
    policy: Policy,
    *,
    clock: Callable[[], float],
    wait: Callable[[float], None],
    stopping: Callable[[], bool] = lambda: False,
) -> GateResult:
    """Check on the policy's schedule until a verdict; ``wait(s)`` may return early when stopping."""
    tally = _Tally(policy)
    start = clock()
    first_at = policy.interval if policy.duration else 0.0
    number = 0
    while True:
        due = first_at + number * policy.interval
        delay = start + due - clock()
        if delay > 0:
            wait(delay)
        if stopping():
            return _stopped(tally)
        number += 1
        outcome, value, why = classify(query(), policy.condition)
        tally.add(Check(number, clock() - start, outcome, value, why))
        if tally.decided and not policy.dry_run:
            break
        if number < policy.scheduled:
            continue
        # The schedule is done. A verdict never rests on an inconclusive last answer:
        # check on (except in a dry run) until a conclusive one or the limit.
        if tally.decided or policy.dry_run or tally.inconclusive_run == 0:
            break
    return _result(tally)


def _stopped(tally: _Tally) -> GateResult:
    done = len(tally.checks)
    # Neither passed nor failed: the reports count the batch's hosts as interrupted (records/result.py).
    reason = f"{INTERRUPTED_MID_STEP}: the gate stopped after {done} check{'s' if done != 1 else ''}, before a verdict"
    return GateResult(False, "stopped", reason, tuple(tally.checks), tally.policy.dry_run)


def _result(tally: _Tally) -> GateResult:
    checks, dry = tuple(tally.checks), tally.policy.dry_run
    if tally.decided is None and tally.inconclusive_run:
        # A dry run whose schedule ended on inconclusive checks (below the limit).
        last = checks[-1]
        tally.decided = ("failed", f"inconclusive: {last.reason} ({tally.where(last)})")
    if tally.decided is not None:
        verdict, reason = tally.decided
        if dry:
            return GateResult(True, verdict, f"dry run, would have failed: {reason}", checks, dry)
        return GateResult(False, verdict, reason, checks, dry)
    reason = tally.passing_reason()
    return GateResult(True, "passed", f"dry run, would have passed: {reason}" if dry else reason, checks, dry)
