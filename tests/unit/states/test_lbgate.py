"""
_states/lbgate.py over a fake lbgate execution module.
"""

import pytest
from salt.exceptions import CommandExecutionError, SaltInvocationError

from tests.support.fake_dunders import Recorder, load


class FakeGate:
    """lbgate.* answering from one blocked/target pair, recording real (non-test) calls."""

    def __init__(self, blocked=False, target=None, error=None):
        self.blocked, self.target, self.error = blocked, target, error
        self.applied = []

    def is_blocked(self, lb, chain=None):
        if self.error:
            raise self.error
        return {"lb": lb, "blocked": self.blocked, "target": self.target, "backend": "iptables", "chain": "C"}

    def block(self, lb, target=None, chain=None, test=False):
        target = target or "DROP"
        changed = not (self.blocked and self.target == target)
        if not test and changed:
            self.applied.append(("block", lb, target))
            self.blocked, self.target = True, target
        verb = "would be blocked" if test else "blocked"
        comment = f"{lb} {verb}" if changed else f"{lb} is already blocked"
        return {"lb": lb, "blocked": True, "changed": changed, "target": target, "comment": comment}

    def unblock(self, lb, chain=None, test=False):
        changed = self.blocked
        if not test and changed:
            self.applied.append(("unblock", lb))
            self.blocked = False
        return {"lb": lb, "blocked": False, "changed": changed, "target": self.target, "comment": "unblock"}

    def salt(self):
        return {"lbgate.is_blocked": self.is_blocked, "lbgate.block": self.block, "lbgate.unblock": self.unblock}


def state(gate, test=False):
    return load("_states/lbgate.py", salt=gate.salt(), opts={"test": test})


def test_blocked_test_mode_previews_and_applies_nothing():
    gate = FakeGate()
    ret = state(gate, test=True).blocked("198.51.100.10")
    assert ret == {
        "name": "198.51.100.10",
        "result": None,
        "changes": {"blocked": {"old": False, "new": True}},
        "comment": "198.51.100.10 would be blocked",
    }
    assert gate.applied == []


def test_blocked_applies_with_lb_argument():
    gate = FakeGate()
    ret = state(gate).blocked("gate", lb="198.51.100.10", target="REJECT")
    assert (ret["result"], ret["changes"]) == (True, {"blocked": {"old": False, "new": True}})
    assert gate.applied == [("block", "198.51.100.10", "REJECT")]


@pytest.mark.parametrize("test", [True, False])
def test_already_blocked_is_true_without_changes(test):
    gate = FakeGate(blocked=True, target="DROP")
    ret = state(gate, test=test).blocked("198.51.100.10")
    assert (ret["result"], ret["changes"]) == (True, {})
    assert gate.applied == []


def test_target_change():
    gate = FakeGate(blocked=True, target="DROP")
    ret = state(gate).blocked("198.51.100.10", target="REJECT")
    assert ret["changes"] == {"target": {"old": "DROP", "new": "REJECT"}}


def test_unblocked():
    gate = FakeGate(blocked=True, target="DROP")
    preview = state(gate, test=True).unblocked("198.51.100.10")
    assert (preview["result"], gate.applied) == (None, [])
    ret = state(gate).unblocked("198.51.100.10")
    assert (ret["result"], ret["changes"]) == (True, {"blocked": {"old": True, "new": False}})
    assert state(gate).unblocked("198.51.100.10")["changes"] == {}


@pytest.mark.parametrize("error", [SaltInvocationError("lbgate: '$(id)' is bad"), CommandExecutionError("lock")])
def test_salt_exceptions_fail_the_state(error):
    ret = state(FakeGate(error=error)).blocked("$(id)")
    assert (ret["result"], ret["changes"], ret["comment"]) == (False, {}, str(error))


def test_virtual_needs_the_module():
    assert state(FakeGate()).__virtual__() == "lbgate"
    module = load("_states/lbgate.py", salt={"test.ping": Recorder(True)})
    assert module.__virtual__()[0] is False
