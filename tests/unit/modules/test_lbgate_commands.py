"""
The argv lists lbgate builds, against fake iptables/nft that keep a ruleset.
"""

import json

import pytest
import salt.utils.path
from salt.exceptions import CommandExecutionError

from tests.support.fake_dunders import load
from tests.support.fake_firewalls import FailingCommand, FakeIptables, FakeNft

IPT = ["iptables", "-w", "5"]
IP6T = ["ip6tables", "-w", "5"]
NFT_LIST = ["nft", "-j", "list", "ruleset", "inet"]
NFT_APPLY = ["nft", "-j", "-f", "-"]


@pytest.fixture
def present(monkeypatch):
    """The set of commands `which` finds; tests remove some to hide them."""
    tools = {"iptables", "ip6tables", "nft"}
    monkeypatch.setattr(salt.utils.path, "which", lambda name: f"/usr/sbin/{name}" if name in tools else None)
    return tools


def make(run, config=None):
    settings = dict(config or {})
    return load(
        "_modules/lbgate.py",
        salt={"cmd.run_all": run, "config.get": lambda key, default=None: settings.get(key, default)},
    )


def test_every_command_is_an_argv_list_without_shell(present):
    run = FakeIptables()
    module = make(run)
    module.block("198.51.100.10")
    module.unblock("198.51.100.10")
    nft = FakeNft()
    make(nft, {"lbgate.backend": "nftables"}).block("2001:db8::10")
    for argv, kwargs in run.calls + nft.calls:
        assert isinstance(argv, list) and all(isinstance(arg, str) for arg in argv)
        assert kwargs["python_shell"] is False
        assert kwargs["ignore_retcode"] is True


def test_iptables_block_on_empty_ruleset(present):
    run = FakeIptables()
    ret = make(run).block("198.51.100.10")
    assert run.argvs == [
        [*IPT, "-S"],
        [*IPT, "-N", "SCENARIO-LB"],
        [*IPT, "-A", "SCENARIO-LB", "-s", "198.51.100.10/32", "-j", "DROP"],
        [*IPT, "-I", "INPUT", "1", "-j", "SCENARIO-LB"],
    ]
    assert ret == {
        "lb": "198.51.100.10",
        "blocked": True,
        "changed": True,
        "backend": "iptables",
        "chain": "SCENARIO-LB",
        "target": "DROP",
        "comment": "198.51.100.10 blocked (DROP) in iptables chain SCENARIO-LB",
    }


def test_iptables_second_block_only_reads(present):
    run = FakeIptables()
    module = make(run)
    module.block("198.51.100.10")
    del run.calls[:]
    ret = module.block("198.51.100.10")
    assert run.argvs == [[*IPT, "-S"]]
    assert ret["changed"] is False


def test_iptables_second_address_reuses_chain_and_jump(present):
    run = FakeIptables()
    module = make(run)
    module.block("198.51.100.10")
    del run.calls[:]
    module.block("198.51.100.0/28", target="REJECT")
    assert run.argvs == [[*IPT, "-S"], [*IPT, "-A", "SCENARIO-LB", "-s", "198.51.100.0/28", "-j", "REJECT"]]


def test_ipv6_goes_to_ip6tables(present):
    run = FakeIptables()
    make(run).block("2001:db8::10")
    assert {argv[0] for argv in run.argvs} == {"ip6tables"}
    assert [*IP6T, "-A", "SCENARIO-LB", "-s", "2001:db8::10/128", "-j", "DROP"] in run.argvs


def test_iptables_unblock_deletes_the_printed_rule(present):
    run = FakeIptables()
    module = make(run)
    module.block("198.51.100.10", target="REJECT")
    del run.calls[:]
    ret = module.unblock("198.51.100.10")
    assert run.argvs == [
        [*IPT, "-S"],
        [*IPT, "-D", "SCENARIO-LB", "-s", "198.51.100.10/32", "-j", "REJECT", "--reject-with", "icmp-port-unreachable"],
    ]
    assert (ret["changed"], ret["blocked"], ret["target"]) == (True, False, "REJECT")
    assert run.tables["iptables"]["SCENARIO-LB"] == []
    # The jump stays: the chain is ours and empty.
    assert run.tables["iptables"]["INPUT"] == [["-j", "SCENARIO-LB"]]


def test_iptables_target_swap_adds_before_deleting(present):
    run = FakeIptables()
    module = make(run)
    module.block("198.51.100.10")
    del run.calls[:]
    module.block("198.51.100.10", target="REJECT")
    assert run.argvs[1:] == [
        [*IPT, "-A", "SCENARIO-LB", "-s", "198.51.100.10/32", "-j", "REJECT"],
        [*IPT, "-D", "SCENARIO-LB", "-s", "198.51.100.10/32", "-j", "DROP"],
    ]


def test_iptables_duplicates_collapse_to_one_rule(present):
    run = FakeIptables()
    module = make(run)
    module.block("198.51.100.10")
    run.tables["iptables"]["SCENARIO-LB"].append(["-s", "198.51.100.10/32", "-j", "DROP"])
    assert module.block("198.51.100.10")["changed"] is True
    assert run.tables["iptables"]["SCENARIO-LB"] == [["-s", "198.51.100.10/32", "-j", "DROP"]]


def test_iptables_other_rules_never_named(present):
    run = FakeIptables()
    run.tables["iptables"]["INPUT"] = [["-s", "198.51.100.99/32", "-j", "ACCEPT"]]
    module = make(run)
    module.block("198.51.100.10")
    module.unblock("198.51.100.10")
    written = [argv for argv in run.argvs if argv[3] != "-S"]
    assert all("SCENARIO-LB" in argv for argv in written)
    assert not any(argv[3] == "-D" and argv[4] == "INPUT" for argv in written)
    assert run.tables["iptables"]["INPUT"][1:] == [["-s", "198.51.100.99/32", "-j", "ACCEPT"]]


def test_test_mode_only_reads(present):
    run = FakeIptables()
    ret = make(run).block("198.51.100.10", test=True)
    assert run.argvs == [[*IPT, "-S"]]
    assert (ret["changed"], ret["blocked"]) == (True, True)
    assert ret["comment"].startswith("198.51.100.10 would be blocked")


def test_nft_block_is_one_json_batch(present):
    nft = FakeNft()
    ret = make(nft, {"lbgate.backend": "nftables"}).block("198.51.100.0/24", target="REJECT")
    assert nft.argvs == [NFT_LIST, NFT_APPLY]
    batch = json.loads(nft.calls[1][1]["stdin"])["nftables"]
    assert batch == [
        {"add": {"table": {"family": "inet", "name": "scenario_lb"}}},
        {
            "add": {
                "chain": {
                    "family": "inet",
                    "table": "scenario_lb",
                    "name": "SCENARIO-LB",
                    "type": "filter",
                    "hook": "input",
                    "prio": 0,
                    "policy": "accept",
                }
            }
        },
        {
            "add": {
                "rule": {
                    "family": "inet",
                    "table": "scenario_lb",
                    "chain": "SCENARIO-LB",
                    "expr": [
                        {
                            "match": {
                                "op": "==",
                                "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                                "right": {"prefix": {"addr": "198.51.100.0", "len": 24}},
                            }
                        },
                        {"reject": None},
                    ],
                }
            }
        },
    ]
    assert (ret["backend"], ret["changed"], ret["lb"]) == ("nftables", True, "198.51.100.0/24")


def test_nft_idempotent_and_unblock_by_handle(present):
    nft = FakeNft()
    module = make(nft, {"lbgate.backend": "nftables", "lbgate.table": "lbt", "lbgate.chain": "gate"})
    changed = [module.block("2001:db8::10")["changed"], module.block("2001:db8::10")["changed"]]
    assert module.is_blocked("2001:db8::10")["blocked"] is True
    rule = next(item["rule"] for item in nft.items if "rule" in item)
    assert rule["expr"][0]["match"]["left"]["payload"]["protocol"] == "ip6"
    assert rule["expr"][0]["match"]["right"] == "2001:db8::10"
    del nft.calls[:]
    changed += [module.unblock("2001:db8::10")["changed"], module.unblock("2001:db8::10")["changed"]]
    assert changed == [True, False, True, False]
    assert json.loads(nft.calls[1][1]["stdin"]) == {
        "nftables": [
            {"delete": {"rule": {"family": "inet", "table": "lbt", "chain": "gate", "handle": rule["handle"]}}}
        ]
    }
    assert nft.argvs == [NFT_LIST, NFT_APPLY, NFT_LIST]


def test_nft_regular_chain_of_that_name_is_an_error(present):
    nft = FakeNft()
    nft.items = [
        {"table": {"family": "inet", "name": "scenario_lb", "handle": 1}},
        {"chain": {"family": "inet", "table": "scenario_lb", "name": "SCENARIO-LB", "handle": 2}},
    ]
    module = make(nft, {"lbgate.backend": "nftables"})
    with pytest.raises(CommandExecutionError, match="not a base chain"):
        module.block("198.51.100.10")
    assert nft.argvs == [NFT_LIST]


def test_failed_command_raises_with_stderr(present):
    run = FailingCommand("Another app is currently holding the xtables lock.")
    with pytest.raises(CommandExecutionError, match="holding the xtables lock") as err:
        make(run).block("198.51.100.10")
    assert "iptables -w 5 -S" in str(err.value)


def test_auto_prefers_iptables_then_nft(present):
    assert make(FakeIptables()).is_blocked("198.51.100.10")["backend"] == "iptables"
    present.discard("iptables")
    assert make(FakeNft()).is_blocked("198.51.100.10")["backend"] == "nftables"


def test_configured_backend_missing_is_an_error(present):
    present.discard("nft")
    nft = FakeNft()
    with pytest.raises(CommandExecutionError, match="nft is not installed"):
        make(nft, {"lbgate.backend": "nftables"}).block("198.51.100.10")
    assert nft.calls == []


def test_virtual(present):
    module = make(FakeIptables())
    assert module.__virtual__() == "lbgate"
    present.clear()
    ok, why = module.__virtual__()
    assert ok is False and "iptables" in why and "nft" in why


def test_verify_blocked_retcode(present):
    module = make(FakeIptables())
    ret = module.verify_blocked("198.51.100.10")
    assert (ret["ok"], ret["expected"], ret["blocked"]) == (False, True, False)
    assert module.__context__["retcode"] == 1
    assert module.verify_blocked("198.51.100.10", expected=False)["ok"] is True
    assert module.__context__["retcode"] == 0
    # A query leaves the retcode alone, blocked or not.
    module.__context__.clear()
    module.is_blocked("198.51.100.10")
    assert "retcode" not in module.__context__


def test_status_lists_both_families(present):
    run = FakeIptables()
    module = make(run)
    module.block("198.51.100.10", target="REJECT")
    module.block("2001:db8::/64")
    run_all = run.answer

    def answer(argv, kwargs):
        if argv == ["iptables", "-V"]:
            return {"retcode": 0, "stdout": "iptables v1.8.9 (legacy)", "stderr": ""}
        return run_all(argv, kwargs)

    run.answer = answer
    status = module.status()
    assert status == {
        "backend": "iptables",
        "flavour": "legacy",
        "chain": "SCENARIO-LB",
        "hooked": {"ipv4": True, "ipv6": True},
        "blocked": ["198.51.100.10", "2001:db8::/64"],
        "drained": [],
        "rules": [
            {"lb": "198.51.100.10", "target": "REJECT", "active": True, "mode": "block"},
            {"lb": "2001:db8::/64", "target": "DROP", "active": True, "mode": "block"},
        ],
    }


def test_iptables_refuse_new_adds_two_new_connection_rules_then_a_block_replaces_them(present):
    run = FakeIptables()
    module = make(run)
    ret = module.refuse_new("198.51.100.10")
    new = ["-m", "conntrack", "--ctstate", "NEW", "-j", "DROP"]
    assert [*IPT, "-A", "SCENARIO-LB", "-s", "198.51.100.10/32", "-p", "tcp", "--syn", *new] in run.argvs
    assert [*IPT, "-A", "SCENARIO-LB", "-s", "198.51.100.10/32", "!", "-p", "tcp", *new] in run.argvs
    assert (ret["changed"], ret["drained"], ret["blocked"]) == (True, True, False)
    assert ret["comment"] == "198.51.100.10 drained (new connections refused) (DROP) in iptables chain SCENARIO-LB"
    assert module.refuse_new("198.51.100.10")["changed"] is False
    assert module.is_blocked("198.51.100.10")["state"] == "drained"
    assert module.block("198.51.100.10")["changed"] is True
    assert run.tables["iptables"]["SCENARIO-LB"] == [["-s", "198.51.100.10/32", "-j", "DROP"]]
    module.unblock("198.51.100.10")
    assert run.tables["iptables"]["SCENARIO-LB"] == []


def test_nft_refuse_new_matches_only_new_connections(present):
    nft = FakeNft()
    module = make(nft, {"lbgate.backend": "nftables"})
    module.refuse_new("2001:db8::10", target="REJECT")
    rules = [item["rule"]["expr"] for item in nft.items if "rule" in item]
    assert len(rules) == 2
    for expr in rules:
        assert {"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": "new"}} in expr
        assert expr[-1] == {"reject": None}
    assert module.is_blocked("2001:db8::10")["state"] == "drained"
