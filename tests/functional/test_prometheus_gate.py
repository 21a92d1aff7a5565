"""Metric gates against a real Prometheus (Debian's package): answers, a rejected query, a stopped
server, and the template's escaping as Prometheus' own regex engine (RE2) reads it."""

import json
import urllib.parse
import urllib.request

import pytest

from saltext.scenario.engine.gates.gate import Condition, Policy, run_gate
from saltext.scenario.engine.gates.prometheus import Inconclusive, Observed, PrometheusClient, Rejected
from saltext.scenario.engine.gates.template import BatchValues, promql_string_body, render
from tests.support.prometheus_server import PrometheusServer

BELOW = Condition("below", 0.05)


class NoWait:
    def __init__(self):
        self.now = 0.0

    def clock(self):
        return self.now

    def wait(self, seconds):
        self.now += seconds


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    with PrometheusServer(tmp_path_factory.mktemp("prometheus")) as prom:
        yield prom


@pytest.fixture
def client(prometheus):
    return PrometheusClient(prometheus.url, timeout=5)


def _gate(client, query, policy):
    t = NoWait()
    return run_gate(lambda: client.query(query), policy, clock=t.clock, wait=t.wait)


def test_a_value_below_passes(client):
    result = _gate(client, "vector(0.02)", Policy(BELOW))
    assert result.ok and result.values == [0.02]
    assert result.reason == "0.02 is below 0.05"


def test_a_value_above_fails_quoting_it(client):
    result = _gate(client, "vector(0.3)", Policy(BELOW, duration=20, interval=2))
    assert not result.ok
    assert result.reason == "0.3 is not below 0.05 (check 1 of 10, no failure allowed)"


def test_an_empty_result_is_inconclusive(client):
    assert client.query("up") == Inconclusive("empty", "the query returned no series (empty result)")
    result = _gate(client, "up", Policy(BELOW))
    assert not result.ok and "inconclusive 2 checks in a row" in result.reason


def test_nan_is_inconclusive(client):
    answer = client.query("vector(0) / vector(0)")
    assert isinstance(answer, Inconclusive) and answer.kind == "nan"


def test_a_malformed_query_is_rejected_with_prometheus_message(client):
    answer = client.query("sum(rate(x[1m])")
    assert isinstance(answer, Rejected)
    assert answer.reason.startswith("bad_data: ") and "parse error" in answer.reason


def test_several_series_are_named(client):
    answer = client.query('label_replace(vector(1), "h", "a", "", "") or label_replace(vector(2), "h", "b", "", "")')
    assert "2 series" in answer.reason and '{h="a"}' in answer.reason
    assert client.query(
        "sum(" + 'label_replace(vector(1), "h", "a", "", "") or label_replace(vector(2), "h", "b", "", ""))'
    ) == Observed(3.0)


@pytest.mark.parametrize(
    "hostile", ['web1"} or vector(1) #', "a|b", "web.*", "x\\y", "tab\tsp ace", "br{a}[c](e)", "ünï", "^?+"]
)
def test_the_hosts_regex_selects_exactly_the_batch_in_re2(prometheus, hostile):
    """Each id is a series' label h; label_replace (anchored RE2, like =~) marks the series whose h
    matches the rendered {{ hosts }}: exactly the batch's ids must be marked."""
    ids = [hostile, "web1", "a", "web2", "x", "b"]
    series = " or ".join(
        f'label_replace(vector({n}), "h", "{promql_string_body(i.replace("$", "$$"))}", "", "")'
        for n, i in enumerate(ids, 1)
    )
    rendered = render(f'label_replace({series}, "m", "yes", "h", "{{{{ hosts }}}}")', BatchValues((hostile, "web2")))
    body = urllib.parse.urlencode({"query": rendered}).encode()
    with urllib.request.urlopen(prometheus.url + "/api/v1/query", data=body, timeout=5) as resp:
        result = json.loads(resp.read())["data"]["result"]
    assert len(result) == len(ids)
    marked = sorted(s["metric"]["h"] for s in result if s["metric"].get("m") == "yes")
    assert marked == sorted([hostile, "web2"])


def test_a_stopped_server_is_inconclusive(tmp_path):
    with PrometheusServer(tmp_path) as prom:
        client = PrometheusClient(prom.url, timeout=2)
        assert client.query("vector(1)") == Observed(1.0)
        prom.stop()
        answer = client.query("vector(1)")
    assert isinstance(answer, Inconclusive) and answer.kind == "unreachable"
    result = _gate(client, "vector(0.01)", Policy(BELOW, duration=10, interval=2))
    assert not result.ok and result.reason.startswith("inconclusive 2 checks in a row (limit 2): Prometheus at")


def test_a_stay_gate_on_the_real_clock(client):
    """Two checks a second apart, on time.monotonic and a real wait: the schedule holds."""
    import time

    result = run_gate(
        lambda: client.query("vector(0.01)"),
        Policy(BELOW, duration=2, interval=1),
        clock=time.monotonic,
        wait=time.sleep,
    )
    assert result.ok and result.values == [0.01, 0.01]
    first, second = result.checks
    # Never early; late only by the query time (loose: the machine may be busy).
    assert 1.0 <= first.at < 5.0 and 2.0 <= second.at < 6.0
