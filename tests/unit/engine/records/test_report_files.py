"""report_dir=: Cucumber JSON and JUnit XML from a run on a fake fleet agree with its return."""

import json
import os
from pathlib import Path

import pytest

from saltext.scenario import config
from saltext.scenario.engine.errors import InvalidScenario
from saltext.scenario.engine.parsing.source import DirSource
from saltext.scenario.engine.records.report_files import check_report_dir, report_stem
from tests.support import engine_calls
from tests.support.fake_dunders import load
from tests.support.fake_fleet import FakeFleet, FakeHost
from tests.support.report_checks import check_cucumber, expected_from_return, junit_failed, junit_totals
from tests.support.sites import copy_site


@pytest.fixture
def site(tmp_path):
    return copy_site(tmp_path)


@pytest.fixture
def opts(tmp_path):
    return {"cachedir": str(tmp_path / "cache"), "scenario_lb_address": "198.51.100.10"}


def _run(site, opts, fleet, report_dir, **kwargs):
    ret = engine_calls.recorded_run(
        opts, kwargs.pop("name", "update_website"), DirSource(site), lambda: fleet, report_dir=str(report_dir), **kwargs
    )
    cucumber = json.loads(Path(ret["reports"]["cucumber_json"]).read_text())
    junit = Path(ret["reports"]["junit_xml"]).read_bytes()
    return ret, cucumber, junit


def test_passing_run_reports_every_step_passed(site, opts, tmp_path):
    fleet = FakeFleet([FakeHost("web1"), FakeHost("web2"), FakeHost("web3")])
    ret, cucumber, junit = _run(site, opts, fleet, tmp_path / "reports" / "ci")
    assert ret["retcode"] == 0
    stem = f"update_website-{ret['run_id']}"
    assert sorted(os.listdir(tmp_path / "reports" / "ci")) == [
        f"{stem}.cucumber.json",
        f"{stem}.html",
        f"{stem}.junit.xml",
    ]
    assert ret["reports"]["html"] == str(tmp_path / "reports" / "ci" / f"{stem}.html")
    steps = check_cucumber(cucumber)
    feature = cucumber[0]
    assert (feature["uri"], feature["name"], feature["line"]) == (
        "features/update_website.feature",
        "Update the production systems",
        1,
    )
    assert [e["name"] for e in feature["elements"]] == ["Update the website"]
    assert len(steps) == 14 and {s["result"]["status"] for _n, s in steps} == {"passed"}
    block = steps[4][1]
    assert block["keyword"] == "When " and block["name"] == "I block the load balancer" and block["line"] == 9
    assert block["match"]["location"] == "features/update_website.feature:9"
    assert "web2: passed" in block["output"] and any(line.startswith("jids: ") for line in block["output"])
    root, totals = junit_totals(junit)
    assert totals == expected_from_return(ret)[0] == {"tests": 4 + 10 * 3, "failures": 0, "skipped": 0, "errors": 0}
    names = [c.get("name") for c in root.iter("testcase")]
    assert "When I block the load balancer (features/update_website.feature:9) [web2]" in names
    assert root.find("testsuite").get("name") == "Update the production systems"
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["run_id"] == ret["run_id"] and props["retcode"] == "0"


def test_failing_host_is_named_in_both_reports(site, opts, tmp_path):
    fleet = FakeFleet([FakeHost("web1"), FakeHost("web2", available=("4.2.5-1",)), FakeHost("web3")])
    ret, cucumber, junit = _run(site, opts, fleet, tmp_path / "r")
    assert ret["retcode"] == 1 and set(ret["failed_hosts"]) == {"web2"}
    steps = check_cucumber(cucumber)
    statuses = [s["result"]["status"] for _n, s in steps]
    assert statuses == [ps["status"] for ps in ret["scenarios"][0]["steps"]]
    failed = [s for _n, s in steps if s["result"]["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["line"] == 12  # the version check
    assert "web2: " in failed[0]["result"]["error_message"]
    assert "web1" not in failed[0]["result"]["error_message"]
    root, totals = junit_totals(junit)
    expected_totals, expected_failed = expected_from_return(ret)
    assert totals == expected_totals and totals["failures"] == 1
    assert junit_failed(root) == expected_failed == {("web2", "features/update_website.feature:12")}
    skipped = [c for c in root.iter("testcase") if c.find("skipped") is not None]
    assert skipped and all(
        "halted at features/update_website.feature:12" in c.find("skipped").get("message") for c in skipped
    )


def test_batches_are_separate_elements_and_unstarted_batches_skipped(site, opts, tmp_path):
    fleet = FakeFleet([FakeHost("web1"), FakeHost("web2", available=("4.2.5-1",)), FakeHost("web3")])
    ret, cucumber, junit = _run(site, opts, fleet, tmp_path / "r", name="rolling_update", batch="1")
    assert ret["retcode"] == 1 and ret["batches"] == [["web1"], ["web2"], ["web3"]]
    check_cucumber(cucumber)
    elements = cucumber[0]["elements"]
    assert [e["name"].split(" (", 1)[1] for e in elements] == [
        "batch 1/3: web1)",
        "batch 2/3: web2)",
        "batch 3/3: web3)",
    ]
    assert len({e["id"] for e in elements}) == 3
    by_batch = [{s["result"]["status"] for s in e["steps"]} for e in elements]
    assert by_batch == [{"passed"}, {"passed", "failed", "skipped"}, {"skipped"}]
    root, totals = junit_totals(junit)
    assert totals == expected_from_return(ret)[0]
    web3 = [c for c in root.iter("testcase") if c.get("name").endswith("[web3]")]
    assert web3 and all("batch 3/3 not started" in c.find("skipped").get("message") for c in web3)


def test_run_that_cannot_start_gives_an_error_testcase(site, opts, tmp_path):
    fleet = FakeFleet([FakeHost("web1"), FakeHost("web2"), FakeHost("web3")], dead=["web2"])
    ret, cucumber, junit = _run(site, opts, fleet, tmp_path / "r")
    assert ret["retcode"] == 3 and cucumber == []
    root, totals = junit_totals(junit)
    assert totals == {"tests": 1, "failures": 0, "skipped": 0, "errors": 1}
    assert root.find(".//error").get("type") == "exit 3"


@pytest.mark.parametrize("bad", ["reports", "./r", "-rf", "/tmp/../etc", "/tmp/a\nb", "", 5])
def test_report_dir_is_checked_before_anything_runs(site, opts, tmp_path, bad):
    fleet = FakeFleet([FakeHost("web1"), FakeHost("web2"), FakeHost("web3")])
    with pytest.raises(InvalidScenario):
        check_report_dir(bad)
    ret = engine_calls.recorded_run(opts, "update_website", DirSource(site), lambda: fleet, report_dir=bad)
    assert ret["retcode"] == 2 and "report_dir" in ret["error"]
    assert fleet.calls == [] and fleet.events == []


def test_report_stem_is_filename_safe():
    assert report_stem({"uri": "features/team/deploy.feature", "run_id": "r1"}) == "deploy-r1"
    assert report_stem({"name": "../x y", "run_id": "r2"}) == "x_y-r2"


def test_outputter_lists_the_report_paths(site, opts, tmp_path):
    fleet = FakeFleet([FakeHost("web1"), FakeHost("web2"), FakeHost("web3")])
    ret, _cucumber, _junit = _run(site, opts, fleet, tmp_path / "r")
    text = load("_output/scenario.py", opts={"color": False}).output(ret)
    lines = text.splitlines()
    at = lines.index("Reports:")
    assert lines[at + 1 : at + 4] == [f"  {ret['reports'][kind]}" for kind in ("cucumber_json", "html", "junit_xml")]


def test_aborted_run_is_an_error_in_junit_and_keeps_its_finished_steps_in_the_journal(site, opts, tmp_path):
    from saltext.scenario.engine.records import journal

    fleet = FakeFleet([FakeHost("web1"), FakeHost("web2"), FakeHost("web3")])

    def master_dies(_fleet, fun):
        # In the publish after the block's (block and its check share one).
        if fun == "pkgcheck.update":
            raise RuntimeError("master client lost")

    fleet.after_call = master_dies
    ret, cucumber, junit = _run(site, opts, fleet, tmp_path / "r")
    assert ret["retcode"] == 1 and ret["result"] == "error" and cucumber == []
    root, totals = junit_totals(junit)
    assert totals["errors"] == 1 and "master client lost" in root.find(".//error").get("message")
    assert len(root.find("testsuite").get("timestamp")) == 19
    record, _ = journal.find(journal.journal_path(config.load(opts)), ret["run_id"])
    assert [s["location"] for s in record["steps"]] == [
        f"features/update_website.feature:{n}" for n in (3, 4, 5, 6, 9, 10)
    ]
    assert record["steps"][-1]["hosts"]["web2"] == {"status": "passed", "reason": None}
    assert "hosts may be left blocked" in record["error"]
    assert record["still_blocked"] == ["web1", "web2", "web3"]
