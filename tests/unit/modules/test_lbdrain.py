"""
lbdrain counts the load balancer's connections (conntrack and ss, faked from fixed text) and
drains through lbgate's real rule code (lbgate.refuse_new over a fake iptables), as the Salt
loader would wire them: lbdrain reaches lbgate only through __salt__.
"""

import pytest
import salt.utils.path
from salt.exceptions import CommandExecutionError, SaltInvocationError

from tests.support.fake_dunders import load
from tests.support.fake_firewalls import FakeIptables

LB = "198.51.100.10"
ESTABLISHED = (
    "tcp 6 431999 ESTABLISHED src=198.51.100.10 dst=198.51.100.11 sport=40000 dport=80 "
    "src=198.51.100.11 dst=198.51.100.10 sport=80 dport=40000 [ASSURED] mark=0 use=1\n"
)


@pytest.fixture
def present(monkeypatch):
    """The set of commands `which` finds; tests remove some to hide them."""
    tools = {"iptables", "ip6tables", "nft", "conntrack", "ss"}
    monkeypatch.setattr(salt.utils.path, "which", lambda name: f"/usr/sbin/{name}" if name in tools else None)
    return tools


class Counters:
    """cmd.run_all: conntrack answers each listing from `conntrack` in turn (the last repeats),
    ss from `ss`; anything else goes to the fake firewall."""

    def __init__(self, firewall, conntrack=("",), ss=""):
        self.firewall = firewall
        self.conntrack = list(conntrack)
        self.ss = ss
        self.calls = []

    def __call__(self, argv, **kwargs):
        self.calls.append((argv, kwargs))
        if argv[0] == "conntrack":
            out = self.conntrack.pop(0) if len(self.conntrack) > 1 else self.conntrack[0]
            return {"retcode": 0, "stdout": out, "stderr": ""}
        if argv[0] == "ss":
            return {"retcode": 0, "stdout": self.ss, "stderr": ""}
        return self.firewall(argv, **kwargs)


def make(run, with_gate=True):
    """(lbdrain, lbgate), sharing one cmd.run_all; lbdrain sees lbgate.refuse_new in __salt__."""
    salt = {"cmd.run_all": run, "config.get": lambda key, default=None: default}
    gate = load("_modules/lbgate.py", salt=salt)
    if with_gate:
        salt["lbgate.refuse_new"] = gate.refuse_new
    drain = load("_modules/lbdrain.py", salt=salt)
    drain._DRAIN_POLL = 0.01  # the wait loop, without the real quarter second per count
    return drain, gate


def test_connections_count_conntrack_flows_and_accepted_sockets_once(present):
    conntrack = ESTABLISHED + (
        "tcp 6 431999 ESTABLISHED src=198.51.100.99 dst=198.51.100.11 sport=40001 dport=80 "
        "src=198.51.100.11 dst=198.51.100.99 sport=80 dport=40001 [ASSURED] mark=0 use=1\n"
    )
    ss = (
        "LISTEN 0 128 *:80 *:*\n"
        "ESTAB 0 0 [::ffff:198.51.100.11]:80 [::ffff:198.51.100.10]:40000\n"  # the conntrack flow again
        "ESTAB 0 0 198.51.100.11:80 198.51.100.10:40002\n"  # idle since before conntrack tracked
        "ESTAB 0 0 198.51.100.11:51000 198.51.100.10:443\n"  # opened by the host: not counted
    )
    run = Counters(FakeIptables(), [conntrack], ss)
    module, _ = make(run)
    assert module.connections(LB) == {"lb": LB, "connections": 2}
    assert "retcode" not in module.__context__
    ret = module.verify_no_connections(LB)
    assert ret == {"lb": LB, "connections": 2, "ok": False} and module.__context__["retcode"] == 1
    assert [argv for argv, _ in run.calls][:2] == [
        ["conntrack", "-L", "-f", "ipv4", "-p", "tcp", "--state", "ESTABLISHED"],
        ["ss", "-H", "-t", "-a", "-n"],
    ]
    for argv, kwargs in run.calls:
        assert isinstance(argv, list) and kwargs == {"python_shell": False, "ignore_retcode": True}


def test_ipv6_counts_through_conntrack_ipv6_and_without_ss(present):
    present.discard("ss")
    run = Counters(FakeIptables())
    module, _ = make(run)
    assert module.verify_no_connections("2001:db8::10") == {"lb": "2001:db8::10", "connections": 0, "ok": True}
    assert module.__context__["retcode"] == 0
    assert [argv for argv, _ in run.calls] == [["conntrack", "-L", "-f", "ipv6", "-p", "tcp", "--state", "ESTABLISHED"]]


def test_drain_refuses_new_connections_through_lbgate_then_waits_until_none_is_left(present):
    firewall = FakeIptables()
    module, gate = make(Counters(firewall, [ESTABLISHED, ESTABLISHED, ""]))
    ret = module.drain(LB, timeout=10)
    assert (ret["ok"], ret["drained"], ret["blocked"], ret["changed"]) == (True, True, False, True)
    assert ret["connections"] == 0
    assert ret["out_of_rotation"] is True and 0 <= ret["waited"] < 10
    assert ret["comment"].startswith(f"{LB} drained (new connections refused) (DROP) in iptables chain SCENARIO-LB")
    assert "; no connection left after" in ret["comment"]
    assert module.__context__["retcode"] == 0
    assert gate.is_blocked(LB)["state"] == "drained"
    assert len(firewall.tables["iptables"]["SCENARIO-LB"]) == 2


def test_drain_at_its_timeout_fails_and_the_host_stays_drained(present):
    module, gate = make(Counters(FakeIptables(), [ESTABLISHED]))
    ret = module.drain(LB, timeout=0.05, target="REJECT")
    assert (ret["ok"], ret["connections"], ret["target"]) == (False, 1, "REJECT")
    assert ret["waited"] >= 0.05 and "1 connection(s) still open after" in ret["comment"]
    assert module.__context__["retcode"] == 1
    assert gate.is_blocked(LB)["state"] == "drained"


def test_drain_test_mode_changes_nothing_and_waits_for_nothing(present):
    firewall = FakeIptables()
    module, gate = make(Counters(firewall, [ESTABLISHED]))
    ret = module.drain(LB, timeout=3600, test=True)
    assert (ret["changed"], ret["connections"], ret["out_of_rotation"]) == (True, 1, False)
    assert ret["comment"].startswith(f"{LB} would be drained")
    assert module.__context__["retcode"] == 0
    assert gate.is_blocked(LB)["state"] == "open"
    assert not any(argv[3] in ("-N", "-A", "-I") for argv in firewall.argvs if argv[0] == "iptables")


def test_drain_without_lbgate_is_an_error_before_any_command(present):
    run = Counters(FakeIptables())
    module, _ = make(run, with_gate=False)
    with pytest.raises(CommandExecutionError, match=r"lbgate\.refuse_new is not available"):
        module.drain(LB)
    assert run.calls == []


def test_virtual_needs_conntrack(present):
    module, _ = make(Counters(FakeIptables()))
    assert module.__virtual__() == "lbdrain"
    present.discard("conntrack")
    ok, why = module.__virtual__()
    assert ok is False and "conntrack" in why


@pytest.mark.parametrize("bad", ["0.0.0.0/0", "::/0", "10.0.0.1 -j ACCEPT", "$(id)", "", "example.com",
                                 "198.51.100.5/24", "fe80::1%eth0", None, 3325256714, ["198.51.100.10"]])  # fmt: skip
@pytest.mark.parametrize("fun", ["drain", "connections", "verify_no_connections"])
def test_bad_address_refused_before_any_command(present, fun, bad):
    run = Counters(FakeIptables())
    module, _ = make(run)
    with pytest.raises(SaltInvocationError) as err:
        getattr(module, fun)(bad)
    assert repr(bad) in str(err.value)
    assert run.calls == []


@pytest.mark.parametrize(
    "kwargs,needle",
    [
        *[({"timeout": bad}, "timeout") for bad in (-1, 3601, "30", None, True, float("nan"))],
        ({"test": "yes"}, "test"),
        ({"target": "ACCEPT"}, "target"),  # lbgate's check, before it reads the ruleset
        ({"chain": "--flush"}, "chain"),
    ],
)
def test_bad_arguments_refused_before_any_command(present, kwargs, needle):
    run = Counters(FakeIptables())
    module, _ = make(run)
    with pytest.raises(SaltInvocationError, match=needle):
        module.drain(LB, **kwargs)
    assert run.calls == []
