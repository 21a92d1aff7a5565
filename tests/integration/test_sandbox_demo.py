"""The demo (`make demo`): real results from every host, and the sandbox always goes away."""

import os

import pytest

from saltext.scenario.sandbox import Sandbox, demo

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


@pytest.fixture
def demo_name(make_sandbox):
    # make_sandbox(up=False) only registers the name, so the module's teardown removes leftovers.
    name = f"d{os.getpid()}"
    make_sandbox(None, name=name, up=False)
    return name


def test_demo_runs_the_main_job_and_takes_the_sandbox_down(demo_name, capfd):
    # capfd: the wrapped salt commands write to the inherited stdout, not to sys.stdout.
    code = demo.main(["--name", demo_name])
    out = capfd.readouterr().out
    assert code == 0, out
    for host, address in (("web1", "198.51.100.11"), ("web4", "198.51.100.14"), ("db1", "198.51.100.15")):
        assert f"  {host:<6} {address:<15} reachable" in out
    if "salt-run scenario.run update_website" in out:
        assert "1 scenario (1 passed)" in out
        assert "  web1   198.51.100.11   reachable  mywebapp 4.2.6-3" in out
    else:
        assert "web4:\n    4.2.5-1" in out
    assert f"taking sandbox {demo_name!r} down" in out
    assert not Sandbox(demo_name).state_dir.exists()


def test_demo_interrupted_mid_job_still_cleans_up(demo_name, monkeypatch, capsys):
    def interrupted(sandbox):
        raise KeyboardInterrupt("Ctrl-C")

    monkeypatch.setattr(demo, "main_job", interrupted)
    assert demo.main(["--name", demo_name]) == 130
    assert "taking sandbox" in capsys.readouterr().out
    assert not Sandbox(demo_name).state_dir.exists()


def test_demo_leaves_a_running_sandbox_of_the_same_name_alone(sandbox, capsys):
    assert demo.main(["--name", sandbox.name]) == 2
    assert "already up" in capsys.readouterr().err
    assert sandbox.status()["master"]["running"] is True
