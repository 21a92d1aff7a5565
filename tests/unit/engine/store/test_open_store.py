"""open_store and the store's master options: which store the options build, and what bad
options and a missing etcd client get (no daemon: the etcd store is not contacted here)."""

import sys

import pytest

from saltext.scenario import config
from saltext.scenario.engine.errors import InvalidScenario
from saltext.scenario.engine.store import StoreUnavailable, open_store
from saltext.scenario.engine.store.local import LocalStore


def test_open_store_builds_the_local_store_in_the_cachedir(tmp_path):
    store = open_store(config.load({"cachedir": str(tmp_path), "id": "master1"}))
    assert isinstance(store, LocalStore)
    assert store.where == str(tmp_path / "scenario") and store.master == "master1"
    with pytest.raises(StoreUnavailable, match="no cachedir"):
        open_store(config.load({}))


def test_open_store_refuses_etcd_without_endpoints():
    pytest.importorskip("etcd3gw")
    with pytest.raises(Exception, match="scenario_etcd_endpoints is empty"):
        open_store(config.load({"cachedir": "/tmp/x", "scenario_store": "etcd"}))


def test_the_etcd_password_is_never_printed():
    settings = config.load({"scenario_etcd_password": "s3cret-pw", "scenario_etcd_user": "saltmaster"})
    assert "s3cret-pw" not in repr(settings)
    with pytest.raises(Exception) as bad:
        config.load({"scenario_etcd_password": ["s3cret-pw"]})
    assert "s3cret" not in str(bad.value) and "scenario_etcd_password" in str(bad.value)


@pytest.mark.parametrize(
    ("opts", "match"),
    [
        ({"scenario_store": "redis"}, "must be one of local, etcd"),
        ({"scenario_etcd_endpoints": ["ftp://x"]}, "not an http"),
        ({"scenario_etcd_endpoints": ["http://a:2379; rm -rf /"]}, "not an http"),
        ({"scenario_etcd_prefix": "no-slash"}, "starting with '/'"),
        ({"scenario_store_ttl": 0}, "between 1 and"),
        ({"scenario_etcd_ca": "relative/ca.pem"}, "absolute path"),
    ],
)
def test_bad_store_options_are_refused_naming_them(opts, match):
    with pytest.raises(Exception, match=match) as bad:
        config.load(opts)
    assert next(iter(opts)) in str(bad.value)
    assert bad.value.retcode == 2


def test_etcd_without_its_client_installed_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "etcd3gw.client", None)  # import etcd3gw.client -> ImportError
    settings = config.load({"scenario_store": "etcd", "scenario_etcd_endpoints": ["http://127.0.0.1:2379"]})
    with pytest.raises(StoreUnavailable, match=r"pip install 'saltext-scenario\[etcd\]'") as failed:
        open_store(settings)
    assert failed.value.retcode == 3


@pytest.mark.parametrize("endpoint", ["127.0.0.1:2379", "unix:///run/etcd.sock", "http://"])
def test_an_etcd_endpoint_that_is_not_a_url_is_refused(endpoint):
    pytest.importorskip("etcd3gw")
    from saltext.scenario.engine.store.etcd import EtcdStore

    with pytest.raises(InvalidScenario, match="not an http"):
        EtcdStore([endpoint], "m1")
