"""The runner is thin: it passes arguments to the engine and sets retcode in __context__ and the return."""

import pytest

from tests.support import engine_calls
from tests.support.fake_dunders import load
from tests.support.fake_fleet import default_fleet
from tests.support.sites import copy_site


@pytest.fixture
def runner(tmp_path, monkeypatch):
    mod = load(
        "_runners/scenario.py", opts={"cachedir": str(tmp_path / "cache"), "scenario_lb_address": "198.51.100.10"}
    )
    site = copy_site(tmp_path / "site")
    fleet = default_fleet()
    progress = []

    class JidEvent:
        def fire_event(self, data, tag):
            progress.append((tag, data))

    engine_calls.fake_salt(monkeypatch, site, fleet)
    mod.__jid_event__ = JidEvent()
    mod.fleet, mod.progress, mod.site = fleet, progress, site
    return mod


def test_virtual_name(runner):
    assert runner.__virtual__() == "scenario"
    assert runner.__func_alias__ == {"list_": "list"}


def test_run_sets_retcode_both_ways_and_streams_progress(runner):
    ret = runner.run("update_website")
    assert ret["retcode"] == 0 and runner.__context__["retcode"] == 0
    assert ret["outputter"] == "scenario"
    assert len(runner.progress) == 15
    assert all(tag == "progress" and data["outputter"] == "scenario" for tag, data in runner.progress)
    assert "I block the load balancer" in runner.progress[5][1]["message"]


def test_failures_and_errors_set_nonzero_retcode(runner):
    (runner.site / "features" / "broken.feature").write_text("Feature: B\n  Scenario: S\n    When I dance\n")
    ret = runner.validate("broken")
    assert ret["retcode"] == 2 and runner.__context__["retcode"] == 2
    assert "features/broken.feature:3" in ret["error"]
    assert runner.run("../../etc/passwd")["retcode"] == 2
    runner.fleet.dead.add("web2")
    assert runner.run("update_website")["retcode"] == 3 and runner.__context__["retcode"] == 3


def test_plan_list_steps(runner):
    ret = runner.plan("update_website")
    assert ret["retcode"] == 0 and ret["pinned"] == ["web1", "web2", "web3"] and runner.fleet.calls == []
    assert runner.run("update_website", test=True)["result"] == "plan" and runner.fleet.calls == []
    assert "update_website" in runner.list_()["features"]
    assert any(s["pattern"] == "the file {path} should exist" for s in runner.steps()["steps"])


def test_every_public_function_has_cli_example(runner):
    for name in ("run", "plan", "validate", "list_", "steps"):
        assert "CLI Example:" in getattr(runner, name).__doc__


def _printed_by(opts):
    """A job event like salt-run's: its print function belongs to a salt.runner.Runner with `opts`."""
    import salt.runner

    cli = object.__new__(salt.runner.Runner)  # no master needed: only its opts are read
    cli.opts = opts
    printed = []

    class JidEvent:
        print_func = cli.print_async_event

        def fire_event(self, data, tag):
            printed.append(data["message"])

    return JidEvent(), printed


def test_run_marks_the_return_streamed_only_when_salt_run_printed_the_progress(runner):
    runner.__jid_event__, printed = _printed_by({})
    ret = runner.run("update_website")
    assert ret["retcode"] == 0 and ret["streamed"] is True and len(printed) == 15
    for opts in ({"output": "json"}, {"output": "yaml"}, {"quiet": True}, {"async": True}):
        runner.__jid_event__, _printed = _printed_by(opts)
        assert "streamed" not in runner.run("update_website"), opts
    runner.__jid_event__, _printed = _printed_by({"output": "scenario"})
    assert runner.run("update_website")["streamed"] is True
    runner.__jid_event__ = type("MasterSide", (), {"print_func": None, "fire_event": lambda self, d, t: None})()
    assert "streamed" not in runner.run("update_website")  # -a, salt-api, orchestrate: nobody saw the lines
    del runner.__jid_event__
    assert "streamed" not in runner.run("update_website")  # from Python, no job event at all
    runner.__jid_event__, _printed = _printed_by({})
    assert "streamed" not in runner.run("../../etc/passwd")  # an error prints no step
