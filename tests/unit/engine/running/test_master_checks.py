"""Master-side steps in a run: a metric gate asked once per batch on the master, its verdict on
every host of the batch; asked once before any host is touched; shown by plan; refused by compile."""

import os
import time

import pytest

from saltext.scenario import config
from saltext.scenario.engine.gates.prometheus import Inconclusive, Observed, Rejected, SeveralSeries
from saltext.scenario.engine.parsing.parse import parse_feature
from saltext.scenario.engine.parsing.source import DirSource
from saltext.scenario.engine.records.result import ResultCollector
from saltext.scenario.engine.running.execute import Executor
from saltext.scenario.engine.running.prepare import builtin_registry
from saltext.scenario.engine.store import RunInfo, open_store
from tests.support import engine_calls as api
from tests.support.fake_fleet import FakeFleet, FakeHost

RATIO = (
    'sum(rate(r{server=~"{{ haproxy_servers }}",code="5xx"}[5s])) / sum(rate(r{server=~"{{ haproxy_servers }}"}[5s]))'
)


def _feature(gate, tags="", scenario_tags=""):
    return "\n".join(
        [
            *([tags] if tags else []),
            "Feature: M",
            f"  {scenario_tags}",
            "  Scenario: S",
            "    Given the load balancer has ip address 198.51.100.10",
            '    And I want to update hosts matching "*"',
            "    And I update hosts in batches of 1, 2",
            "    When I update the package mywebapp to version 4.2.6-3",
            f"    Then the metric {gate}",
            '      """',
            f"      {RATIO}",
            '      """',
            "",
        ]
    )


class FakePrometheus:
    """Answers from `answer(query, number)`; records each query with how many fleet calls preceded it."""

    where = "http://prom:9090"

    def __init__(self, fleet, answer):
        self.fleet, self.answer, self.asked = fleet, answer, []

    def query(self, promql):
        self.asked.append((promql, len(self.fleet.calls)))
        return self.answer(promql, len(self.asked))


def _fleet():
    hosts = [FakeHost(f"web{i}") for i in (1, 2, 3)]
    hosts[0].grains = {"ipv4": ["127.0.0.1", "198.51.100.11"], "lbgate": {"haproxy_server": "srv-one"}}
    return FakeFleet(hosts)


@pytest.fixture
def site(tmp_path):
    (tmp_path / "features").mkdir()
    return tmp_path


def _write(site, text, name="m"):
    (site / "features" / f"{name}.feature").write_text(text, encoding="utf-8")
    return DirSource(site)


def _opts(tmp_path):
    return {"cachedir": str(tmp_path / "cache"), "scenario_prometheus_url": "http://prom:9090"}


def _gate_steps(ret):
    return [st for st in ret["scenarios"][0]["steps"] if st["text"].startswith("the metric")]


def test_each_batch_gets_one_verdict_with_the_observed_value_and_the_query_has_its_servers(site, tmp_path):
    fleet = _fleet()
    prom = FakePrometheus(fleet, lambda q, n: Observed(0.01))
    source = _write(site, _feature("should be below 0.05"))
    ret = api.run(_opts(tmp_path), "m", source, lambda: fleet, prometheus=lambda: prom)
    assert ret["retcode"] == 0, ret
    # asked before any host was touched (the preflight), then once per batch, never in a minion job
    assert prom.asked[0][1] == 0 and len(prom.asked) == 3
    assert all("metric" not in fun and "prometheus" not in fun for _h, fun, *_ in fleet.calls)
    canary = prom.asked[1][0]
    assert 'server=~"(?:srv\\\\-one)"' in canary, canary
    assert 'server=~"(?:web2|web3)"' in prom.asked[2][0]
    (step,) = _gate_steps(ret)
    assert set(step["hosts"]) == {"web1", "web2", "web3"}
    assert all(h["reason"] == "0.01 is below 0.05" for h in step["hosts"].values())
    assert step["hosts"]["web1"]["ret"]["checks"][0]["value"] == 0.01


def test_a_query_prometheus_rejects_is_refused_before_any_host_with_exit_2(site, tmp_path):
    fleet = _fleet()
    prom = FakePrometheus(fleet, lambda q, n: Rejected('bad_data: parse error: unexpected "}"'))
    ret = api.run(
        _opts(tmp_path), "m", _write(site, _feature("should be below 0.05")), lambda: fleet, prometheus=lambda: prom
    )
    assert ret["retcode"] == 2 and "features/m.feature:8" in ret["error"] and "parse error" in ret["error"]
    assert [c for c in fleet.calls if c[1] != "test.ping"] == []


def test_a_query_returning_several_series_is_refused_before_any_host_with_exit_2(site, tmp_path):
    # The query does not aggregate: every check would fail the same way, after the canary changed.
    fleet = _fleet()
    several = SeveralSeries(({"server": "srv-one", "code": "5xx"}, {"server": "srv-one", "code": "200"}))
    prom = FakePrometheus(fleet, lambda q, n: several)
    ret = api.run(
        _opts(tmp_path), "m", _write(site, _feature("should be below 0.05")), lambda: fleet, prometheus=lambda: prom
    )
    assert ret["retcode"] == 2, ret
    # The run-time reason (a gate's "rejected" check), with the step's file:line before it.
    assert ret["error"] == (
        "features/m.feature:8: the query returned 2 series "
        '({code="5xx", server="srv-one"}, {code="200", server="srv-one"}); '
        "a gate judges one number: aggregate it (sum, max, avg ...) (asked before the run, with the first batch)"
    )
    assert ret["error"].startswith(f"features/m.feature:8: {several.reason}")
    assert len(prom.asked) == 1 and 'server=~"(?:srv\\\\-one)"' in prom.asked[0][0]
    assert [c for c in fleet.calls if c[1] != "test.ping"] == []


def test_the_check_before_the_run_renders_the_first_batch_without_the_held_hosts(site, tmp_path):
    # web1 is held by another run: exclude_held=True leaves it out, so the first batch is web2.
    opts = {**_opts(tmp_path), "id": "master1"}
    with open_store(config.load(opts)).open_run(RunInfo(OTHER_RUN, "master2", "m", "bob", os.getpid())) as other:
        other.claim(["web1"])
        other.hold(["web1"], "When I block the load balancer", "taken out of the balancer")
        other.finish(1, "1 scenario (1 failed)")
    fleet = _fleet()
    prom = FakePrometheus(fleet, lambda q, n: Observed(0.0))
    source = _write(site, _feature("should be below 0.05"))
    ret = api.run(opts, "m", source, lambda: fleet, prometheus=lambda: prom, exclude_held=True)
    assert ret["retcode"] == 0 and ret["held"] == ["web1"], ret
    before, touched = prom.asked[0]
    assert touched == 0 and 'server=~"(?:web2)"' in before, before
    # No query of the run names the held host (its HAProxy name is srv-one).
    assert [q for q, _n in prom.asked if "srv" in q or "web1" in q] == []
    assert not [c for c in fleet.calls if "web1" in c[0] and c[1] != "test.ping"]


@pytest.mark.parametrize(
    "prometheus,words",
    [
        (None, "scenario_prometheus_url"),
        (Inconclusive("unreachable", "Prometheus at http://prom:9090 is unreachable: Connection refused"), "refused"),
    ],
)
def test_no_or_an_unreachable_prometheus_is_refused_with_exit_3(site, tmp_path, prometheus, words):
    fleet = _fleet()
    prom = None if prometheus is None else FakePrometheus(fleet, lambda q, n: prometheus)
    ret = api.run(
        _opts(tmp_path), "m", _write(site, _feature("should be below 0.05")), lambda: fleet, prometheus=lambda: prom
    )
    assert ret["retcode"] == 3 and words in ret["error"] and "features/m.feature:8" in ret["error"], ret
    assert [c for c in fleet.calls if c[1] != "test.ping"] == []


def test_an_empty_answer_before_the_run_is_no_refusal(site, tmp_path):
    fleet = _fleet()
    answers = {1: Inconclusive("empty", "the query returned no series (empty result)")}
    prom = FakePrometheus(fleet, lambda q, n: answers.get(n, Observed(0.0)))
    ret = api.run(
        _opts(tmp_path), "m", _write(site, _feature("should be below 0.05")), lambda: fleet, prometheus=lambda: prom
    )
    assert ret["retcode"] == 0, ret


def test_plan_shows_the_query_rendered_for_the_first_batch_and_compile_refuses(site, tmp_path):
    fleet = _fleet()
    source = _write(site, _feature("should be below 0.05"))
    ret = api.plan(_opts(tmp_path), "m", source, lambda: fleet)
    (step,) = [st for st in ret["scenarios"][0]["steps"] if "check" in st]
    assert 'server=~"(?:srv\\\\-one)"' in step["rendered"]["query"]
    assert step["check"]["metric"] is True and step["publish"] == 2 and not step.get("fused")
    compiled = api.compile_sls(_opts(tmp_path), "m", source, lambda: fleet)
    assert compiled["retcode"] == 2 and "features/m.feature:8" in compiled["error"]
    assert "Prometheus" in compiled["error"]


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def _execute(text, answer, stop=lambda: None):
    fleet = _fleet()
    plan = api.build_plan("m", parse_feature(text, "features/m.feature"), builtin_registry())
    clock, collector = Clock(), ResultCollector(plan)
    prom = FakePrometheus(fleet, lambda q, n: answer(clock.now - 100.0))
    executor = Executor(plan, fleet, collector, "r1", clock=clock, sleep=clock.sleep, stop=stop, prometheus=prom)
    retcode = executor.run(fleet.ping("*"))
    return retcode, collector.result(), fleet, clock


OTHER_RUN = "20261204101500-aaaaaaaa"
STAY = "should stay below 0.05 for 20 seconds, checked every 2 seconds"


def test_a_bad_canary_halts_the_run_at_its_first_failed_check_and_batch_2_is_never_touched():
    retcode, ret, fleet, clock = _execute(_feature(STAY), lambda t: Observed(0.31))
    assert retcode == 1
    (step,) = _gate_steps(ret)
    assert step["hosts"]["web1"]["reason"] == "0.31 is not below 0.05 (check 1 of 10, no failure allowed)"
    assert clock.now - 100.0 < 5  # decided at the first check, 2 s after the gate started
    assert {h for hosts, fun, *_ in fleet.calls if fun == "pkgcheck.update" for h in hosts} == {"web1"}


def test_a_good_batch_passes_after_the_whole_duration():
    retcode, ret, _, clock = _execute(_feature(STAY), lambda t: Observed(0.002))
    assert retcode == 0
    (step,) = _gate_steps(ret)
    assert step["hosts"]["web2"]["reason"] == "10 of 10 checks below 0.05 over 20 s (0.002)"
    assert clock.now - 100.0 >= 40  # two batches, 20 s each


@pytest.mark.parametrize("tags", [("@metrics-dry-run", ""), ("", "@metrics-dry-run")])
def test_dry_run_records_the_verdict_and_never_fails(tags):
    retcode, ret, _, _clock = _execute(_feature(STAY, *tags), lambda t: Observed(0.31))
    assert retcode == 0
    (step,) = _gate_steps(ret)
    assert step["hosts"]["web1"]["reason"].startswith("dry run, would have failed: 0.31 is not below 0.05")


def test_prometheus_gone_mid_gate_is_inconclusive_then_failed_never_passed():
    def answer(t):
        if t < 5:
            return Observed(0.0)
        return Inconclusive("unreachable", "Prometheus at http://prom:9090 is unreachable: Connection refused")

    retcode, ret, _, _clock = _execute(_feature(STAY), answer)
    assert retcode == 1
    reason = _gate_steps(ret)[0]["hosts"]["web1"]["reason"]
    assert reason.startswith("inconclusive 2 checks in a row (limit 2): Prometheus at http://prom:9090 is unreachable")


def test_a_stop_request_ends_the_gate_at_once_without_passing():
    clock_box = {}

    def answer(t):
        clock_box["t"] = t
        return Observed(0.0)

    retcode, ret, _, clock = _execute(
        _feature(STAY), answer, stop=lambda: "SIGTERM" if clock_box.get("t", 0) >= 6 else None
    )
    assert retcode == 6
    reason = _gate_steps(ret)[0]["hosts"]["web1"]["reason"]
    assert reason == "interrupted mid-step: the gate stopped after 3 checks, before a verdict"
    assert clock.now - 100.0 < 10
    # Cut short by the stop, not failed: the step and its hosts are interrupted.
    (step,) = _gate_steps(ret)
    assert step["status"] == "interrupted" and step["hosts"]["web1"]["status"] == "interrupted"
    assert ret["result"] == "interrupted" and ret["interrupted"] == "SIGTERM"


def test_a_recorded_run_reports_and_journals_the_gate_with_its_observed_value(site, tmp_path):
    fleet = _fleet()
    prom = FakePrometheus(fleet, lambda q, n: Observed(0.31) if n > 1 else Observed(0.0))
    source = _write(site, _feature("should be below 0.05"))
    ret = api.recorded_run(
        _opts(tmp_path), "m", source, lambda: fleet, prometheus=lambda: prom, report_dir=str(tmp_path / "r")
    )
    assert ret["retcode"] == 1, ret
    html = next((tmp_path / "r").glob("*.html")).read_text(encoding="utf-8")
    junit = next((tmp_path / "r").glob("*.junit.xml")).read_text(encoding="utf-8")
    assert "0.31 is not below 0.05" in html and "0.31 is not below 0.05" in junit


BLOCKED_GATE = """Feature: M
  Scenario: S
    Given the load balancer has ip address 198.51.100.10
    And I want to update hosts matching "*"
    And I update hosts in batches of 1, 2
    When I block the load balancer
    When I update the package mywebapp to version 4.2.6-3
    Then the metric "sum(up)" should stay below 0.05 for 60 seconds, checked every 1 second
    When I unblock the load balancer
"""


def test_a_stop_during_a_long_gate_ends_it_at_once_interrupted_with_the_host_blocked_and_held(site, tmp_path):
    opts = {**_opts(tmp_path), "id": "master1"}
    fleet = _fleet()
    prom = FakePrometheus(fleet, lambda q, n: Observed(0.0))
    # SIGTERM once the gate made its first check (the second query: the first is the pre-run one).
    stop = lambda: "SIGTERM" if len(prom.asked) >= 2 else None  # noqa: E731
    started = time.monotonic()
    ret = api.run(opts, "m", _write(site, BLOCKED_GATE), lambda: fleet, prometheus=lambda: prom, stop=stop)
    took = time.monotonic() - started
    assert ret["retcode"] == 6 and ret["result"] == "interrupted", ret
    assert took < 10, took  # not the 60 s the gate watches: it ends at its next wait
    assert len(prom.asked) == 2
    steps = ret["scenarios"][0]["steps"]
    (gate,) = [st for st in steps if st["text"].startswith("the metric")]
    assert gate["status"] == "interrupted" and gate["hosts"]["web1"]["status"] == "interrupted"
    assert gate["hosts"]["web1"]["reason"] == "interrupted mid-step: the gate stopped after 1 check, before a verdict"
    assert steps[-1]["status"] == "skipped"  # the unblock never ran
    # The canary stays out of the balancer and held; the other batch was never touched.
    assert fleet.hosts["web1"].blocked and not fleet.hosts["web2"].blocked
    holds = {h.host: h for h in open_store(config.load(opts)).holds()}
    assert sorted(holds) == ["web1"] and "interrupted mid-step" in holds["web1"].reason
    assert ret["holds"] == ["web1"]
