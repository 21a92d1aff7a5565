"""Words that match the outcome, on every surface: exit 5 reads "within budget" (an amber
badge, not a red one), exit 6 and a step a stop cut short read "interrupted", never "failed",
for a stopped run and a dead one alike."""

import re
import xml.etree.ElementTree as ET

import pytest

from saltext.scenario.engine.records.html_assets import CSS
from tests.support.every_surface import cut_short, dead_run, run_events, surfaces
from tests.support.fake_fleet import FakeFleet, FakeHost
from tests.support.html_grid import deploy_cells, read_grid
from tests.support.report_checks import check_cucumber, expected_from_return, junit_totals

TEXT = """Feature: Rollout
  Background:
    Given the load balancer has ip address 198.51.100.10
    And I want to update hosts with class roles::dev_server

  Scenario: Deploy
    When I block the load balancer
    When I update the package mywebapp to version 4.2.6-3
    Then the package version for mywebapp should be 4.2.6-3
    Then the NRPE check check_web should pass
    When I unblock the load balancer
"""
UPDATE = "I update the package mywebapp to version 4.2.6-3"
UNBLOCK = "I unblock the load balancer"
UNBLOCK_AT = "features/f.feature:11"


def fleet(n, broken=()):
    return FakeFleet(
        [
            FakeHost(f"web{i}", available=["4.2.5-1"] if f"web{i}" in broken else ["4.2.5-1", "4.2.6-3"])
            for i in range(1, n + 1)
        ]
    )


def props(junit):
    return {p.get("name"): p.get("value") for p in junit.iter("property")}


def cucumber_steps(doc):
    return {step["name"]: step for _name, step in check_cucumber(doc)}


def badge(html):
    return re.search(r'<span class="badge ([a-z_]+)">([^<]*)</span>', html).groups()


@pytest.fixture(scope="module")
def within_budget():
    plan, events = run_events(fleet(5, broken={"web3"}), TEXT, max_failures="1")
    return surfaces(plan, events)


@pytest.fixture(scope="module")
def stopped():
    """SIGTERM after the update's group: the step in flight finished, the rest never started."""
    plan, events = run_events(fleet(3), TEXT, stop_after=UPDATE)
    return surfaces(plan, events)


@pytest.fixture(scope="module")
def cut():
    """SIGTERM while the unblock was in flight: its jobs killed after the grace, as the
    executor reports it (status "interrupted", each host "interrupted mid-step")."""
    plan, events = run_events(fleet(3), TEXT, stop_after=UPDATE)
    return surfaces(plan, cut_short(events, UNBLOCK))


# -- exit 5: within budget ------------------------------------------------------------------------


def test_exit_5_summary_and_terminal_say_within_budget(within_budget):
    ret = within_budget.ret
    assert ret["retcode"] == 5 and ret["result"] == "within_budget"
    assert ret["summary"].startswith("1 scenario (1 within budget), 7 steps (6 passed, 1 within budget), 5 hosts")
    assert "1 host failed within the budget of 1" in ret["summary"] and "failed)" not in ret["summary"]
    lines = within_budget.terminal.splitlines()
    assert lines[-1] == ret["summary"]
    assert "Failed hosts (within the failure budget: they left the run):" in lines


def test_exit_5_history_and_show_say_within_budget(within_budget):
    assert " exit 5  1 scenario (1 within budget)" in within_budget.history
    assert within_budget.show.splitlines()[-1] == within_budget.ret["summary"]
    assert "Failed hosts (within the failure budget: they left the run):" in within_budget.show


def test_exit_5_junit_names_the_budget(within_budget):
    junit = within_budget.junit
    assert props(junit)["result"] == "within budget" and props(junit)["retcode"] == "5"
    failures = [c.find("failure") for c in junit.iter("testcase") if c.find("failure") is not None]
    assert [f.get("message") for f in failures] == [
        "web3: retcode 1: ERROR: mywebapp 4.2.6-3 is not available "
        "(the host left the run after it failed, within the failure budget)"
    ]
    skipped = [c.find("skipped").get("message") for c in junit.iter("testcase") if c.find("skipped") is not None]
    assert len(skipped) == 3 and set(skipped) == {
        "not run: the host left the run after it failed, within the failure budget"
    }


def test_exit_5_cucumber_says_the_budget_allowed_it(within_budget):
    steps = cucumber_steps(within_budget.cucumber)
    assert steps[UPDATE]["result"]["status"] == "failed"
    assert "within the failure budget" in steps[UPDATE]["result"]["error_message"]
    # The hosts that went on finished the deploy: the later steps passed, not skipped.
    assert steps[UNBLOCK]["result"]["status"] == "passed"


def test_exit_5_html_badge_is_amber_not_red(within_budget):
    assert badge(within_budget.html) == ("within_budget", "WITHIN BUDGET \u00b7 exit 5")
    assert '<header class="summary within_budget">' in within_budget.html
    amber = re.search(r"--budget: (#[0-9a-f]{6})", CSS).group(1)
    assert re.search(r"\.badge\.within_budget \{ background: var\(--budget\)", CSS) and amber == "#f9a825"
    assert "Failed hosts (1), within the failure budget: they left the run" in within_budget.html


# -- exit 6: a stop between steps -------------------------------------------------------------------


def test_exit_6_summary_terminal_and_progress_say_interrupted(stopped):
    ret = stopped.ret
    assert ret["retcode"] == 6 and ret["interrupted"] == "SIGTERM"
    assert ret["summary"].startswith("1 scenario (1 interrupted), 7 steps (6 passed, 1 skipped), 3 hosts")
    assert "Interrupted by SIGTERM" in stopped.terminal and "failed)" not in stopped.terminal
    assert stopped.progress[-1].startswith("interrupted by SIGTERM: no step started after it")


def test_exit_6_history_and_show_say_interrupted(stopped):
    assert " exit 6  1 scenario (1 interrupted)" in stopped.history
    assert "Interrupted by SIGTERM" in stopped.show and stopped.show.splitlines()[-1] == stopped.ret["summary"]


def test_exit_6_junit_cucumber_and_html_say_interrupted(stopped):
    assert props(stopped.junit)["result"] == "interrupted"
    skipped = {
        c.find("skipped").get("message") for c in stopped.junit.iter("testcase") if c.find("skipped") is not None
    }
    assert skipped == {"not run: the run was interrupted (SIGTERM)"}
    assert {s["result"]["status"] for s in cucumber_steps(stopped.cucumber).values()} == {"passed", "skipped"}
    assert badge(stopped.html) == ("interrupted", "INTERRUPTED \u00b7 exit 6")
    assert "Interrupted (SIGTERM)" in stopped.html


def test_a_dead_run_reads_interrupted_in_history_and_show():
    plan, events = run_events(fleet(3), TEXT)
    block = next(
        i for i, e in enumerate(events) if e["event"] == "step_finished" and e["text"] == "I block the load balancer"
    )
    line, show = dead_run(plan, events[: block + 1])  # the process died after the block
    assert " exit 6  interrupted after When I block the load balancer" in line
    assert "Interrupted: its process is gone without a final record" in show
    assert "interrupted after When I block the load balancer" in show.splitlines()[-1]


# -- exit 6: a step cut short ----------------------------------------------------------------------


def test_a_step_cut_short_is_interrupted_in_the_return_terminal_and_progress(cut):
    ret = cut.ret
    step = ret["scenarios"][0]["steps"][-1]
    assert step["status"] == "interrupted" and {h["status"] for h in step["hosts"].values()} == {"interrupted"}
    assert ret["failed_hosts"] == {} and "failed" not in ret["summary"]
    assert ret["summary"].startswith("1 scenario (1 interrupted), 7 steps (6 passed, 1 interrupted), 3 hosts")
    assert f"\u2298 When {UNBLOCK}  # {UNBLOCK_AT}  0 passed, 0 failed, 3 interrupted" in cut.terminal
    assert f"Interrupted mid-step: When {UNBLOCK} ({UNBLOCK_AT}) on web1, web2, web3" in cut.terminal
    assert f"\u2298 When {UNBLOCK}  # {UNBLOCK_AT}  0 passed, 0 failed, 3 interrupted" in cut.progress[-2]


def test_a_step_cut_short_is_interrupted_in_history_and_show(cut):
    assert " exit 6  1 scenario (1 interrupted)" in cut.history
    assert "        web2: interrupted mid-step (SIGTERM)" in cut.show.splitlines()
    assert cut.record["steps"][-1]["hosts"]["web2"] == {
        "status": "interrupted",
        "reason": "interrupted mid-step (SIGTERM)",
    }
    assert cut.record["batch_steps"][-1]["hosts"]["web2"]["status"] == "interrupted"


def test_a_step_cut_short_is_an_error_in_junit_never_a_failure(cut):
    _root, totals = junit_totals(ET.tostring(cut.junit, encoding="UTF-8"))
    assert totals == expected_from_return(cut.ret)[0] and totals["failures"] == 0 and totals["errors"] == 3
    errors = [c.find("error") for c in cut.junit.iter("testcase") if c.find("error") is not None]
    assert {(e.get("type"), e.get("message")) for e in errors} == {
        ("Interrupted", f"{h}: interrupted mid-step (SIGTERM)") for h in ("web1", "web2", "web3")
    }


def test_a_step_cut_short_is_skipped_in_cucumber_with_the_hosts_named(cut):
    step = cucumber_steps(cut.cucumber)[UNBLOCK]
    assert step["result"]["status"] == "skipped" and "error_message" not in step["result"]
    assert "web1: interrupted (interrupted mid-step (SIGTERM))" in step["output"]


def test_a_step_cut_short_is_an_interrupted_cell_in_html(cut):
    cells = deploy_cells(read_grid(cut.html))
    assert {cells[(h, UNBLOCK_AT)] for h in ("web1", "web2", "web3")} == {"interrupted"}
    assert "failed" not in set(cells.values())
    assert badge(cut.html) == ("interrupted", "INTERRUPTED \u00b7 exit 6")
