"""The spec's `store: etcd`: a real etcd for the masters' fleet store, and the shipped etcd-spec.yaml."""

import pytest

from saltext.scenario.sandbox import ETCD_SPEC, SandboxError, load_spec
from saltext.scenario.sandbox.etcd import Etcd
from saltext.scenario.sandbox.spec_services import services_of

BASE = {"repo": {"mywebapp": ["4.2.5-1"]}, "hosts": {"web1": {"packages": {"mywebapp": "4.2.5-1"}}}}


def test_store_is_local_by_default_and_runs_no_service(tmp_path):
    spec = load_spec(BASE)
    assert spec["store"] == "local"
    assert services_of(tmp_path, spec) == {}


@pytest.mark.parametrize("value", ["etcd3", "", None, True])
def test_bad_store_names_the_key(value):
    with pytest.raises(SandboxError, match=r"^store: must be one of \['local', 'etcd'\]"):
        load_spec({**BASE, "store": value})


def test_a_host_named_etcd_would_shadow_the_service():
    with pytest.raises(SandboxError, match=r"^hosts\.etcd: "):
        load_spec({**BASE, "hosts": {"etcd": {}}, "store": "etcd"})
    assert "etcd" in load_spec({**BASE, "hosts": {"etcd": {}}})["hosts"]


def test_shipped_etcd_spec_is_two_masters_and_etcd_over_the_default_hosts():
    spec = load_spec(ETCD_SPEC)
    assert (spec["masters"], spec["store"]) == (2, "etcd")
    assert list(spec["hosts"]) == ["web1", "web2", "web3", "web4", "db1"]


def test_etcd_runs_in_the_state_dir_on_its_address_with_room_for_1000_hosts_per_transaction(tmp_path):
    etcd = services_of(tmp_path, load_spec({**BASE, "store": "etcd"}))["etcd"]
    assert isinstance(etcd, Etcd) and etcd.url == "http://198.51.100.5:2379"
    argv = etcd.argv()
    assert argv[0] == "etcd"
    assert argv[argv.index("--data-dir") + 1] == str(tmp_path / "etcd" / "data")
    assert argv[argv.index("--listen-client-urls") + 1] == "http://198.51.100.5:2379"
    assert int(argv[argv.index("--max-txn-ops") + 1]) >= 2 * 1000
    assert etcd.master_config() == {
        "scenario_store": "etcd",
        "scenario_etcd_endpoints": ["http://198.51.100.5:2379"],
    }


def test_lb_may_not_take_the_etcd_address():
    with pytest.raises(SandboxError, match=r"collides.*etcd \(198\.51\.100\.5\)"):
        load_spec({**BASE, "lb": "198.51.100.5"})
