"""gate.py: the verdict policy, with a fake clock: K failures, inconclusive limit, dry run, stop."""

import math

import pytest

from saltext.scenario.engine.gates.gate import Condition, Policy, run_gate
from saltext.scenario.engine.gates.prometheus import Inconclusive, Observed, Rejected, SeveralSeries


class FakeTime:
    def __init__(self):
        self.now = 100.0
        self.waits = []

    def clock(self):
        return self.now

    def wait(self, seconds):
        self.waits.append(seconds)
        self.now += seconds


def _answers(*items):
    queue = list(items)

    def query():
        item = queue.pop(0)
        if isinstance(item, float | int):
            return Observed(float(item))
        return item

    query.left = queue
    return query


def _gate(answers, policy, stop_after=None):
    t = FakeTime()
    query = _answers(*answers)
    calls = {"n": 0}

    def stopping():
        return stop_after is not None and calls["n"] >= stop_after

    def counted():
        calls["n"] += 1
        return query()

    return run_gate(counted, policy, clock=t.clock, wait=t.wait, stopping=stopping), t, query


BELOW = Condition("below", 0.05)
EMPTY = Inconclusive("empty", "the query returned no series (empty result)")
DOWN = Inconclusive("unreachable", "Prometheus at http://127.0.0.1:1/ is unreachable: Connection refused")


@pytest.mark.parametrize(
    ("comparison", "value", "ok"),
    [
        ("below", 0.04, True),
        ("below", 0.05, False),
        ("at most", 0.05, True),
        ("above", 0.05, False),
        ("above", 0.06, True),
        ("at least", 0.05, True),
        ("at least", 0.049, False),
    ],
)
def test_once(comparison, value, ok):
    result, t, _ = _gate([value], Policy(Condition(comparison, 0.05)))
    assert result.ok is ok
    assert result.values == [value]
    assert t.waits == []  # a once-gate asks at once
    assert str(value) in result.reason and comparison in result.reason


def test_stay_passes_with_every_value_recorded():
    values = [0.01, 0.02, 0.03, 0.02, 0.01, 0.02, 0.02, 0.02, 0.03, 0.01]
    result, _, _ = _gate(values, Policy(BELOW, duration=20, interval=2))
    assert result.ok and result.verdict == "passed"
    assert result.values == values
    assert [c.at for c in result.checks] == [2.0 * n for n in range(1, 11)]
    assert result.reason == "10 of 10 checks below 0.05 over 20 s (0.01 to 0.03)"


def test_k_failures_are_allowed_and_the_k_plus_first_fails_at_once():
    # K=2: checks 2 and 4 fail and are allowed; check 5 is the third failure: the gate fails there.
    answers = [0.01, 0.31, 0.02, 0.2, 0.4, 0.01, 0.01, 0.01, 0.01, 0.01]
    result, _, query = _gate(answers, Policy(BELOW, duration=20, interval=2, allowed_failures=2))
    assert not result.ok and result.verdict == "failed"
    assert result.reason == "0.4 is not below 0.05 (check 5 of 10, failed check 3, 2 failures allowed)"
    assert len(result.checks) == 5 and len(query.left) == 5


def test_no_failure_allowed_quotes_the_value():
    result, _, _ = _gate([0.01, 0.01, 0.31], Policy(BELOW, duration=20, interval=2))
    assert result.reason == "0.31 is not below 0.05 (check 3 of 10, no failure allowed)"


def test_k_failures_within_the_allowance_pass():
    result, _, _ = _gate([0.01, 0.3, 0.01, 0.01], Policy(BELOW, duration=8, interval=2, allowed_failures=1))
    assert result.ok
    assert "1 failed of 1 allowed" in result.reason


def test_inconclusive_limit_in_a_row_fails_with_the_reason():
    result, _, _ = _gate([0.01, EMPTY, 0.02, DOWN, DOWN, 0.01], Policy(BELOW, duration=20, interval=2))
    assert not result.ok
    assert result.reason.startswith("inconclusive 2 checks in a row (limit 2): Prometheus at")
    assert "(check 5 of 10)" in result.reason
    assert [c.outcome for c in result.checks] == ["passed", "inconclusive", "passed", "inconclusive", "inconclusive"]


def test_inconclusive_never_passes_the_schedule_is_extended():
    # The last scheduled check is inconclusive: the gate checks once more (conclusive: passes).
    result, _, _ = _gate([0.01, 0.01, EMPTY, 0.02], Policy(BELOW, duration=6, interval=2))
    assert result.ok and len(result.checks) == 4
    # ... and when that one is inconclusive too, the limit fails it.
    result, _, _ = _gate([0.01, 0.01, EMPTY, EMPTY], Policy(BELOW, duration=6, interval=2))
    assert not result.ok and "inconclusive 2 checks in a row" in result.reason
    assert result.reason.endswith("(check 4, after the 3 scheduled)")


def test_once_retries_an_inconclusive_answer_then_fails():
    result, t, _ = _gate([EMPTY, EMPTY], Policy(BELOW, interval=2))
    assert not result.ok and "empty result" in result.reason
    assert t.waits == [2.0]
    result, _, _ = _gate([EMPTY, 0.01], Policy(BELOW, interval=2))
    assert result.ok


def test_nan_is_inconclusive_never_a_pass():
    nan = Inconclusive("nan", "the query returned NaN (no samples to judge, e.g. 0/0)")
    result, _, _ = _gate([nan, nan], Policy(Condition("below", math.inf)))
    assert not result.ok and "NaN" in result.reason


def test_several_series_fail_at_once_naming_them():
    several = SeveralSeries(({"instance": "web1"}, {"instance": "web2"}))
    result, _, query = _gate([0.01, several, 0.01], Policy(BELOW, duration=6, interval=2))
    assert not result.ok
    assert 'the query returned 2 series ({instance="web1"}, {instance="web2"})' in result.reason
    assert "(check 2 of 3)" in result.reason and len(query.left) == 1


def test_rejected_query_fails_at_once():
    result, _, _ = _gate([Rejected("bad_data: parse error")], Policy(BELOW, duration=6, interval=2))
    assert not result.ok and result.reason == "Prometheus rejected the query: bad_data: parse error (check 1 of 3)"


def test_dry_run_records_every_check_and_never_fails():
    answers = [0.31, 0.01, 0.4, EMPTY, EMPTY]
    result, _, query = _gate(answers, Policy(BELOW, duration=10, interval=2, dry_run=True))
    assert result.ok and result.dry_run and result.verdict == "failed"
    assert result.reason == "dry run, would have failed: 0.31 is not below 0.05 (check 1 of 5, no failure allowed)"
    assert len(result.checks) == 5 and query.left == []
    assert result.values == [0.31, 0.01, 0.4]


def test_dry_run_that_would_pass_says_so():
    result, _, _ = _gate([0.01], Policy(BELOW, dry_run=True))
    assert result.ok and result.reason == "dry run, would have passed: 0.01 is below 0.05"


def test_a_stop_ends_the_gate_and_never_passes():
    result, _, _ = _gate([0.01] * 10, Policy(BELOW, duration=20, interval=2), stop_after=3)
    assert not result.ok and result.verdict == "stopped"
    assert result.values == [0.01] * 3
    assert result.reason == "interrupted mid-step: the gate stopped after 3 checks, before a verdict"


def test_a_stop_while_waiting_between_checks_ends_the_gate_at_that_wait():
    # The wait returns early on a stop (MasterContext.wait): no further check is asked, and the
    # gate does not sit out the rest of its 20 seconds.
    t, asked = FakeTime(), []
    stop = {"now": False}

    def query():
        asked.append(t.now)
        return Observed(0.01)

    def wait(seconds):
        if len(asked) == 2:
            t.now += 0.5  # the stop arrives half a second into the wait; the wait returns then
            stop["now"] = True
            return
        t.wait(seconds)

    result = run_gate(
        query, Policy(BELOW, duration=20, interval=2), clock=t.clock, wait=wait, stopping=lambda: stop["now"]
    )
    assert result.verdict == "stopped" and not result.ok and len(asked) == 2
    assert t.now - 100.0 == 4.5 and result.reason.startswith("interrupted mid-step:")


def test_the_schedule_counts_query_time():
    # Each query takes 0.5 s: the next check is still due on the interval, not 2.5 s later.
    t = FakeTime()

    def slow():
        t.now += 0.5
        return Observed(0.01)

    result = run_gate(slow, Policy(BELOW, duration=6, interval=2), clock=t.clock, wait=t.wait)
    assert [round(c.at, 1) for c in result.checks] == [2.5, 4.5, 6.5]
    assert t.waits == [2.0, 1.5, 1.5]


@pytest.mark.parametrize(
    "kwargs",
    [{"duration": 5, "interval": 10}, {"interval": 0}, {"allowed_failures": -1}, {"inconclusive_limit": 0}],
)
def test_bad_policies(kwargs):
    with pytest.raises(ValueError):
        Policy(BELOW, **kwargs)


def test_result_as_dict_is_json_shaped():
    result, _, _ = _gate([0.01, EMPTY, 0.02], Policy(BELOW, duration=6, interval=2))
    data = result.as_dict()
    assert data["ok"] is True
    assert [c["value"] for c in data["checks"]] == [0.01, None, 0.02]
