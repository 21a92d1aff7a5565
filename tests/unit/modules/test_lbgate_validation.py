"""
lbgate refuses bad addresses and bad settings before any command runs.
"""

import pytest
import salt.utils.path
from salt.exceptions import SaltInvocationError

from tests.support.fake_dunders import load
from tests.support.fake_firewalls import FakeIptables

BAD_ADDRESSES = [
    "0.0.0.0/0",
    "::/0",
    "10.0.0.1 -j ACCEPT",
    "$(id)",
    "-F",
    "",
    " ",
    "example.com",
    "198.51.100.10\n",
    "198.51.100.10;reboot",
    "198.51.100.5/24",  # host bits set: a typo, not a network
    "198.51.100.0/33",
    "fe80::1%eth0",
    "fe80::1%$(id)",
    "256.1.1.1",
]
NOT_STRINGS = [None, 3325256714, ["198.51.100.10"], b"198.51.100.10"]


@pytest.fixture
def tools(monkeypatch):
    present = {"iptables", "ip6tables", "nft"}
    monkeypatch.setattr(salt.utils.path, "which", lambda name: f"/usr/sbin/{name}" if name in present else None)
    return present


def make(config=None):
    run = FakeIptables()
    settings = dict(config or {})
    module = load(
        "_modules/lbgate.py",
        salt={"cmd.run_all": run, "config.get": lambda key, default=None: settings.get(key, default)},
    )
    return module, run


@pytest.mark.parametrize("bad", BAD_ADDRESSES + NOT_STRINGS)
@pytest.mark.parametrize("fun", ["block", "unblock", "is_blocked", "verify_blocked", "refuse_new"])
def test_bad_address_refused_before_any_command(tools, fun, bad):
    module, run = make()
    with pytest.raises(SaltInvocationError) as err:
        getattr(module, fun)(bad)
    assert repr(bad) in str(err.value)
    assert run.calls == []


@pytest.mark.parametrize(
    "good,canonical",
    [
        ("198.51.100.10", "198.51.100.10"),
        ("198.51.100.10/32", "198.51.100.10"),
        ("198.51.100.0/24", "198.51.100.0/24"),
        ("198.51.100.0/255.255.255.128", "198.51.100.0/25"),
        ("2001:DB8::0010", "2001:db8::10"),
        ("2001:db8::/32", "2001:db8::/32"),
    ],
)
def test_good_address_canonical(tools, good, canonical):
    module, _ = make()
    assert module.is_blocked(good)["lb"] == canonical


@pytest.mark.parametrize(
    "config,needle",
    [
        ({"lbgate.backend": "pf"}, "pf"),
        ({"lbgate.target": "ACCEPT"}, "ACCEPT"),
        ({"lbgate.chain": "-F"}, "-F"),
        ({"lbgate.chain": "A" * 29}, "A" * 29),
        ({"lbgate.chain": "LB; iptables -F"}, "LB; iptables -F"),
        ({"lbgate.chain": "SCENARIO-LB\n"}, "SCENARIO-LB\\n"),
        ({"lbgate.chain": "INPUT"}, "built in"),
        ({"lbgate.chain": "accept"}, "built in"),
        ({"lbgate.backend": "nftables", "lbgate.table": "lb\n"}, "lb\\n"),
        ({"lbgate.backend": "nftables", "lbgate.table": "x y"}, "x y"),
    ],
)
def test_bad_config_refused_before_any_command(tools, config, needle):
    module, run = make(config)
    with pytest.raises(SaltInvocationError) as err:
        module.block("198.51.100.10")
    assert needle in str(err.value)
    assert run.calls == []


@pytest.mark.parametrize("fun", ["block", "refuse_new"])
@pytest.mark.parametrize("kwargs", [{"target": "accept"}, {"chain": "--flush"}, {"test": "yes"}])
def test_bad_arguments_refused_before_any_command(tools, fun, kwargs):
    module, run = make()
    with pytest.raises(SaltInvocationError):
        getattr(module, fun)("198.51.100.10", **kwargs)
    assert run.calls == []


def test_bad_expected_refused(tools):
    module, run = make()
    with pytest.raises(SaltInvocationError, match="expected"):
        module.verify_blocked("198.51.100.10", expected="maybe")
    assert run.calls == []


def test_target_is_case_insensitive(tools):
    module, _ = make({"lbgate.target": "reject"})
    assert module.block("198.51.100.10")["target"] == "REJECT"
