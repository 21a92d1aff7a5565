"""
_states/lbhaproxy.py over a fake lbhaproxy execution module.
"""

import pytest
from salt.exceptions import CommandExecutionError, SaltInvocationError

from tests.support.fake_dunders import Recorder, load


class FakeBalancer:
    """lbhaproxy.drain/ready over {server: status}; records the real (non-test) calls."""

    def __init__(self, error=None, stuck=(), **servers):
        self.servers, self.error, self.stuck = dict(servers), error, set(stuck)
        self.applied = []

    def _answer(self, hosts, changed, after, test):
        if self.error:
            raise self.error
        mapping = {hosts: hosts} if isinstance(hosts, str) else hosts
        if isinstance(mapping, list):
            mapping = {h: h for h in mapping}
        per_host = {}
        for minion, server in mapping.items():
            before = self.servers[server]
            moved = changed(before)
            if moved and not test:
                self.servers[server] = "DRAIN" if server in self.stuck else after
            ok = test or self.servers[server] != "DRAIN"
            reason = f"{server} {'would change' if test else self.servers[server]}"
            per_host[minion] = {"ok": ok, "changed": moved, "reason": reason, "status": self.servers[server]}
        if not test:
            self.applied.append(sorted(mapping))
        return {"backend": "web", "ok": all(e["ok"] for e in per_host.values()), "hosts": per_host}

    def drain(self, backend, hosts, timeout=30, test=False):
        return self._answer(hosts, lambda status: status != "MAINT", "MAINT", test)

    def ready(self, backend, hosts, test=False):
        return self._answer(hosts, lambda status: status in ("MAINT", "DRAIN"), "UP", test)

    def salt(self):
        return {"lbhaproxy.drain": self.drain, "lbhaproxy.ready": self.ready}


def state(balancer, test=False):
    return load("_states/lbhaproxy.py", salt=balancer.salt(), opts={"test": test})


def test_drained_test_mode_previews_and_applies_nothing():
    balancer = FakeBalancer(web1="UP", web2="MAINT")
    ret = state(balancer, test=True).drained("pool", backend="web", hosts=["web1", "web2"])
    assert (ret["result"], ret["changes"]) == (None, {"web1": {"old": "UP", "new": "MAINT"}})
    assert ret["comment"] == "web1 would change; web2 would change"
    assert balancer.applied == []


def test_drained_applies_and_reports_the_changed_hosts_then_is_idempotent():
    balancer = FakeBalancer(web1="UP", web2="MAINT")
    ret = state(balancer).drained("pool", backend="web", hosts={"a": "web1", "b": "web2"})
    assert (ret["result"], ret["changes"]) == (True, {"a": {"old": "UP", "new": "MAINT"}})
    assert balancer.applied == [["a", "b"]]
    again = state(balancer).drained("pool", backend="web", hosts={"a": "web1", "b": "web2"})
    assert (again["result"], again["changes"], balancer.applied) == (True, {}, [["a", "b"]])


def test_drained_takes_the_name_as_the_host_and_fails_when_sessions_are_left():
    balancer = FakeBalancer(stuck=["web1"], web1="UP")
    ret = state(balancer).drained("web1", backend="web")
    assert (ret["result"], ret["changes"]) == (False, {"web1": {"old": "UP", "new": "DRAIN"}})


@pytest.mark.parametrize("test", [True, False])
def test_ready_when_already_ready_is_true_without_changes(test):
    balancer = FakeBalancer(web1="UP")
    ret = state(balancer, test=test).ready("web1", backend="web")
    assert (ret["result"], ret["changes"], balancer.applied) == (True, {}, [])


def test_ready_test_mode_then_real():
    balancer = FakeBalancer(web1="MAINT")
    preview = state(balancer, test=True).ready("web1", backend="web")
    assert (preview["result"], preview["changes"]) == (None, {"web1": {"old": "MAINT", "new": "ready"}})
    ret = state(balancer).ready("web1", backend="web")
    assert (ret["result"], ret["changes"]) == (True, {"web1": {"old": "MAINT", "new": "UP"}})


@pytest.mark.parametrize(
    "error", [SaltInvocationError("lbhaproxy: HAProxy has no backend 'nope'"), CommandExecutionError("refused")]
)
def test_salt_exceptions_fail_the_state(error):
    ret = state(FakeBalancer(error=error, web1="UP")).drained("web1", backend="nope")
    assert (ret["result"], ret["changes"], ret["comment"]) == (False, {}, str(error))


def test_virtual_needs_the_module():
    assert state(FakeBalancer()).__virtual__() == "lbhaproxy"
    module = load("_states/lbhaproxy.py", salt={"test.ping": Recorder(True)})
    assert module.__virtual__()[0] is False
