"""metrics-spec.yaml on a sandbox of this module: Prometheus scrapes HAProxy's per-server response
counts, and a bad build answers 500 to its share of real traffic while passing its health checks."""

import json
import os
import time
import urllib.parse

import pytest

from saltext.scenario.sandbox import METRICS_SPEC
from saltext.scenario.sandbox.balancer import Balancer
from saltext.scenario.sandbox.netns import http

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

SERIES = 'haproxy_server_http_responses_total{proxy="web",code="5xx"}'


@pytest.fixture(scope="module")
def sandbox(make_sandbox):
    own = make_sandbox(METRICS_SPEC, name=f"mx{os.getpid()}")
    yield own
    own.down()


def query(sandbox, promql):
    """{server: value} of an instant query, asked from master 1's namespace as the runner would."""
    path = "/api/v1/query?query=" + urllib.parse.quote(promql)
    status, body = http(sandbox.record["master"]["netns"], "198.51.100.6", 9090, path, timeout=5)
    assert status == 200, body
    return {r["metric"]["server"]: float(r["value"][1]) for r in json.loads(body)["data"]["result"]}


def test_prometheus_sees_a_bad_builds_5xx_per_server_while_its_health_checks_pass(sandbox):
    assert sandbox.salt_run("config.get", "scenario_prometheus_url").stdout.strip() == "http://198.51.100.6:9090"
    installed = sandbox.salt("web1", "pkg.install", "mywebapp", "version=4.2.7-1", "--out=json", timeout=120)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    summary = sandbox.load(20, 2)
    # roundrobin over web1-web4: web1 got 10 of the 40, and 0.3 of those (requests 4, 7, 10) failed.
    assert summary["failures"] == {"status 500": 3}, summary
    assert summary["versions"]["mywebapp 4.2.7-1"] == 7

    deadline = time.monotonic() + 30
    seen = {}
    while time.monotonic() < deadline and seen.get("web1") != 3:
        seen = query(sandbox, SERIES)
        time.sleep(0.5)
    assert seen == {"web1": 3, "web2": 0, "web3": 0, "web4": 0}
    ok = query(sandbox, 'haproxy_server_http_responses_total{proxy="web",code="2xx"}')
    assert ok["web1"] >= 7 and ok["web2"] >= 10

    # The bad build passes NRPE's check_web, the service check and HAProxy's own check.
    web = sandbox.salt("web1", "nrpe.run", "check_web", "--out=json", timeout=60)
    assert json.loads(web.stdout)["web1"]["status"] == "OK", web.stdout
    assert sandbox.salt_call("web1", "service.status", "mywebapp", "--out=json").stdout.count("true") == 1
    balancer = Balancer(sandbox.state_dir, sandbox.record["lb"]["netns"], sandbox.bin_dir, sandbox.spec)
    assert balancer.show_stat()["web1"] == "UP"
