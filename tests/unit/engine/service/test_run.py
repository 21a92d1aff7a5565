"""The engine's run, plan, validate, list and steps end to end with a feature directory and a fake fleet."""

import shutil

import pytest

from saltext.scenario import config
from saltext.scenario.engine.parsing.source import DirSource
from saltext.scenario.engine.running.lock import ScenarioLock
from saltext.scenario.engine.steps import builtin_steps
from saltext.scenario.engine.store import open_store
from tests.support import engine_calls as api
from tests.support.fake_fleet import FakeFleet, FakeHost, default_fleet
from tests.support.paths import UNIT_DATA as DATA
from tests.support.sites import copy_site


@pytest.fixture
def site(tmp_path):
    bad = ("undefined_step", "bad_ip", "shell_package", "jinja", "ambiguous", "seed_verbatim")
    return copy_site(tmp_path, extra=[DATA / f"{name}.feature" for name in bad])


@pytest.fixture
def opts(tmp_path):
    return {"cachedir": str(tmp_path / "cache"), "scenario_lb_address": "198.51.100.10"}


def _fleet():
    return FakeFleet([FakeHost("web1", nrpe={"check_web": [0]}), FakeHost("web2"), FakeHost("web3")])


def test_run_update_website_passes_and_reports(site, opts):
    fleet, lines = _fleet(), []
    ret = api.run(opts, "update_website", DirSource(site), lambda: fleet, progress=lines.append)
    assert ret["retcode"] == 0, ret
    assert ret["pinned"] == ["web1", "web2", "web3"]
    assert ret["summary"].startswith("1 scenario (1 passed), 14 steps (14 passed), 3 hosts")
    assert lines[0].startswith("pinned 3 host(s)") and len(lines) == 15
    tags = [tag for tag, _data in fleet.events]
    assert tags[0].startswith("saltext/scenario/") and tags[0].endswith("/run/started")
    assert tags[-1].endswith("/run/finished") and sum(t.endswith("/step/finished") for t in tags) == 14
    assert all(data["run_id"] == ret["run_id"] for _t, data in fleet.events)
    # a rerun changes nothing and still passes
    again = api.run(opts, "update_website", DirSource(site), lambda: fleet)
    update = again["scenarios"][0]["steps"][6]
    assert again["retcode"] == 0 and all(h["ret"]["changed"] is False for h in update["hosts"].values())


@pytest.mark.parametrize(
    "name,location,words",
    [
        ("undefined_step", "features/undefined_step.feature:8", "undefined step"),
        ("bad_ip", "features/bad_ip.feature:3", "198.51.100.300"),
        ("shell_package", "features/shell_package.feature:7", "mywebapp; rm -rf /"),
        ("jinja", "features/jinja.feature:4", "Jinja"),
    ],
)
def test_invalid_features_exit_2_and_touch_nothing(site, opts, name, location, words):
    fleet = _fleet()
    for func in (api.validate, api.run, api.plan):
        args = (opts, name, DirSource(site)) + (() if func is api.validate else (lambda: fleet,))
        ret = func(*args)
        assert ret["retcode"] == 2, ret
        assert location in ret["error"] and words in ret["error"]
    assert fleet.calls == [] and fleet.events == []


def test_ambiguous_step_from_library_exit_2(site, opts):
    shutil.copy(DATA / "ambiguous_steps" / "a.yaml", site / "features" / "steps" / "a.yaml")
    ret = api.validate(opts, "ambiguous", DirSource(site))
    assert ret["retcode"] == 2
    assert "features/ambiguous.feature:7" in ret["error"] and "ambiguous" in ret["error"]


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "features/../../x", "salt://x"])
def test_bad_names_exit_2_before_reading(opts, name):
    class NoReads:
        def read(self, path):
            raise AssertionError(f"read {path}")

        def list(self, prefix):
            raise AssertionError(f"list {prefix}")

    for ret in (api.validate(opts, name, NoReads()), api.run(opts, name, NoReads(), default_fleet)):
        assert ret["retcode"] == 2 and name in ret["error"]


def test_missing_feature_exit_2(site, opts):
    ret = api.validate(opts, "nope", DirSource(site))
    assert ret["retcode"] == 2 and "features/nope.feature" in ret["error"]


def test_prediscover_with_a_dead_known_host_exits_3_untouched(site, opts):
    fleet = FakeFleet([FakeHost("web1"), FakeHost("web2"), FakeHost("web3")], dead=["web2"])
    ret = api.run(opts, "update_website", DirSource(site), lambda: fleet)
    assert ret["retcode"] == 3 and "web2" in ret["error"]
    assert fleet.calls == []
    ((tag, data),) = fleet.events
    assert tag.endswith("/run/error") and data["retcode"] == 3 and "web2" in data["error"]


def test_without_prediscover_dead_host_is_left_out_with_warning(site, opts):
    text = (site / "features" / "update_website.feature").read_text()
    (site / "features" / "no_pre.feature").write_text(
        text.replace("And I want to pre-discover how many hosts to update\n", "")
    )
    fleet = FakeFleet([FakeHost("web1"), FakeHost("web2"), FakeHost("web3")], dead=["web2"])
    ret = api.run(opts, "no_pre", DirSource(site), lambda: fleet)
    assert ret["retcode"] == 0 and ret["pinned"] == ["web1", "web3"] and ret["missing"] == ["web2"]
    assert any("web2" in w for w in ret["warnings"])


def test_empty_target_and_count_expectations_exit_3(site, opts):
    ret = api.run(opts, "update_website", DirSource(site), lambda: FakeFleet([], known=[]))
    assert ret["retcode"] == 3 and "no host answered" in ret["error"]
    text = (site / "features" / "update_website.feature").read_text()
    (site / "features" / "four.feature").write_text(
        text.replace("And I want to pre-discover", "And I expect at least 4 hosts\n        And I want to pre-discover")
    )
    fleet = _fleet()
    ret = api.run(opts, "four", DirSource(site), lambda: fleet)
    assert ret["retcode"] == 3 and "at least 4" in ret["error"] and fleet.calls == []


def test_test_mode_and_plan_change_nothing(site, opts):
    fleet = _fleet()
    for ret in (
        api.run(opts, "rolling_update", DirSource(site), lambda: fleet, test=True),
        api.plan(opts, "rolling_update", DirSource(site), lambda: fleet),
    ):
        assert ret["retcode"] == 0 and ret["result"] == "plan"
        assert ret["pinned"] == ["web1", "web2", "web3"] and ret["batches"] == [["web1"], ["web2"], ["web3"]]
        calls = [s["call"] for s in ret["scenarios"][0]["steps"] if s["call"]]
        assert calls[0] == {"fun": "lbgate.block", "args": ["198.51.100.10"], "kwargs": {}, "lb_effect": "block"}
        assert calls[2] == {"fun": "pkgcheck.update", "args": ["mywebapp"], "kwargs": {"version": "4.2.6-3"}}
    assert fleet.calls == []
    assert all(h.version == "4.2.5-1" and not h.blocked for h in fleet.hosts.values())


def test_lock_held_exit_4(site, opts):
    fleet = _fleet()
    with ScenarioLock(opts["cachedir"], "update_website"):
        ret = api.run(opts, "update_website", DirSource(site), lambda: fleet)
    assert ret["retcode"] == 4 and "lock" in ret["error"]
    assert fleet.calls == []
    assert api.run(opts, "update_website", DirSource(site), lambda: fleet)["retcode"] == 0


def test_user_step_library_step_runs(site, opts):
    (site / "features" / "files.feature").write_text(
        "Feature: Files\n  Scenario: S\n"
        '    Given I want to update hosts matching "*"\n'
        "    Then the file /opt/mywebapp/VERSION should exist\n"
    )
    fleet = FakeFleet([FakeHost("web1", files=["/opt/mywebapp/VERSION"]), FakeHost("web2")])
    ret = api.run(opts, "files", DirSource(site), lambda: fleet)
    assert ret["retcode"] == 1
    assert fleet.calls == [(["web1", "web2"], "file.file_exists", ["/opt/mywebapp/VERSION"], {})]
    assert list(ret["failed_hosts"]) == ["web2"]


def test_seed_runs_verbatim_with_the_lb_option(site, opts):
    fleet = _fleet()
    ret = api.run(opts, "seed_verbatim", DirSource(site), lambda: fleet)
    # The seed promises 4.2.6-3.el5, which the fleet does not have: the verify step fails, nothing else is wrong.
    assert ret["retcode"] == 1
    assert {v["location"] for v in ret["failed_hosts"].values()} == {"features/seed_verbatim.feature:10"}
    assert any("treated as Background" in w for w in ret["warnings"])


def test_list_and_steps(site, opts):
    names = api.list_features(DirSource(site))["features"]
    assert "update_website" in names and "rolling_update" in names
    steps = api.steps(opts, DirSource(site))["steps"]
    assert {
        "kind": "then",
        "pattern": "the file {path} should exist",
        "origin": "features/steps/files.yaml (step #1)",
    } in steps
    assert sum(s["origin"] == "built-in" for s in steps) == len(
        builtin_steps.GIVEN + builtin_steps.WHEN + builtin_steps.THEN
    )


def test_transport_breaking_mid_run_is_exit_1_and_releases_the_lock(site, opts):
    fleet = _fleet()

    def explode(fleet_, fun):
        if fun == "pkgcheck.update":
            raise RuntimeError("master went away")

    fleet.after_call = explode
    ret = api.run(opts, "update_website", DirSource(site), lambda: fleet)
    assert ret["retcode"] == 1 and "master went away" in ret["error"]
    fleet.after_call = None
    # The hosts it had taken out of the balancer stay held: the next run is refused, not the lock.
    again = api.run(opts, "update_website", DirSource(site), lambda: fleet)
    assert again["retcode"] == 4 and f"is held by run {ret['run_id']}" in again["error"], again
    open_store(config.load(opts)).release(ret["run_id"], user="test", reason="test cleanup")
    assert api.run(opts, "update_website", DirSource(site), lambda: fleet)["retcode"] == 0
