"""The HTML report of fake runs: the grid's cells agree with the return data, batches are groups,
approvals, the rollback and still-blocked hosts are marked, and strings from the run are escaped."""

import re
from pathlib import Path

from saltext.scenario.engine.parsing.parse import parse_feature
from saltext.scenario.engine.parsing.source import DirSource
from saltext.scenario.engine.records.html_report import OPEN_UP_TO, html_report
from saltext.scenario.engine.records.result import ResultCollector
from saltext.scenario.engine.records.run_recorder import RunRecorder
from saltext.scenario.engine.running.execute import Decision, Executor
from saltext.scenario.engine.steps import builtin_steps
from saltext.scenario.engine.steps.registry import Registry
from tests.support import engine_calls
from tests.support.engine_calls import build_plan
from tests.support.fake_fleet import FakeFleet, FakeHost
from tests.support.html_grid import counts, deploy_cells, expected_cells, read_grid
from tests.support.sites import copy_site

HOSTILE_REASON = '<img src=x onerror="alert(1)"> & </script>'

# Rolling, one host at a time; the second batch's approval is refused (with a hostile reason),
# so the run halts, the third batch never starts and the @on-failure rollback runs.
GATED = """\
Feature: Canary <b>first</b>
  Background:
    Given the load balancer has ip address 198.51.100.10
    And I want to update hosts with class roles::dev_server
    And I update 1 host at a time

  Scenario: Update <script>alert(1)</script>
    When I block the load balancer
    When I update the package mywebapp to version 4.2.6-3
    Then the package version for mywebapp should be 4.2.6-3
    Then I wait for approval within 1 minute
    When I unblock the load balancer

  @on-failure
  Scenario: Roll back
    When I roll back the package mywebapp
    When I unblock the load balancer
"""


class PingingFleet(FakeFleet):
    """Answers test.ping, which the rollback asks before it starts."""

    def _run(self, host, fun, args, kwargs):
        if fun == "test.ping":
            return {"ret": True, "retcode": 0}
        return super()._run(host, fun, args, kwargs)


class Approver:
    """Grants the first batch, refuses every later one."""

    def wait(self, run_id, batch, hosts, timeout, stopped):
        if batch == 0:
            return Decision(True, "alice", "canary looks fine")
        return Decision(False, "bob", HOSTILE_REASON)


def _gated_run(hosts):
    plan = build_plan("canary", parse_feature(GATED, "features/canary.feature"), builtin_steps.register(Registry()))
    fleet = PingingFleet([FakeHost(h) for h in hosts])
    recorder, collector = RunRecorder(), ResultCollector(plan)

    def emit(event):
        recorder(event)
        collector(event)

    Executor(plan, fleet, emit, recorder.run_id, approvals=Approver()).run(fleet.ping("x"))
    recorder.finish()
    return collector.result(), recorder


def _fake_run(tmp_path, hosts, batch=None, name="update_website"):
    site = copy_site(tmp_path / "site")
    opts = {"cachedir": str(tmp_path / "cache"), "scenario_lb_address": "198.51.100.10"}
    ret = engine_calls.recorded_run(
        opts, name, DirSource(site), lambda: FakeFleet(hosts), report_dir=str(tmp_path / "r"), batch=batch
    )
    return ret, Path(ret["reports"]["html"]).read_text(encoding="utf-8")


def _five_hosts(bad="web2"):
    return [
        FakeHost(f"web{i}", available=("4.2.5-1",) if f"web{i}" == bad else ("4.2.5-1", "4.2.6-3")) for i in range(1, 6)
    ]


def test_failing_run_grid_matches_the_return(tmp_path):
    ret, page = _fake_run(tmp_path, _five_hosts())
    assert ret["retcode"] == 1
    assert ret["reports"]["html"] == str(tmp_path / "r" / f"update_website-{ret['run_id']}.html")
    grid = read_grid(page)
    cells = deploy_cells(grid)
    assert cells == expected_cells(ret)
    assert counts(cells) == {"passed": 19, "failed": 1, "interrupted": 0, "skipped": 30}  # 5 hosts x 10 host steps
    assert [k for k, v in cells.items() if v == "failed"] == [("web2", "features/update_website.feature:12")]
    failed = next(c for c in grid.cells if c.status == "failed")
    reason = ret["failed_hosts"]["web2"]["reason"]
    assert failed.reason == reason
    assert failed.title.startswith(f"web2: failed: {reason}\njid ")
    step = ret["scenarios"][0]["steps"][7]
    assert step["jids"][0] in failed.title
    # One group (no rolling batches), open, the failed row first, every host flagged still blocked.
    assert [(g.label, g.open) for g in grid.groups] == [("All hosts", True)]
    assert grid.groups[0].rows == ["web2", "web1", "web3", "web4", "web5"]
    assert page.count("still blocked</span>") == 5
    # Summary at the top: verdict, summary line, the halt, the failed host linked to its row.
    head = page.split('<nav class="tools">')[0]
    assert "FAILED \u00b7 exit 1" in head and ret["summary"] in head
    assert "Halted: Then the package version for mywebapp should be 4.2.6-3 failed" in head
    assert '<a href="#h1">web2</a>' in head and 'id="h1"' in page
    # Given steps are listed, not columns.
    assert "Given steps (4)" in head and 'data-loc="features/update_website.feature:3"' not in page


def test_passing_rolling_run_has_a_group_per_batch(tmp_path):
    ret, page = _fake_run(tmp_path, [FakeHost(f"web{i}") for i in range(1, 4)], batch="1")
    assert ret["retcode"] == 0
    grid = read_grid(page)
    assert [g.label for g in grid.groups] == ["Batch 1/3", "Batch 2/3", "Batch 3/3"]
    assert all(g.open for g in grid.groups)  # a small run opens every group
    assert [g.rows for g in grid.groups] == [["web1"], ["web2"], ["web3"]]
    cells = deploy_cells(grid)
    assert cells == expected_cells(ret) and counts(cells) == {"passed": 30, "failed": 0, "interrupted": 0, "skipped": 0}
    # Each batch's header carries that batch's jid of the update step only.
    update = ret["scenarios"][0]["steps"][6]
    headers = re.findall(r'data-loc="features/update_website.feature:11" data-jids="([^"]*)"', page)
    assert headers == update["jids"] and len(set(headers)) == 3
    assert "Still blocked" not in page and "still blocked</span>" not in page


def test_approval_rollback_and_hostile_strings(tmp_path):
    ret, recorder = _gated_run(["web1", "web2<b>", "web3"])
    assert ret["retcode"] == 1 and ret["rollback"]["rolled_back"] == ["web2<b>"]
    page = html_report(ret, recorder).decode()
    grid = read_grid(page)
    # Strings from the feature file and the minions are text, never markup.
    assert grid.scripts == 1
    assert "<img" not in page and "<b>first" not in page and "web2<b>" not in page and "alert(1)</script>" not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; &lt;/script&gt;" in page
    assert "Feature: Canary &lt;b&gt;first&lt;/b&gt;" in page
    cells = deploy_cells(grid)
    assert cells == expected_cells(ret)
    gate_loc = "features/canary.feature:11"
    assert cells[("web2<b>", gate_loc)] == "failed" and cells[("web1", gate_loc)] == "passed"
    refused = next(c for c in grid.cells if c.status == "failed")
    assert refused.reason == HOSTILE_REASON  # unescaped again by the parser: the text survived whole
    # The approval column and the approvals are marked.
    assert 'class="step gate"' in page and page.count('class="cell failed gate"') == 1
    assert "Approval of batch 1: granted by alice (canary looks fine)" in page
    assert "Approval of batch 2: refused by bob" in page
    # Batch 3 never started; the rollback is its own group, with its own cells and jids.
    labels = [g.label for g in grid.groups]
    assert labels == ["Batch 1/3", "Batch 2/3", "Batch 3/3", "Rollback (@on-failure)"]
    assert "not started</span>" in page and 'Not started (1): <a href="#h2">web3</a>' in page
    rollback = [c for c in grid.cells if c.group == "Rollback (@on-failure)"]
    assert {(c.host, c.location, c.status) for c in rollback} == {
        ("web2<b>", "features/canary.feature:16", "passed"),
        ("web2<b>", "features/canary.feature:17", "passed"),
    }
    assert "rolled back</span>" in page and "Rollback (@on-failure): rolled back: web2&lt;b&gt;" in page


def test_self_contained_no_network(tmp_path):
    _ret, page = _fake_run(tmp_path, _five_hosts())
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"""(?:src|href|action)\s*=\s*(?!["']?#)""", page), "a link or source leaves the page"
    assert "url(" not in page and "@import" not in page and "@font-face" not in page
    assert "default-src 'none'" in page  # and the browser enforces it


def test_fleet_of_500_opens_failed_groups_only_failed_rows_first(tmp_path):
    hosts = [FakeHost(f"web{i:03d}") for i in range(1, 501)]
    hosts[122] = FakeHost("web123", available=("4.2.5-1",))
    ret, page = _fake_run(tmp_path, hosts, batch="50")
    assert len(ret["pinned"]) == 500 > OPEN_UP_TO
    grid = read_grid(page)
    assert len(grid.groups) == 10
    assert [g.label for g in grid.groups if g.open] == ["Batch 3/10"]
    assert grid.groups[2].rows[0] == "web123"
    cells = deploy_cells(grid)
    assert cells == expected_cells(ret)
    assert len(cells) == 500 * 10 and counts(cells)["failed"] == 1
    assert len(page.encode()) < 2_000_000


def test_run_that_could_not_start_shows_the_error_and_no_grid(tmp_path):
    site = copy_site(tmp_path / "site")
    opts = {"cachedir": str(tmp_path / "cache"), "scenario_lb_address": "198.51.100.10"}
    fleet = FakeFleet([FakeHost("web1"), FakeHost("web2")], dead=["web2"])
    ret = engine_calls.recorded_run(
        opts, "update_website", DirSource(site), lambda: fleet, report_dir=str(tmp_path / "r")
    )
    assert ret["retcode"] == 3
    page = Path(ret["reports"]["html"]).read_text(encoding="utf-8")
    grid = read_grid(page)
    assert grid.cells == [] and grid.groups == []
    assert "ERROR \u00b7 exit 3" in page and "Error (exit 3):" in page
