"""The Sandbox object (sandbox/cluster.py): where it keeps its state, and what it refuses before touching anything."""

import pytest

from saltext.scenario.sandbox import Sandbox, SandboxError


def test_state_dir_default_and_env_override(monkeypatch, tmp_path):
    monkeypatch.delenv("SCENARIO_SANDBOX_ROOT", raising=False)
    assert str(Sandbox("ci").state_dir) == "/run/scenario-sandbox/ci"
    monkeypatch.setenv("SCENARIO_SANDBOX_ROOT", str(tmp_path))
    sandbox = Sandbox("ci")
    assert sandbox.state_dir == tmp_path / "ci"
    assert sandbox.master_conf_dir == tmp_path / "ci" / "m" / "conf"


@pytest.mark.parametrize("name", ["", "a/b", "../x", "x" * 25, "-x", "a b"])
def test_bad_sandbox_names(name):
    with pytest.raises(SandboxError, match="sandbox name"):
        Sandbox(name)


def test_unix_socket_paths_are_checked_before_anything_is_created(tmp_path):
    deep = tmp_path / ("d" * 60)
    sandbox = Sandbox("x" * 24, root=deep)
    with pytest.raises(SandboxError, match="too long for unix sockets"):
        sandbox.up(spec={"repo": {"mywebapp": ["1.0"]}, "hosts": {"h" * 20: {}}})
    assert not deep.exists()


def test_status_of_a_sandbox_that_was_never_up(tmp_path):
    status = Sandbox("never", root=tmp_path).status()
    assert status["exists"] is False and status["up"] is False and status["hosts"] == {}


def test_calls_on_a_sandbox_that_is_not_up(tmp_path):
    sandbox = Sandbox("never", root=tmp_path)
    with pytest.raises(SandboxError, match="is not up"):
        sandbox.probe("web1")
    sandbox.down()  # idempotent, even when there is nothing
    assert not (tmp_path / "never").exists()
    assert tmp_path.is_dir(), "a root dir the sandbox did not create is left alone"
