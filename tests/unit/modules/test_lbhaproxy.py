"""
lbhaproxy over a fake HAProxy runtime API: bad input is refused before the socket is opened,
test=True sends no command, and each host reports whether it changed.
(tests/functional/test_lbhaproxy.py runs it against a real HAProxy.)
"""

import socket

import pytest
from salt.exceptions import CommandExecutionError, SaltInvocationError

from tests.support.fake_dunders import load

SOCK = "/run/test/admin.sock"
HEADER = "# pxname,svname,scur,status,check_status"


class FakeRuntimeApi:
    """Backend ``web`` with servers in the given statuses; records every command but show stat."""

    STATES = {"drain": "DRAIN", "maint": "MAINT", "ready": "UP"}

    def __init__(self, **servers):
        self.servers = {name: {"status": status, "scur": 0} for name, status in servers.items()}
        self.sent = []

    def __call__(self, path, command):
        assert path == SOCK
        if command == "show stat":
            rows = [f"web,{name},{s['scur']},{s['status']},L7OK" for name, s in self.servers.items()]
            return "\n".join([HEADER, *rows, "web,BACKEND,0,UP,", "fe,FRONTEND,0,OPEN,"]) + "\n"
        self.sent.append(command)
        _set, _server, target, _state, state = command.split()
        self.servers[target.split("/")[1]]["status"] = self.STATES[state]
        return "\n"


def make(api=None, socket_path=SOCK):
    module = load("_modules/lbhaproxy.py", opts={"lbgate.haproxy_socket": socket_path})
    if api is not None:
        module._exchange = api
    return module


@pytest.fixture
def no_socket(monkeypatch):
    monkeypatch.setattr(socket, "socket", lambda *a, **k: pytest.fail("a socket was opened"))


@pytest.mark.parametrize(
    "backend,hosts,kwargs,message",
    [
        ("web servers", ["web1"], {}, "backend name"),
        ("web;show info", ["web1"], {}, "backend name"),
        ("web\n", ["web1"], {}, "backend name"),
        ("", ["web1"], {}, "backend name"),
        ("web", ["web1;disable server web/web2"], {}, "server name"),
        ("web", {"web1": "web 1"}, {}, "server name"),
        ("web", {"web1": "x" * 65}, {}, "server name"),
        ("web", {"web 1": "web1"}, {}, "minion id"),
        ("web", [], {}, "non-empty"),
        ("web", {"a": "web1", "b": "web1"}, {}, "named for two hosts"),
        ("web", ["web1"], {"socket": "/tmp/other.sock"}, "not the runtime socket"),
    ],
)
@pytest.mark.parametrize("fun", ["drain", "ready", "verify_up"])
def test_bad_input_refused_before_the_socket_is_opened(no_socket, fun, backend, hosts, kwargs, message):
    with pytest.raises(SaltInvocationError, match=message):
        getattr(make(), fun)(backend, hosts, **kwargs)


def test_socket_config_must_be_an_absolute_path(no_socket):
    with pytest.raises(SaltInvocationError, match=r"lbgate\.haproxy_socket"):
        make(socket_path="admin.sock").servers("web")


@pytest.mark.parametrize("kwargs", [{"timeout": -1}, {"timeout": 3601}, {"timeout": "30"}, {"test": "yes"}])
def test_bad_drain_arguments_refused_before_the_socket_is_opened(no_socket, kwargs):
    with pytest.raises(SaltInvocationError, match=next(iter(kwargs))):
        make().drain("web", ["web1"], **kwargs)


def test_unknown_backend_or_server_is_refused_with_nothing_sent():
    api = FakeRuntimeApi(web1="UP")
    with pytest.raises(SaltInvocationError, match="no backend 'nope'; backends: web"):
        make(api).drain("nope", ["web1"])
    with pytest.raises(SaltInvocationError, match="no server web3; servers: web1"):
        make(api).ready("web", ["web1", "web3"])
    assert api.sent == []


def test_drain_test_mode_sends_nothing_and_says_what_would_change():
    api = FakeRuntimeApi(web1="UP", web2="MAINT")
    module = make(api)
    ret = module.drain("web", {"a": "web1", "b": "web2"}, test=True)
    assert api.sent == [] and module.__context__["retcode"] == 0
    assert (ret["ok"], ret["changed"]) == (True, True)
    assert ret["hosts"]["a"]["changed"] is True and "web1 would be drained" in ret["hosts"]["a"]["reason"]
    assert ret["hosts"]["b"]["changed"] is False and ret["hosts"]["b"]["reason"] == "web2 is already in maint"
    assert not any(entry["out_of_rotation"] for entry in ret["hosts"].values())


def test_drain_sets_drain_then_maint_and_leaves_a_server_in_maint_alone():
    api = FakeRuntimeApi(web1="UP", web2="MAINT")
    ret = make(api).drain("web", ["web1", "web2"], timeout=1)
    assert api.sent == ["set server web/web1 state drain", "set server web/web1 state maint"]
    assert ret["ok"] is True and [ret["hosts"][h]["changed"] for h in ("web1", "web2")] == [True, False]
    assert all(entry["status"] == "MAINT" and entry["out_of_rotation"] for entry in ret["hosts"].values())


def test_drain_with_sessions_left_at_the_timeout_fails_in_drain():
    api = FakeRuntimeApi(web1="UP")
    api.servers["web1"]["scur"] = 2
    module = make(api)
    ret = module.drain("web", ["web1"], timeout=0)
    assert api.sent == ["set server web/web1 state drain"]
    assert ret["ok"] is False and module.__context__["retcode"] == 1
    assert ret["hosts"]["web1"]["reason"].startswith("web1 still has 2 session(s)")


def test_ready_test_mode_and_real_report_which_hosts_change():
    api = FakeRuntimeApi(web1="MAINT", web2="UP")
    module = make(api)
    preview = module.ready("web", ["web1", "web2"], test=True)
    assert api.sent == [] and [preview["hosts"][h]["changed"] for h in ("web1", "web2")] == [True, False]
    ret = module.ready("web", ["web1", "web2"])
    assert api.sent == ["set server web/web1 state ready", "set server web/web2 state ready"]
    assert ret["ok"] is True and ret["changed"] is True and ret["hosts"]["web1"]["status"] == "UP"


def test_verify_up_fails_a_server_in_maint():
    module = make(FakeRuntimeApi(web1="UP", web2="MAINT"))
    ret = module.verify_up("web", ["web1", "web2"])
    assert (ret["ok"], ret["hosts"]["web1"]["ok"], ret["hosts"]["web2"]["ok"]) == (False, True, False)
    assert module.__context__["retcode"] == 1


def test_an_error_answer_from_haproxy_is_a_command_error():
    api = FakeRuntimeApi(web1="UP")
    module = make(lambda path, command: api(path, command) if command == "show stat" else "No such server.\n")
    with pytest.raises(CommandExecutionError, match="HAProxy refused set server web/web1 state ready: No such"):
        module.ready("web", ["web1"])
