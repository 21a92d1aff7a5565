"""The sandbox spec's haproxy key: off by default, servers default to the hosts with the app."""

import pytest

from saltext.scenario.sandbox import HAPROXY_SPEC, SandboxError, load_spec

BASE = {
    "lb": "198.51.100.10",
    "repo": {"mywebapp": ["4.2.5-1", "4.2.6-3"]},
    "hosts": {"a1": {"packages": {"mywebapp": "4.2.5-1"}}, "b2": {}},
}


def test_default_spec_has_no_haproxy():
    assert load_spec()["haproxy"] is None


def test_shipped_haproxy_spec_puts_the_web_hosts_behind_backend_web():
    spec = load_spec(HAPROXY_SPEC)
    assert spec["haproxy"] == {"backend": "web", "servers": ["web1", "web2", "web3"]}
    assert "db1" in spec["hosts"]


@pytest.mark.parametrize(
    "value,normal",
    [
        (True, {"backend": "web", "servers": ["a1"]}),
        ({"backend": "www"}, {"backend": "www", "servers": ["a1"]}),
        ({"servers": ["b2", "a1", "b2"]}, {"backend": "web", "servers": ["b2", "a1"]}),
        (False, None),
    ],
)
def test_haproxy_normal_form(value, normal):
    assert load_spec({**BASE, "haproxy": value})["haproxy"] == normal


@pytest.mark.parametrize(
    "value,message",
    [
        ("yes", "haproxy: must be true or a mapping"),
        ({"backend": "web servers"}, "haproxy.backend"),
        ({"backend": "web;x"}, "haproxy.backend"),
        ({"servers": ["c3"]}, "'c3' is not a host"),
        ({"servers": []}, "non-empty list"),
        ({"port": 8080}, "unknown field"),
    ],
)
def test_bad_haproxy_values_name_the_key(value, message):
    with pytest.raises(SandboxError, match=message):
        load_spec({**BASE, "haproxy": value})


def test_a_host_named_lb_collides_with_the_balancer_minion():
    spec = {**BASE, "hosts": {**BASE["hosts"], "lb": {}}, "haproxy": True}
    with pytest.raises(SandboxError, match=r"hosts\.lb"):
        load_spec(spec)


def test_lb_address_may_not_be_the_client_address():
    with pytest.raises(SandboxError, match="client"):
        load_spec({**BASE, "lb": "198.51.100.3"})
