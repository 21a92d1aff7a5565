"""RunRequest: a runner call's arguments checked once, before anything is recorded or contacted."""

import dataclasses

import pytest

from saltext.scenario import config
from saltext.scenario.engine.errors import EXIT_INVALID, InvalidScenario
from saltext.scenario.engine.service import returns
from saltext.scenario.engine.service.request import RunRequest
from tests.support import engine_calls
from tests.support.fake_dunders import load
from tests.support.fake_fleet import default_fleet
from tests.support.paths import REPO
from tests.support.sites import copy_site


def test_the_request_holds_the_checked_arguments():
    request = RunRequest.from_args("update_website", timeout="30", report_dir="/srv/reports/", batch="1,10%")
    assert (request.name, request.timeout, request.report_dir, request.batch) == (
        "update_website",
        30,
        "/srv/reports",
        "1,10%",
    )
    assert request.saltenv == "base" and request.test is False and request.force is False
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.batch = 2


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ({"timeout": "soon"}, "timeout='soon'"),
        ({"timeout": 0}, "timeout=0"),
        ({"timeout": True}, "timeout=True"),
        ({"report_dir": "reports"}, "report_dir must be an absolute path"),
        ({"report_dir": "/srv/../etc"}, "report_dir must not contain '..'"),
        ({"saltenv": ""}, "saltenv=''"),
        ({"saltenv": ["base"]}, "saltenv=['base']"),
    ],
)
def test_a_bad_argument_is_exit_2_naming_it(args, named):
    with pytest.raises(InvalidScenario) as caught:
        RunRequest.from_args("update_website", **args)
    assert caught.value.retcode == EXIT_INVALID and named in str(caught.value)


def test_force_reads_true_in_any_case_and_nothing_else():
    assert RunRequest.from_args(None, resumes="r", force="TRUE").force is True
    assert RunRequest.from_args(None, resumes="r", force="yes").force is False


def test_a_resumed_request_takes_the_earlier_runs_feature_and_arguments():
    request = RunRequest.from_args(None, timeout=9, report_dir="/r", resumes="20261128153000-1a2b3c4d")
    resumed = request.resuming("rolling", {"scenario": "S", "tags": "@web", "max_failures": "10%"})
    assert (resumed.name, resumed.scenario, resumed.tags, resumed.max_failures) == ("rolling", "S", "@web", "10%")
    assert (resumed.timeout, resumed.report_dir, resumed.resumes) == (9, "/r", "20261128153000-1a2b3c4d")


def test_every_error_return_has_one_shape():
    assert returns.error(InvalidScenario("bad", "f.feature:3"), name="x") == {
        "retcode": 2,
        "result": "error",
        "name": "x",
        "error": "f.feature:3: bad",
    }
    assert returns.error(config.InvalidOption("master option timeout='x': no")) == {
        "retcode": 2,
        "result": "error",
        "error": "master option timeout='x': no",
    }
    assert returns.refusing(lambda: {"retcode": 0}) == {"retcode": 0}


@pytest.fixture
def runner(tmp_path, monkeypatch):
    mod = load(
        "_runners/scenario.py", opts={"cachedir": str(tmp_path / "cache"), "scenario_lb_address": "198.51.100.10"}
    )
    mod.fleet = default_fleet()
    engine_calls.fake_salt(monkeypatch, copy_site(tmp_path / "site"), mod.fleet)
    return mod


@pytest.mark.parametrize("func", ["run", "plan", "compile"])
def test_the_runner_refuses_a_bad_timeout_before_anything_runs(runner, func):
    ret = getattr(runner, func)("update_website", timeout="soon")
    assert ret["retcode"] == 2 and runner.__context__["retcode"] == 2 and "timeout='soon'" in ret["error"]
    assert ret["outputter"] == "scenario"
    assert runner.fleet.calls == [] and runner.fleet.events == []


def test_a_bad_master_option_is_exit_2_with_configs_message(runner):
    runner.__opts__["scenario_timeout"] = "soon"
    for ret in (runner.run("update_website"), runner.validate("update_website"), runner.history()):
        assert ret["retcode"] == 2 and ret["error"].startswith("master option scenario_timeout='soon'")
    assert runner.__context__["retcode"] == 2 and runner.fleet.calls == []


def test_the_runner_reaches_the_engine_through_the_service_only():
    with open(REPO / "_runners" / "scenario.py", encoding="utf-8") as handle:
        imports = [line.strip() for line in handle if line.strip().startswith(("import ", "from "))]
    engine = [line for line in imports if "saltext" in line]
    assert engine == ["from saltext.scenario.engine.service import service as _service"], imports
