"""The drain steps against a fake fleet: the firewall drain on each host, and the HAProxy
drain as one call on the balancer minion for the batch's hosts; drained and in-maint hosts
count as blocked for halting, still_blocked and the compiled SLS."""

import yaml

from saltext.scenario.engine.parsing.parse import parse_feature
from saltext.scenario.engine.parsing.source import DirSource
from saltext.scenario.engine.records.result import ResultCollector
from saltext.scenario.engine.running.execute import Executor
from saltext.scenario.engine.steps import builtin_steps
from saltext.scenario.engine.steps.registry import Registry
from tests.support.engine_calls import build_plan, compile_sls
from tests.support.fake_fleet import FakeFleet, FakeHost
from tests.support.sites import copy_site

GIVEN = [
    "Given the load balancer has ip address 198.51.100.10",
    "And I want to update hosts with class roles::dev_server",
]
FIREWALL = [
    "When I drain the load balancer within 20 seconds",
    "Then the load balancer should have no connections",
    "When I update the package mywebapp to version 4.2.6-3",
    "When I unblock the load balancer",
    "Then traffic from the load balancer should be unblocked",
]
HAPROXY = [
    "Given the load balancer is HAProxy backend web on lb",
    "When I drain the hosts in the load balancer within 20 seconds",
    "When I update the package mywebapp to version 4.2.6-3",
    "Then the package version for mywebapp should be 4.2.6-3",
    "When I return the hosts to the load balancer",
    "Then the load balancer should report the hosts as up within 5 seconds",
]


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def _text(body):
    return "Feature: F\n  Scenario: S\n" + "".join(f"    {line}\n" for line in [*GIVEN, *body])


def _run(fleet, body, batch=None):
    registry = builtin_steps.register(Registry())
    plan = build_plan("f", parse_feature(_text(body), "features/f.feature"), registry, {}, batch=batch)
    collector, clock = ResultCollector(plan), Clock()
    Executor(plan, fleet, collector, "run1", clock=clock, sleep=clock.sleep).run(fleet.ping("x"))
    return collector.result()


def _fleet(**kw):
    return FakeFleet([FakeHost("web1"), FakeHost("web2"), FakeHost("web3")], balancers=["lb"], **kw)


def test_firewall_drain_passes_and_calls_each_host():
    fleet = _fleet()
    result = _run(fleet, FIREWALL)
    assert result["retcode"] == 0 and result["still_blocked"] == []
    drain = next(c for c in fleet.calls if c[1] == "lbdrain.drain")
    assert drain == (["web1", "web2", "web3"], "lbdrain.drain", ["198.51.100.10"], {"timeout": 20})


def test_firewall_drain_that_times_out_fails_and_the_host_stays_drained():
    fleet = _fleet()
    fleet.hosts["web2"].connections = 1
    result = _run(fleet, FIREWALL)
    assert result["retcode"] == 1
    assert "1 connection(s) still open" in result["failed_hosts"]["web2"]["reason"]
    # Its drain did not pass, but it is drained: still blocked, and never unblocked.
    assert result["still_blocked"] == ["web1", "web2", "web3"]
    assert fleet.hosts["web2"].drained and not any(c[1] == "lbgate.unblock" for c in fleet.calls)


def test_haproxy_steps_make_one_call_on_the_balancer_per_batch_with_server_names():
    fleet = _fleet()
    fleet.hosts["web2"].pillar = {"lbgate": {"haproxy_server": "web2-pillar"}}
    fleet.hosts["web3"].grains = {"lbgate": {"haproxy_server": "web3-grain"}}
    result = _run(fleet, HAPROXY, batch="1")
    assert result["retcode"] == 0 and result["still_blocked"] == []
    on_lb = [c for c in fleet.calls if c[0] == ["lb"]]
    assert [c[1] for c in on_lb] == ["lbhaproxy.drain", "lbhaproxy.ready", "lbhaproxy.verify_up"] * 3
    drains = [c for c in on_lb if c[1] == "lbhaproxy.drain"]
    assert [c[3]["hosts"] for c in drains] == [{"web1": "web1"}, {"web2": "web2-pillar"}, {"web3": "web3-grain"}]
    assert drains[0][2] == ["web"] and drains[0][3]["timeout"] == 20
    # The updates still go to the hosts themselves, one batch at a time.
    assert [c[0] for c in fleet.calls if c[1] == "pkgcheck.update"] == [["web1"], ["web2"], ["web3"]]


def test_haproxy_drain_that_times_out_halts_with_the_host_still_out_of_rotation():
    fleet = _fleet()
    fleet.hosts["web2"].sessions = 3
    result = _run(fleet, HAPROXY, batch="1")
    assert result["retcode"] == 1
    assert list(result["failed_hosts"]) == ["web2"]
    assert result["still_blocked"] == ["web2"]
    assert fleet.hosts["web2"].haproxy == "drain" and fleet.hosts["web3"].haproxy == "ready"
    # web3's batch never started: nothing was asked of the balancer for it.
    assert all("web3" not in c[3].get("hosts", {}) for c in fleet.calls if c[0] == ["lb"])


def test_balancer_down_fails_every_host_of_the_batch():
    fleet = _fleet(dead=["lb"])
    result = _run(fleet, HAPROXY)
    assert result["retcode"] == 1
    assert sorted(result["failed_hosts"]) == ["web1", "web2", "web3"]
    assert "lb: no response" in result["failed_hosts"]["web1"]["reason"]
    assert result["still_blocked"] == []


def test_haproxy_steps_without_the_given_are_invalid():
    registry = builtin_steps.register(Registry())
    body = [line for line in HAPROXY if not line.startswith("Given")]
    try:
        build_plan("f", parse_feature(_text(body), "features/f.feature"), registry, {})
    except Exception as exc:  # noqa: BLE001 - the type is checked below
        assert type(exc).__name__ == "InvalidScenario"
        assert "Given the load balancer is HAProxy backend" in str(exc)
    else:
        raise AssertionError("a HAProxy step without its Given was accepted")


def test_bad_backend_or_minion_names_are_refused_at_match_time():
    registry = builtin_steps.register(Registry())
    for given in (
        "Given the load balancer is HAProxy backend web;reload on lb",
        "Given the load balancer is HAProxy backend web on lb;rm",
        "Given the load balancer is HAProxy backend web servers on lb",
    ):
        body = [given, *HAPROXY[1:]]
        try:
            build_plan("f", parse_feature(_text(body), "features/f.feature"), registry, {})
        except Exception as exc:  # noqa: BLE001 - the type is checked below
            assert type(exc).__name__ == "InvalidScenario", exc
        else:
            raise AssertionError(f"{given!r} was accepted")


def test_compiled_sls_runs_haproxy_steps_on_the_balancer_with_the_hosts_as_a_kwarg(tmp_path):
    site = copy_site(tmp_path / "site")
    (site / "features" / "ha.feature").write_text(_text(HAPROXY))
    fleet = _fleet()
    fleet.hosts["web2"].grains = {"lbgate": {"haproxy_server": "w2"}}
    opts = {"cachedir": str(tmp_path / "cache")}
    ret = compile_sls(opts, "ha", DirSource(site), lambda: fleet, batch="2")
    assert ret["retcode"] == 0, ret
    data = yaml.safe_load(ret["sls"])
    states = {sid: {k: v for item in body["salt.function"] for k, v in item.items()} for sid, body in data.items()}
    drains = [s for s in states.values() if s["name"] == "lbhaproxy.drain"]
    assert [(s["tgt"], s["kwarg"]["hosts"]) for s in drains] == [
        (["lb"], {"web1": "web1", "web2": "w2"}),
        (["lb"], {"web3": "web3"}),
    ]
    assert drains[0]["arg"] == ["web"] and drains[0]["kwarg"]["timeout"] == 20
    up = next(s for s in states.values() if s["name"] == "lbhaproxy.verify_up")
    assert up["tgt"] == ["lb"] and up["retry"] == {"attempts": 6, "interval": 1}
    update = next(s for s in states.values() if s["name"] == "pkgcheck.update")
    assert update["tgt"] == ["web1", "web2"]
