"""
lbgate against real iptables and nft, each test in a network namespace of its own.
"""

import pytest
from salt.exceptions import SaltInvocationError

from tests.support.firewall_view import full_ruleset, rule_lines, run_in

ADDRESSES = {4: "198.51.100.10", 6: "2001:db8::10"}
BAD_INPUTS = ["0.0.0.0/0", "::/0", "10.0.0.1 -j ACCEPT", "$(id)", "-F", "", "example.com"]


@pytest.mark.parametrize("version", [4, 6])
def test_block_twice_unblock_twice(minion, gate_ns, backend, version):
    lb = ADDRESSES[version]
    seen = []
    for fun in ("lbgate.block", "lbgate.block", "lbgate.unblock", "lbgate.unblock"):
        ret = minion.call(fun, lb)
        blocked = minion.call("lbgate.is_blocked", lb)["blocked"]
        seen.append((ret["changed"], ret["blocked"], blocked, len(rule_lines(gate_ns, backend, version))))
    assert seen == [
        (True, True, True, 1),
        (False, True, True, 1),
        (True, False, False, 0),
        (False, False, False, 0),
    ]
    assert ret["backend"] == backend
    assert ret["lb"] == lb


def test_network_blocked_in_canonical_form(minion, gate_ns, backend):
    ret = minion.call("lbgate.block", "2001:DB8:0:0::/64")
    assert ret["lb"] == "2001:db8::/64"
    assert minion.call("lbgate.is_blocked", "2001:db8::/64")["blocked"] is True
    # A network and an address inside it are different rules.
    assert minion.call("lbgate.is_blocked", "2001:db8::10")["blocked"] is False
    assert len(rule_lines(gate_ns, backend, 6)) == 1


def test_bad_input_raises_and_changes_nothing(minion, gate_ns):
    minion.call("lbgate.block", ADDRESSES[4])
    before = full_ruleset(gate_ns)
    for bad in BAD_INPUTS:
        for fun in ("lbgate.block", "lbgate.unblock", "lbgate.is_blocked"):
            with pytest.raises(SaltInvocationError) as err:
                minion.call(fun, bad)
            assert repr(bad) in str(err.value)
    assert full_ruleset(gate_ns) == before


def test_bad_target_and_chain_refused(minion, gate_ns):
    before = full_ruleset(gate_ns)
    with pytest.raises(SaltInvocationError, match="ACCEPT"):
        minion.call("lbgate.block", ADDRESSES[4], target="ACCEPT")
    with pytest.raises(SaltInvocationError, match="-F"):
        minion.call("lbgate.block", ADDRESSES[4], chain="-F")
    assert full_ruleset(gate_ns) == before


def test_other_rules_survive(minion, gate_ns, backend):
    run_in(
        gate_ns,
        "iptables",
        "-w",
        "5",
        "-A",
        "INPUT",
        "-s",
        "198.51.100.99",
        "-p",
        "tcp",
        "--dport",
        "22",
        "-j",
        "ACCEPT",
    )
    run_in(gate_ns, "ip6tables", "-w", "5", "-A", "INPUT", "-s", "2001:db8::99", "-j", "DROP")
    run_in(gate_ns, "nft", "add", "table", "inet", "other")
    run_in(gate_ns, "nft", "add", "chain", "inet", "other", "keep", "{ type filter hook input priority 10 ; }")
    run_in(gate_ns, "nft", "add", "rule", "inet", "other", "keep", "ip", "saddr", "198.51.100.98", "counter", "accept")
    other_v4 = run_in(gate_ns, "iptables", "-S", "INPUT").stdout.splitlines()
    other_v6 = run_in(gate_ns, "ip6tables", "-S", "INPUT").stdout.splitlines()
    other_nft = run_in(gate_ns, "nft", "list", "table", "inet", "other").stdout

    for lb in (ADDRESSES[4], ADDRESSES[6], "198.51.100.64/26"):
        minion.call("lbgate.block", lb)
        minion.call("lbgate.block", lb)
    jump = "-A INPUT -j SCENARIO-LB"
    if backend == "iptables":
        # The jump goes in once, first, and everything else keeps its order.
        assert run_in(gate_ns, "iptables", "-S", "INPUT").stdout.splitlines() == [other_v4[0], jump, *other_v4[1:]]
        assert run_in(gate_ns, "ip6tables", "-S", "INPUT").stdout.splitlines() == [other_v6[0], jump, *other_v6[1:]]
    for lb in (ADDRESSES[4], ADDRESSES[6], "198.51.100.64/26"):
        minion.call("lbgate.unblock", lb)

    assert [line for line in run_in(gate_ns, "iptables", "-S", "INPUT").stdout.splitlines() if line != jump] == other_v4
    assert [
        line for line in run_in(gate_ns, "ip6tables", "-S", "INPUT").stdout.splitlines() if line != jump
    ] == other_v6
    assert run_in(gate_ns, "nft", "list", "table", "inet", "other").stdout == other_nft


def test_reject_target_and_status(minion, gate_ns, backend):
    minion.call("lbgate.block", ADDRESSES[4], target="REJECT")
    minion.call("lbgate.block", "2001:db8::/64")
    assert minion.call("lbgate.is_blocked", ADDRESSES[4])["target"] == "REJECT"
    lines = rule_lines(gate_ns, backend, 4)
    assert len(lines) == 1
    assert ("REJECT" if backend == "iptables" else "reject") in lines[0]

    status = minion.call("lbgate.status")
    assert status["backend"] == backend
    assert status["chain"] == "SCENARIO-LB"
    assert status["blocked"] == sorted([ADDRESSES[4], "2001:db8::/64"])
    assert {rule["lb"]: rule["target"] for rule in status["rules"]} == {ADDRESSES[4]: "REJECT", "2001:db8::/64": "DROP"}
    assert status["hooked"] == {"ipv4": True, "ipv6": True}
    assert status["flavour"] == ("nf_tables" if backend == "iptables" else None)


def test_target_change_replaces_the_rule(minion, gate_ns, backend):
    assert minion.call("lbgate.block", ADDRESSES[4])["changed"] is True
    ret = minion.call("lbgate.block", ADDRESSES[4], target="REJECT")
    assert (ret["changed"], ret["target"]) == (True, "REJECT")
    assert minion.call("lbgate.block", ADDRESSES[4], target="REJECT")["changed"] is False
    lines = rule_lines(gate_ns, backend, 4)
    assert len(lines) == 1
    assert ("REJECT" if backend == "iptables" else "reject") in lines[0]


def test_dry_run_changes_nothing(minion, gate_ns):
    before = full_ruleset(gate_ns)
    ret = minion.call("lbgate.block", ADDRESSES[4], test=True)
    assert (ret["changed"], ret["blocked"]) == (True, True)
    assert "would be blocked" in ret["comment"]
    assert full_ruleset(gate_ns) == before
    assert minion.call("lbgate.is_blocked", ADDRESSES[4])["blocked"] is False


def test_verify_blocked_retcode_follows_ok(minion):
    ret, retcode = minion.call_full("lbgate.verify_blocked", ADDRESSES[4])
    assert (ret["blocked"], ret["expected"], ret["ok"], retcode) == (False, True, False, 1)
    ret, retcode = minion.call_full("lbgate.verify_blocked", ADDRESSES[4], expected=False)
    assert (ret["ok"], retcode) == (True, 0)
    minion.call("lbgate.block", ADDRESSES[4])
    ret, retcode = minion.call_full("lbgate.verify_blocked", ADDRESSES[4])
    assert (ret["ok"], retcode) == (True, 0)
    # A query never fails the call, blocked or not (cmd.run_all with
    # ignore_retcode leaves 0, so "not set" shows as 0 or None).
    ret, retcode = minion.call_full("lbgate.is_blocked", "198.51.100.77")
    assert (ret["blocked"], bool(retcode)) == (False, False)


def test_config_chain_and_target(netns, netns_minion, backend):
    minion = netns_minion(netns, {"lbgate.backend": backend, "lbgate.chain": "LBT-OWN", "lbgate.target": "REJECT"})
    ret = minion.call("lbgate.block", ADDRESSES[4])
    assert (ret["chain"], ret["target"]) == ("LBT-OWN", "REJECT")
    assert len(rule_lines(netns, backend, 4, chain="LBT-OWN")) == 1
    if backend == "iptables":
        assert rule_lines(netns, backend, 4) == []
    # The per-call chain wins over the config.
    assert minion.call("lbgate.is_blocked", ADDRESSES[4], chain="SCENARIO-LB")["blocked"] is False


def test_unhooked_chain_is_not_blocked(netns, netns_minion):
    # A rule nothing jumps to blocks nothing: is_blocked must say so, block must fix it.
    minion = netns_minion(netns, {"lbgate.backend": "iptables"})
    minion.call("lbgate.block", ADDRESSES[4])
    run_in(netns, "iptables", "-w", "5", "-D", "INPUT", "-j", "SCENARIO-LB")
    assert minion.call("lbgate.is_blocked", ADDRESSES[4])["blocked"] is False
    assert minion.call("lbgate.block", ADDRESSES[4])["changed"] is True
    assert minion.call("lbgate.is_blocked", ADDRESSES[4])["blocked"] is True
    assert len(rule_lines(netns, "iptables", 4)) == 1
