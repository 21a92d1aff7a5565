"""The scenario outputter renders runs, plans, errors and progress events as text."""

import pytest

from saltext.scenario import config
from saltext.scenario.engine.parsing.source import DirSource
from tests.support import engine_calls as api
from tests.support.fake_dunders import load
from tests.support.fake_fleet import FakeFleet, FakeHost
from tests.support.sites import copy_site


@pytest.fixture
def out():
    return load("_output/scenario.py", opts={"color": False})


@pytest.fixture
def run_ret(tmp_path):
    def run(fleet, **kw):
        copy_site(tmp_path)
        opts = {"cachedir": str(tmp_path / "c")}
        return api.run(opts, "update_website", DirSource(tmp_path), lambda: fleet, **kw)

    return run


def test_progress_event_is_its_line(out):
    assert out.output({"suffix": "progress", "event": {"message": "\u2714 When x  # f:1"}}) == "\u2714 When x  # f:1"


def test_failed_run_rendering(out, run_ret):
    ret = run_ret(FakeFleet([FakeHost("web1"), FakeHost("web2", available=["4.2.5-1"])]))
    text = out.output(ret)
    assert "Feature: Update the production systems  # features/update_website.feature" in text
    assert "  Scenario: Update the website  # features/update_website.feature:8" in text
    # web2's source only has 4.2.5-1: the update is a no-op there, the version check fails
    assert (
        "\u2718 Then the package version for mywebapp should be 4.2.6-3  # features/update_website.feature:12" in text
    )
    assert "web2: installed '4.2.5-1', expected '4.2.6-3'" in text
    assert "- When I unblock the load balancer  # features/update_website.feature:17" in text
    assert "Still blocked at the load balancer: web1, web2" in text
    assert (
        text.rstrip()
        .splitlines()[-1]
        .startswith("1 scenario (1 failed), 14 steps (7 passed, 1 failed, 6 skipped), 2 hosts")
    )


def test_plan_rendering_shows_calls(out, run_ret):
    ret = run_ret(FakeFleet([FakeHost("web1")]), test=True)
    text = out.output(ret)
    assert "pinned: web1" in text
    assert "\u2192 lbgate.block 198.51.100.10" in text
    # The Then steps after a When ride in its publish; the second NRPE check as nrpe.check.
    assert "\u21b3 same publish: nrpe.run check_web  (retried for 10s)" in text
    assert "\u21b3 same publish: nrpe.check check_load" in text
    assert "\u2192 lbgate.unblock 198.51.100.10" in text
    assert "in 4 publish(es) per batch" in text and "nothing was changed" in text


def test_error_list_and_steps_rendering(out):
    assert (
        out.output({"retcode": 2, "result": "error", "error": "f:3: undefined step"})
        == "ERROR (exit 2): f:3: undefined step"
    )
    assert out.output({"retcode": 0, "features": ["a", "b"]}) == "a\nb"
    assert "Then  the file {path} should exist  # x.yaml" in out.output(
        {"retcode": 0, "steps": [{"kind": "then", "pattern": "the file {path} should exist", "origin": "x.yaml"}]}
    )


STEP_TEXTS = [
    "the load balancer has ip address",
    "I want to update hosts with class",
    "I block the load balancer",
    "traffic from the load balancer should be blocked",
    "I update the package mywebapp",
    "the package version for mywebapp should be 4.2.6-3",
    "I restart the service mywebapp",
    "the NRPE check check_load should pass",
    "I unblock the load balancer",
]


def test_streamed_passing_run_prints_no_step_again(out, run_ret):
    ret = run_ret(FakeFleet([FakeHost("web1"), FakeHost("web2")]))
    ret["streamed"] = True
    text = out.output(ret)
    assert not [t for t in STEP_TEXTS if t in text], text
    assert "Feature:" not in text and "Scenario:" not in text
    assert f"salt-run scenario.show {ret['run_id']}" in text
    assert text.splitlines()[-1] == ret["summary"]


def test_streamed_failing_run_prints_the_failed_host_once_with_step_and_reason(out, run_ret):
    ret = run_ret(FakeFleet([FakeHost("web1"), FakeHost("web2", available=["4.2.5-1"])]))
    ret["streamed"] = True
    text = out.output(ret)
    reason = "installed '4.2.5-1', expected '4.2.6-3'"
    assert text.count(reason) == 1 and text.count("the package version for mywebapp should be 4.2.6-3") == 1
    assert (
        "  web2: Then the package version for mywebapp should be 4.2.6-3  # features/update_website.feature:12: "
        + reason
    ) in text
    assert "Still blocked at the load balancer: web1, web2" in text
    assert "Halted" not in text  # the failed-hosts section already says where it halted
    assert not [t for t in STEP_TEXTS if t in text and "package version" not in t], text


def test_outcome_names_halts_interrupts_and_the_rollback(out, run_ret):
    ret = run_ret(FakeFleet([FakeHost("web1"), FakeHost("web2", available=["4.2.5-1"])]))
    ret.update(
        streamed=True,
        result="interrupted",
        interrupted="SIGTERM",
        halted="3 host(s) failed, more than the failure budget of 2",
        not_started=["web9"],
        rollback={
            "hosts": ["web1", "web2"],
            "rolled_back": ["web1"],
            "failed": {"web2": {"step": "When I roll back the package mywebapp", "reason": "no old version"}},
            "unreachable": ["web3"],
        },
    )
    text = out.output(ret)
    assert "Interrupted" not in text  # the progress already printed it, as the run's last line
    assert "Halted: 3 host(s) failed, more than the failure budget of 2" in text
    assert "Not started (later batches): web9" in text
    assert (
        "Rollback (@on-failure): rolled back: web1; failed, left as they are: web2: no old version; "
        "not answering, left as they are: web3"
    ) in text
    del ret["streamed"]
    full = out.output(ret)  # every run result renders as a run, with the tree
    assert "  Scenario: Update the website  # features/update_website.feature:8" in full and "Rollback (@on" in full
    assert "Interrupted by SIGTERM" in full


def test_show_renders_the_journal_record_as_a_tree_with_every_host(out, tmp_path):
    from saltext.scenario.engine.records import journal

    copy_site(tmp_path)
    opts = {"cachedir": str(tmp_path / "c")}
    fleet = FakeFleet([FakeHost("web1"), FakeHost("web2", available=["4.2.5-1"]), FakeHost("web3")])
    ret = api.recorded_run(opts, "update_website", DirSource(tmp_path), lambda: fleet, user="alice", batch="2")
    record, _ = journal.find(journal.journal_path(config.load(opts)), ret["run_id"])
    text = out.output({"retcode": 0, "result": "record", "record": record, "warnings": []})
    lines = text.splitlines()
    assert lines[:2] == [
        "Feature: Update the production systems  # features/update_website.feature",
        f"  run: {ret['run_id']}",
    ]
    assert lines[2].startswith(f"  started {record['started']}  finished {record['finished']}  by alice")
    assert "  batches: web1, web2 | web3" in lines and "  Scenario: Update the website" in lines
    at = lines.index(
        "    \u2718 Then the package version for mywebapp should be 4.2.6-3  # features/update_website.feature:12"
        "  1 passed, 1 failed, 0.00s"
    )
    assert lines[at + 1 : at + 4] == [
        "        web2: installed '4.2.5-1', expected '4.2.6-3'",
        "        passed: web1",
        "        skipped: web3",
    ]
    assert "Failed hosts:" in lines and "Still blocked at the load balancer: web1, web2" in lines
    assert lines[-1] == ret["summary"]


def test_show_of_a_run_that_could_not_start(out, tmp_path):
    from saltext.scenario.engine.records import journal

    copy_site(tmp_path)
    opts = {"cachedir": str(tmp_path / "c")}
    fleet = FakeFleet([FakeHost("web1"), FakeHost("web2")], dead=["web2"])
    ret = api.recorded_run(opts, "update_website", DirSource(tmp_path), lambda: fleet)
    record, _ = journal.find(journal.journal_path(config.load(opts)), ret["run_id"])
    text = out.output({"retcode": 0, "result": "record", "record": record, "warnings": ["w1"]})
    assert f"ERROR (exit 3): {ret['error']}" in text and "warning: w1" in text
    assert text.splitlines()[-1] == record["summary"] and "Scenario:" not in text


def test_state_steps_show_each_host_s_summary(out, tmp_path):
    copy_site(tmp_path)
    (tmp_path / "features" / "st.feature").write_text(
        "Feature: States\n  Scenario: S\n"
        "    Given the load balancer has ip address 198.51.100.10\n"
        "    And I want to update hosts with class roles::dev_server\n"
        "    When I block the load balancer\n"
        "    When I apply the state mywebapp with pillar mywebapp:version=4.2.6-3\n"
    )
    fleet = FakeFleet([FakeHost("web1"), FakeHost("web2", available=["4.2.5-1"])])
    ret = api.run({"cachedir": str(tmp_path / "c")}, "st", DirSource(tmp_path), lambda: fleet)
    lines = out.output(ret).splitlines()
    at = lines.index(next(line for line in lines if "When I apply the state mywebapp" in line))
    assert lines[at + 1].strip() == "web1: 2 states, 2 changed"
    assert lines[at + 2].strip() == (
        "web2: mywebapp-package (pkg.installed): Problem encountered installing package(s). Additional info "
        "follows: errors: - E: Version '4.2.6-3' for 'mywebapp' was not found  (2 states, 0 changed, 2 failed)"
    )
