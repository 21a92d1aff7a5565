"""scenario.compile: the orchestrate SLS for a scenario, checked as data (parsed back as YAML)."""

import pytest
import yaml

from saltext.scenario.engine.parsing.source import DirSource
from tests.support import engine_calls
from tests.support.engine_calls import compile_sls
from tests.support.fake_dunders import load
from tests.support.fake_fleet import FakeFleet, FakeHost, default_fleet
from tests.support.sites import copy_site

UPDATE = "features/update_website.feature"


@pytest.fixture
def site(tmp_path):
    return copy_site(tmp_path / "site")


@pytest.fixture
def opts(tmp_path):
    return {"cachedir": str(tmp_path / "cache"), "scenario_lb_address": "198.51.100.10"}


def _compile(opts, site, name="update_website", fleet=None, **kw):
    fleet = fleet or default_fleet()
    return compile_sls(opts, name, DirSource(site), lambda: fleet, **kw), fleet


def _states(ret):
    data = yaml.safe_load(ret["sls"])
    assert list(data) == ret["states"]  # definition order is execution order
    return {sid: {k: v for item in body["salt.function"] for k, v in item.items()} for sid, body in data.items()}


def test_one_state_per_step_on_the_pinned_list_with_a_require_chain(opts, site):
    ret, fleet = _compile(opts, site)
    assert ret["retcode"] == 0 and ret["pinned"] == ["web1", "web2", "web3"]
    states = _states(ret)
    assert list(states) == [
        f"{UPDATE}:9 When I block the load balancer",
        f"{UPDATE}:10 Then traffic from the load balancer should be blocked",
        f"{UPDATE}:11 When I update the package mywebapp",
        f"{UPDATE}:12 Then the package version for mywebapp should be 4.2.6-3",
        f"{UPDATE}:13 When I restart the service mywebapp",
        f"{UPDATE}:14 Then the service mywebapp should be running",
        f"{UPDATE}:15 Then the NRPE check check_web should pass within 10 seconds",
        f"{UPDATE}:16 Then the NRPE check check_load should pass",
        f"{UPDATE}:17 When I unblock the load balancer",
        f"{UPDATE}:18 Then traffic from the load balancer should be unblocked",
    ]
    ids = list(states)
    for index, (sid, st) in enumerate(states.items()):
        assert st["tgt"] == ["web1", "web2", "web3"] and st["tgt_type"] == "list", sid
        assert st["expect_minions"] is True and st["failhard"] is True, sid
        assert st.get("require") == ([{"salt": ids[index - 1]}] if index else None), sid
    assert [st["name"] for st in states.values()] == [
        "lbgate.block",
        "lbgate.verify_blocked",
        "pkgcheck.update",
        "pkgcheck.verify",
        "service.restart",
        "service.status",
        "nrpe.run",
        "nrpe.run",
        "lbgate.unblock",
        "lbgate.verify_blocked",
    ]
    assert states[ids[1]]["arg"] == ["198.51.100.10"] and states[ids[1]]["kwarg"] == {"expected": True}
    assert states[ids[3]]["arg"] == ["mywebapp", "4.2.6-3"]
    assert states[ids[6]]["retry"] == {"attempts": 11, "interval": 1}  # "within 10 seconds"
    assert "retry" not in states[ids[7]]
    assert [call[1] for call in fleet.calls] == []  # discovery only: nothing was called on the hosts


def test_header_names_source_target_pins_and_the_given_steps(opts, site):
    ret, _ = _compile(opts, site, now=lambda: (2026, 11, 25, 3, 30, 0, 2, 329, 0))
    lines = ret["sls"].splitlines()
    assert lines[0] == "#!yaml"  # never rendered through Jinja: step text stays text
    assert lines[1] == "# Compiled by `salt-run scenario.compile update_website` at 2026-11-25T03:30:00Z"
    header = "\n".join(line for line in lines if line.startswith("#"))
    assert "salt://features/update_website.feature" in header
    assert "# Target: G@roles:dev_server and G@country:de" in header
    assert "# Pinned at compile time: web1, web2, web3" in header
    assert f"#   {UPDATE}:3 Given the load balancer has ip address 198.51.100.10" in header
    assert f"#   {UPDATE}:6 Given I want to pre-discover how many hosts to update" in header


def test_batches_chain_one_after_the_other(opts, site):
    ret, _ = _compile(opts, site, "rolling_update")
    states = _states(ret)
    assert ret["batches"] == [["web1"], ["web2"], ["web3"]] and len(states) == 24
    ids = list(states)
    assert ids[8] == "batch 2 of 3: features/rolling_update.feature:13 When I block the load balancer"
    assert states[ids[8]]["tgt"] == ["web2"]
    # batch 2 starts only after batch 1's last check (traffic unblocked again)
    assert states[ids[8]]["require"] == [{"salt": ids[7]}] and ids[7].endswith("should be unblocked")
    assert [states[i]["tgt"] for i in ids[16:]] == [["web3"]] * 8


def test_batch_argument_overrides_the_feature(opts, site):
    ret, _ = _compile(opts, site, batch="2")
    assert ret["batches"] == [["web1", "web2"], ["web3"]] and len(ret["states"]) == 20


def test_values_yaml_would_mangle_are_quoted(opts, site):
    (site / "features" / "v.feature").write_text(
        'Feature: v\n  Scenario: s\n    Given I want to update hosts matching "*"\n'
        "    Then the package version for mywebapp should be 4.20\n"
    )
    ret, _ = _compile(opts, site, "v")
    (state,) = _states(ret).values()
    assert state["arg"] == ["mywebapp", "4.20"]  # a string, not the float 4.2


def test_library_steps_carry_a_note_that_expect_is_not_checked(opts, site):
    (site / "features" / "files.feature").write_text(
        'Feature: f\n  Scenario: s\n    Given I want to update hosts matching "web*"\n'
        "    Then the file /etc/hostname should exist\n"
    )
    ret, _ = _compile(opts, site, "files")
    assert "# note: only the retcode and a False return are checked here" in ret["sls"]
    assert (
        _states(ret)["features/files.feature:4 Then the file /etc/hostname should exist"]["name"] == "file.file_exists"
    )


@pytest.mark.parametrize("name", ["../x", "/etc/passwd", "salt://features/x"])
def test_bad_names_exit_2_before_discovery(opts, site, name):
    ret, _fleet = _compile(opts, site, name)
    assert ret["retcode"] == 2 and "sls" not in ret and name in ret["error"]


def test_a_known_host_down_fails_compile_with_exit_3(opts, site):
    fleet = FakeFleet([FakeHost("web1"), FakeHost("web2"), FakeHost("web3")], dead={"web2"})
    ret, _ = _compile(opts, site, fleet=fleet)
    assert ret["retcode"] == 3 and "web2" in ret["error"]


def test_runner_compile_sets_retcode_and_returns_the_sls(tmp_path, monkeypatch, site):
    mod = load(
        "_runners/scenario.py", opts={"cachedir": str(tmp_path / "cache"), "scenario_lb_address": "198.51.100.10"}
    )
    fleet = default_fleet()
    engine_calls.fake_salt(monkeypatch, site, fleet)
    ret = mod.compile("rolling_update", batch="2", timeout=30)
    assert ret["retcode"] == 0 and mod.__context__["retcode"] == 0
    assert "# Compiled by `salt-run scenario.compile rolling_update batch=2 timeout=30`" in ret["sls"]
    assert all(st["timeout"] == 30 for st in _states(ret).values())
    bad = mod.compile("../x")
    assert bad["retcode"] == 2 and mod.__context__["retcode"] == 2


def test_the_outputter_prints_the_sls_itself(opts, site):
    ret, _ = _compile(opts, site)
    outputter = load("_output/scenario.py")
    assert outputter.output(ret) + "\n" == ret["sls"]


ROLLOUT = """Feature: Rollout
  Background:
    Given the load balancer has ip address 198.51.100.10
    And I want to update hosts with class roles::dev_server
{given}
  Scenario: Update
    When I block the load balancer
    When I unblock the load balancer
{extra}"""


@pytest.mark.parametrize(
    ("given", "extra", "why", "where"),
    [
        ("", "    Then I wait for approval\n", "cannot wait for scenario.approve", "features/rollout.feature:9"),
        (
            "",
            "\n  @on-failure\n  Scenario: Back\n    When I unblock the load balancer\n",
            "cannot run an @on-failure scenario",
            "features/rollout.feature:11",
        ),
        ("    And up to 1 host may fail\n", "", "cannot honour a failure budget", "features/rollout.feature"),
    ],
)
def test_what_orchestrate_cannot_express_is_refused_with_exit_2(opts, site, given, extra, why, where):
    (site / "features" / "rollout.feature").write_text(ROLLOUT.format(given=given, extra=extra))
    ret, fleet = _compile(opts, site, name="rollout")
    assert ret["retcode"] == 2 and why in ret["error"] and ret["error"].startswith(where)
    assert fleet.calls == []  # refused before discovery


def test_a_schedule_with_a_pause_compiles_to_batches_with_a_sleep_between_them(opts, site):
    given = "    And I update hosts in batches of 1, 50%\n    And I pause 30 seconds between batches\n"
    (site / "features" / "rollout.feature").write_text(ROLLOUT.format(given=given, extra=""))
    ret, _fleet = _compile(opts, site, name="rollout")
    assert ret["retcode"] == 0 and ret["batches"] == [["web1"], ["web2"], ["web3"]]
    states = yaml.safe_load(ret["sls"])
    pauses = [sid for sid in states if sid.startswith("pause")]
    assert pauses == ["pause 30 s before batch 2 of 3", "pause 30 s before batch 3 of 3"]
    assert states[pauses[0]]["salt.runner"][:2] == [{"name": "test.sleep"}, {"s_time": 30}]
    after = next(sid for sid in states if sid.startswith("batch 2 of 3"))
    assert {"require": [{"salt": pauses[0]}]} in states[after]["salt.function"]
