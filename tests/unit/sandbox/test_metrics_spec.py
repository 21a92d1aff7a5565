"""The spec's prometheus and bad_builds keys, and the configs they generate."""

import pytest
import yaml

from saltext.scenario.sandbox import METRICS_SPEC, SandboxError, load_spec
from saltext.scenario.sandbox.balancer import Balancer
from saltext.scenario.sandbox.hosts import Host
from saltext.scenario.sandbox.nrpecfg import default_commands
from saltext.scenario.sandbox.spec_services import services_of
from saltext.scenario.sandbox.web import BadBuilds

BASE = {
    "repo": {"mywebapp": ["4.2.5-1", "4.2.7-1"]},
    "hosts": {"web1": {"packages": {"mywebapp": "4.2.5-1"}}, "db1": {}},
    "haproxy": True,
}


def test_off_by_default():
    spec = load_spec({**BASE, "haproxy": None})
    assert (spec["prometheus"], spec["bad_builds"]) == (False, {})


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"prometheus": True, "haproxy": None}, r"^prometheus: needs haproxy"),
        ({"prometheus": "yes"}, r"^prometheus: must be true or false"),
        ({"prometheus": True, "hosts": {**BASE["hosts"], "prometheus": {}}}, r"^hosts\.prometheus: "),
        ({"bad_builds": [1]}, r"^bad_builds: must be a mapping"),
        ({"bad_builds": {"other": {"1.0": 0.5}}}, r"^bad_builds\.other: only the app \(mywebapp\)"),
        ({"bad_builds": {"mywebapp": {"9.9-1": 0.5}}}, r"^bad_builds\.mywebapp: version 9\.9-1 is in no repo"),
        ({"bad_builds": {"mywebapp": {"4.2.7-1": 0}}}, r"^bad_builds\.mywebapp\.4\.2\.7-1: the fraction"),
        ({"bad_builds": {"mywebapp": {"4.2.7-1": 1.5}}}, r"^bad_builds\.mywebapp\.4\.2\.7-1: the fraction"),
        ({"bad_builds": {"mywebapp": {"4.2.7-1": True}}}, r"^bad_builds\.mywebapp\.4\.2\.7-1: the fraction"),
        ({"bad_builds": {"mywebapp": {}}}, r"^bad_builds\.mywebapp: must be a non-empty mapping"),
    ],
)
def test_bad_values_name_the_key(changes, message):
    with pytest.raises(SandboxError, match=message):
        load_spec({**BASE, **changes})


def test_shipped_metrics_spec():
    spec = load_spec(METRICS_SPEC)
    assert spec["prometheus"] is True and spec["haproxy"]["backend"] == "web"
    assert spec["repo"]["mywebapp"] == ["4.2.5-1", "4.2.6-3", "4.2.7-1"]
    assert spec["bad_builds"] == {"mywebapp": {"4.2.7-1": 0.3}}


def test_a_bad_build_fails_exactly_its_fraction_deterministically():
    bad = BadBuilds({"4.2.7-1": 0.3})
    answers = [bad.fails("4.2.7-1") for _ in range(20)]
    assert [n + 1 for n, failed in enumerate(answers) if failed] == [4, 7, 10, 14, 17, 20]
    assert not any(bad.fails("4.2.6-3") for _ in range(10)), "a good build never fails"


def test_haproxy_checks_health_and_exports_metrics_only_with_prometheus(tmp_path):
    def config(**changes):
        spec = load_spec({**BASE, **changes})
        balancer = Balancer(tmp_path, "ns", tmp_path, spec)
        balancer.write_files("t")
        return balancer.config_file.read_text()

    plain, metrics = config(), config(prometheus=True)
    assert "option httpchk GET /health" in plain and "prometheus-exporter" not in plain
    assert (
        "    bind 198.51.100.10:8405\n    http-request use-service prometheus-exporter if { path /metrics }" in metrics
    )


def test_prometheus_scrapes_haproxy_every_second_and_keeps_its_data_in_the_state_dir(tmp_path):
    prometheus = services_of(tmp_path, load_spec({**BASE, "prometheus": True}))["prometheus"]
    prometheus.write_files()
    config = yaml.safe_load(prometheus.config_file.read_text())
    assert config["global"]["scrape_interval"] == "1s"
    assert config["scrape_configs"][0]["static_configs"] == [{"targets": ["198.51.100.10:8405"]}]
    argv = prometheus.argv()
    assert f"--storage.tsdb.path={tmp_path / 'prometheus' / 'data'}" in argv
    assert "--web.listen-address=198.51.100.6:9090" in argv
    assert any(a.startswith("--storage.tsdb.retention.time=") for a in argv)
    assert prometheus.master_config() == {"scenario_prometheus_url": "http://198.51.100.6:9090"}


def test_the_web_service_gets_the_apps_bad_builds_and_nrpe_checks_health(tmp_path):
    settings = load_spec(BASE)["hosts"]["web1"]
    host = Host(tmp_path, "web1", settings, "ns", tmp_path, "mywebapp", {"4.2.7-1": 0.3})
    assert host.web_argv()[-1] == "--bad=4.2.7-1=0.3"
    assert " -u /health " in default_commands("198.51.100.11", 80)["check_web"]
