"""
lbgate.blocked / lbgate.unblocked through state.single, inside a network namespace.
"""

import pytest

from tests.support.firewall_view import full_ruleset, rule_lines

LB = "198.51.100.10"


def test_blocked_test_mode_changes_nothing(minion, gate_ns):
    before = full_ruleset(gate_ns)
    ret = minion.state("lbgate.blocked", name="lb gate", lb=LB, test=True)
    assert ret["result"] is None
    assert "would be blocked" in ret["comment"]
    assert ret["changes"] == {"blocked": {"old": False, "new": True}}
    assert full_ruleset(gate_ns) == before


def test_blocked_then_unblocked(minion, gate_ns, backend):
    ret = minion.state("lbgate.blocked", name=LB)
    assert (ret["result"], ret["changes"]) == (True, {"blocked": {"old": False, "new": True}})
    assert len(rule_lines(gate_ns, backend, 4)) == 1

    again = minion.state("lbgate.blocked", name=LB)
    assert (again["result"], again["changes"]) == (True, {})
    assert "already blocked" in again["comment"]

    before = full_ruleset(gate_ns)
    preview = minion.state("lbgate.unblocked", name=LB, test=True)
    assert (preview["result"], preview["changes"]) == (None, {"blocked": {"old": True, "new": False}})
    assert full_ruleset(gate_ns) == before

    done = minion.state("lbgate.unblocked", name=LB)
    assert (done["result"], done["changes"]) == (True, {"blocked": {"old": True, "new": False}})
    assert rule_lines(gate_ns, backend, 4) == []

    clean = minion.state("lbgate.unblocked", name=LB, test=True)
    assert (clean["result"], clean["changes"]) == (True, {})


def test_target_change_reported(minion):
    minion.state("lbgate.blocked", name=LB)
    ret = minion.state("lbgate.blocked", name=LB, target="REJECT")
    assert (ret["result"], ret["changes"]) == (True, {"target": {"old": "DROP", "new": "REJECT"}})


@pytest.mark.parametrize("bad", ["0.0.0.0/0", "$(id)"])
def test_bad_input_fails_the_state(minion, gate_ns, bad):
    before = full_ruleset(gate_ns)
    ret = minion.state("lbgate.blocked", name="gate", lb=bad)
    assert ret["result"] is False
    assert ret["changes"] == {}
    assert repr(bad) in ret["comment"]
    assert full_ruleset(gate_ns) == before
