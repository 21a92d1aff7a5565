"""Metric gates on real traffic: features/canary_metrics.feature on one metrics-spec sandbox (four web
hosts behind HAProxy, Prometheus scraping HAProxy's exporter every second), under load.

- the good build (4.2.6-3) passes every gate, and no request fails;
- the bad build (4.2.7-1, HTTP 500 to 3 requests in 10) halts the run at the canary's gate,
  the reason quoting the observed ratio; the rollback puts the canary back; batch 2 is never
  drained; the failed requests stay within the canary's share of the traffic over the time the
  bad build served it;
- Prometheus stopped mid-gate: inconclusive, then failed at the limit; the rollout stays held
  (the canary left the run as it is, no later batch is touched);
- a malformed query is refused before any host is touched.

The failure cases run shorter copies of the shipped feature, written to an extra file root.
"""

import json
import math
import os
import re
import time

import pytest

from saltext.scenario.sandbox import METRICS_SPEC
from saltext.scenario.sandbox.balancer import Balancer
from saltext.scenario.testing.live_run import LiveRun, ServerWatch, first_line
from tests.support.paths import REPO
from tests.support.scenario_cli import minion_job_ids, scenario, versions

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

WEB = ["web1", "web2", "web3", "web4"]
OLD, GOOD, BAD = "4.2.5-1", "4.2.6-3", "4.2.7-1"
RATE = 20  # requests per second through HAProxy, spread round-robin over the four servers
BAD_FRACTION = 0.3  # metrics-spec.yaml: bad_builds {mywebapp: {4.2.7-1: 0.3}}
LOAD_LIMIT = 200  # seconds: the load stops by itself by then; each test stops it when its run ends
SHIPPED = (REPO / "features" / "canary_metrics.feature").read_text(encoding="utf-8")
GATE_LINE = 1 + SHIPPED.splitlines().index(
    "        And the metric should stay below 0.05 for 20 seconds, checked every 2 seconds"
)


def _copies():
    """{name: text}: the shipped feature, and the shorter copies the failure cases run."""
    bad = SHIPPED.replace(f"to version {GOOD}", f"to version {BAD}")
    assert bad != SHIPPED
    held = SHIPPED[: SHIPPED.index("    @on-failure")]  # no rollback: a failed canary stays as it is
    malformed = SHIPPED.replace('"}[5s]))\n', '"}[5s])\n', 1)  # one ")" short
    assert malformed != SHIPPED
    # The good build's copy watches each batch for 6 s, not 20: the same gate, checks and
    # verdicts, 42 s less of the suite (three batches). The shipped text runs in bench/.
    good = SHIPPED.replace("for 20 seconds, checked every 2 seconds", "for 6 seconds, checked every 2 seconds")
    assert good != SHIPPED
    return {"canary_good": good, "canary_bad": bad, "canary_held": held, "canary_malformed": malformed}


@pytest.fixture(scope="module")
def sb(make_sandbox, tmp_path_factory):
    root = tmp_path_factory.mktemp("metric-gates")
    (root / "features").mkdir()
    for name, text in _copies().items():
        (root / "features" / f"{name}.feature").write_text(text, encoding="utf-8")
    own = make_sandbox(METRICS_SPEC, name=f"metrics{os.getpid()}", file_roots=[str(root)])
    yield own
    own.down()


def _balancer(sb):
    return Balancer(sb.state_dir, sb.record["lb"]["netns"], sb.bin_dir, sb.spec)


def _at(sb, version):
    """Every web host at `version`, READY in HAProxy and UP; Prometheus running."""
    sb.start("prometheus")
    proc = sb.salt("-L", ",".join(WEB), "pkgcheck.update", "mywebapp", f"version={version}", "--out=json", timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = sb.salt("lb", "lbhaproxy.ready", "web", f"hosts={json.dumps(WEB)}", "--out=json", timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _balancer(sb).wait_all_up(60, lambda: True)
    assert versions(sb, WEB) == dict.fromkeys(WEB, version)


def _under_load(sb, feature, during=None):
    """(exit code, return, timed progress lines, load summary, HAProxy samples) of a run under load."""
    _proc, stop_load = sb.start_load(RATE, LOAD_LIMIT)
    watch = ServerWatch(sb)
    try:
        run = LiveRun(sb, feature)
        if during is not None:
            during(run)
        returncode, ret, lines = run.finish(timeout=LOAD_LIMIT)
    finally:
        watch.stop()
        load = stop_load()
    return returncode, ret, lines, load, watch


def _gate_hosts(ret):
    steps = [st for st in ret["scenarios"][0]["steps"] if st["text"].startswith("the metric")]
    assert len(steps) == 1, ret["scenarios"][0]["steps"]
    return steps[0]


def test_a_malformed_query_is_refused_before_any_host_is_touched(sb):
    _at(sb, OLD)
    jobs = minion_job_ids(sb)
    code, ret, _progress = scenario(sb, "run", "canary_malformed", timeout=120)
    assert code == 2, ret
    assert f"features/canary_malformed.feature:{GATE_LINE}" in ret["error"], ret["error"]
    assert "Prometheus rejected the query" in ret["error"] and "parse error" in ret["error"], ret["error"]
    # Only discovery ran on the minions: nothing was drained, installed or asked.
    new = minion_job_ids(sb) - jobs
    listed = json.loads(sb.salt_run("jobs.list_jobs", "--out=json", timeout=60).stdout or "{}")
    assert {listed[j]["Function"] for j in new} <= {"test.ping"}, {j: listed[j]["Function"] for j in new}
    assert versions(sb, WEB) == dict.fromkeys(WEB, OLD)
    assert set(_balancer(sb).show_stat().values()) == {"UP"}


def test_the_good_build_passes_every_gate_and_no_request_fails(sb):
    _at(sb, OLD)
    code, ret, lines, load, watch = _under_load(sb, "canary_good")
    assert code == 0, [line for _t, line in lines]
    gate = _gate_hosts(ret)
    assert gate["status"] == "passed"
    reasons = {h: r["reason"] for h, r in gate["hosts"].items()}
    assert set(reasons) == set(WEB)
    assert all(re.fullmatch(r"3 of 3 checks below 0\.05 over 6 s \(.*\)", r) for r in reasons.values()), reasons
    assert load["failed"] == 0 and load["ok"] > 0, load
    assert versions(sb, WEB) == dict.fromkeys(WEB, GOOD)
    assert watch.samples and set(watch.samples[-1][1].values()) == {"UP"}


def test_the_bad_build_halts_at_the_canary_and_is_rolled_back_within_its_share_of_traffic(sb):
    _at(sb, GOOD)
    code, ret, lines, load, watch = _under_load(sb, "canary_bad")
    assert code == 1, [line for _t, line in lines]
    reason = _gate_hosts(ret)["hosts"]["web1"]["reason"]
    observed = re.fullmatch(r"([0-9.e-]+) is not below 0\.05 \(check (\d+) of 10, no failure allowed\)", reason)
    assert observed, reason
    assert float(observed.group(1)) >= 0.1, reason  # about 0.3: the bad build's share of 500s
    # The canary is back on the good build; the other hosts never left it.
    assert versions(sb, WEB) == dict.fromkeys(WEB, GOOD)
    # Batch 2 (web2, web3) and web4 were never drained: their servers stayed UP throughout.
    for server in ("web2", "web3", "web4"):
        assert all(s.startswith("UP") for s in watch.statuses(server)), (server, watch.statuses(server))
    # How long the bad build took traffic: from its rejoin (HAProxy saw web1 UP on it) until the
    # rollback drained it. HAProxy's round robin gives it RATE / 4 requests a second.
    rejoined = first_line(lines, "[batch 1/", "I return the hosts to the load balancer")
    halted = first_line(lines, "[batch 1/", "the metric should stay below 0.05")
    up_checked = first_line(lines, "[batch 1/", "report the hosts as up")
    exposed = [(a, b) for a, b in watch.up_spans("web1") if b >= rejoined - 1.0]
    assert exposed, watch.statuses("web1")
    exposure = exposed[0][1] - exposed[0][0] + 2 * watch.every
    # The bound: the canary's share of the traffic x the time it served the bad build x the bad
    # fraction, plus one request in flight at each edge.
    bound = math.ceil(RATE / len(WEB) * exposure * BAD_FRACTION) + 2
    assert 0 < load["failed"] <= bound, (load, exposure, bound)
    assert set(load["failures"]) == {"status 500"}, load
    # The gate itself decided within interval x (K + 1) + 2 scrape intervals + 2 s (+ the progress line's lag).
    assert halted - up_checked <= 2 * (0 + 1) + 2 * 1 + 2 + 1.0, (halted - up_checked, lines)
    assert halted > rejoined


def test_prometheus_stopped_mid_gate_is_inconclusive_then_failed_and_the_rollout_stays_held(sb):
    _at(sb, OLD)

    def stop_prometheus_mid_gate(run):
        up = run.wait_for(lambda line: "[batch 1/" in line and "report the hosts as up" in line, timeout=120)
        # The gate starts as that line is printed and checks 2 s later: stop Prometheus after
        # that first (conclusive) check, so the next ones find it gone.
        time.sleep(max(0.0, up + 3.0 - time.time()))
        sb.stop("prometheus")

    try:
        code, ret, lines, _load, watch = _under_load(sb, "canary_held", during=stop_prometheus_mid_gate)
    finally:
        sb.start("prometheus")
    assert code == 1, [line for _t, line in lines]
    result = _gate_hosts(ret)["hosts"]["web1"]
    assert result["reason"].startswith(
        "inconclusive 2 checks in a row (limit 2): Prometheus at http://198.51.100.6:9090/ is unreachable"
    ), result["reason"]
    outcomes = [c["outcome"] for c in result["ret"]["checks"]]
    assert outcomes[0] == "passed" and outcomes[-2:] == ["inconclusive", "inconclusive"], outcomes
    assert "passed" not in outcomes[outcomes.index("inconclusive") :], outcomes
    # The gate never passed, so the rollout stays held: the canary left the run as it is (no
    # @on-failure scenario in this copy), and no later batch was touched: their servers never
    # left UP and they keep the old build.
    assert "web1" in ret["failed_hosts"], ret["failed_hosts"]
    assert versions(sb, WEB) == {"web1": GOOD, "web2": OLD, "web3": OLD, "web4": OLD}
    for server in ("web2", "web3", "web4"):
        assert all(s.startswith("UP") for s in watch.statuses(server)), (server, watch.statuses(server))
