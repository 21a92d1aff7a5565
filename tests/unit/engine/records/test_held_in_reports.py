"""Held hosts appear in every report of a run, taken from its one return (records/held_hosts.py).

On a fake fleet through the local fleet store: a deploy fails on web2 and holds it; a gate run
with exclude_held=True leaves web2 out; a gate run without it is refused (exit 4). Each run's
Cucumber JSON, JUnit XML, HTML page and terminal output name the held hosts, and so do the
reports rendered again from the journal (scenario.report) and scenario.history.
"""

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from saltext.scenario import config
from saltext.scenario.engine.errors import EXIT_FAILED, EXIT_LOCKED, EXIT_PASSED
from saltext.scenario.engine.parsing.source import DirSource
from saltext.scenario.engine.records import journal
from saltext.scenario.engine.records.cucumber_json import cucumber_report
from saltext.scenario.engine.records.held_hosts import held_hosts
from saltext.scenario.engine.records.html_report import html_report
from saltext.scenario.engine.records.junit_xml import junit_report
from saltext.scenario.engine.service import service
from tests.support import engine_calls
from tests.support.fake_dunders import load
from tests.support.fake_fleet import FakeFleet, FakeHost

BACKGROUND = """  Background:
    Given the load balancer has ip address 198.51.100.10
    And I want to update hosts with class roles::dev_server
"""
DEPLOY = f"""Feature: Deploy
  The website, one host at a time.

{BACKGROUND}    And I update 1 host at a time

  Scenario: Update
    When I block the load balancer
    When I update the package mywebapp to version 4.2.6-3
    Then the package version for mywebapp should be 4.2.6-3
    When I unblock the load balancer
"""
GATE = f"""Feature: Gate
{BACKGROUND}
  Scenario: Gate every host
    When I block the load balancer
    Then traffic from the load balancer should be blocked
    When I unblock the load balancer
"""
HOSTS = ("web1", "web2", "web3")


@pytest.fixture
def site(tmp_path):
    features = tmp_path / "site" / "features"
    features.mkdir(parents=True)
    (features / "deploy.feature").write_text(DEPLOY)
    (features / "gate.feature").write_text(GATE)
    return tmp_path / "site"


@pytest.fixture
def opts(tmp_path):
    return {"cachedir": str(tmp_path / "cache"), "scenario_lb_address": "198.51.100.10", "id": "master1"}


@pytest.fixture
def hosts():
    # web2 cannot install the new version: it fails, stays out of the balancer and is held.
    return FakeFleet([FakeHost(h, available=["4.2.5-1"] if h == "web2" else ["4.2.5-1", "4.2.6-3"]) for h in HOSTS])


def run(opts, site, the_fleet, tmp_path, name, **kw):
    """The run's return and its reports as written into report_dir: (ret, cucumber, junit root, html)."""
    reports = tmp_path / f"reports-{name}-{len(list(tmp_path.glob('reports-*')))}"
    ret = engine_calls.recorded_run(
        opts, name, DirSource(site), lambda: the_fleet, user="alice", report_dir=str(reports), **kw
    )
    paths = ret["reports"]
    return (
        ret,
        json.loads(Path(paths["cucumber_json"]).read_text()),
        ET.parse(paths["junit_xml"]).getroot(),
        Path(paths["html"]).read_text(),
    )


def properties(junit):
    return {p.get("name"): p.get("value") for p in junit.iter("property")}


def system_out(junit):
    (suite,) = junit.iter("testsuite")
    found = suite.find("system-out")
    return found.text if found is not None else None


def terminal(ret):
    return load("_output/scenario.py", opts={"color": False}).output(ret)


def replayed(opts, tmp_path, run_id):
    """The reports scenario.report renders from the journal record: (cucumber, junit root, html)."""
    target = tmp_path / f"replayed-{run_id}"
    answer = service.report(opts, run_id, str(target))
    assert answer["retcode"] == 0, answer
    paths = answer["reports"]
    return (
        json.loads(Path(paths["cucumber_json"]).read_text()),
        ET.parse(paths["junit_xml"]).getroot(),
        Path(paths["html"]).read_text(),
    )


def record_of(opts, run_id):
    record, _ = journal.find(journal.journal_path(config.load(opts)), run_id)
    return record


def test_a_failed_run_names_the_host_it_holds_in_every_report(opts, site, hosts, tmp_path):
    ret, cucumber, junit, html = run(opts, site, hosts, tmp_path, "deploy")
    assert ret["retcode"] == EXIT_FAILED and ret["holds"] == ["web2"], ret
    run_id = ret["run_id"]
    line = (
        f"Held by this run, out of the balancer (1): web2 (until salt-run scenario.resume {run_id} passes "
        "or salt-run scenario.release clears them)"
    )
    assert held_hosts(ret).lines(run_id) == [line]
    # Cucumber JSON: after the feature's own description, in the field every consumer shows.
    (feature,) = cucumber
    assert feature["description"] == f"The website, one host at a time.\n\n{line}"
    assert set(feature) == {"uri", "id", "keyword", "name", "line", "description", "tags", "elements"}
    # JUnit: a property per kind, the sentence in the suite's output.
    props = properties(junit)
    assert props["holds"] == "web2" and "held" not in props and "held_by" not in props
    assert props["held_hosts"] == line and system_out(junit) == line
    # HTML: the summary's alert, and the host's row flagged.
    assert line in html.replace("&#x27;", "'")
    assert 'title="held by this run: no other run may touch it until released">held</span>' in html
    # The terminal (salt-run's outputter) and scenario.show (the journal record).
    assert line in terminal(ret)
    record = record_of(opts, run_id)
    assert record["holds"] == ["web2"]
    assert line in terminal({"retcode": 0, "result": "record", "record": record})
    # The same reports rendered again from the journal.
    again_cucumber, again_junit, again_html = replayed(opts, tmp_path, run_id)
    assert again_cucumber[0]["description"].endswith(line)
    assert properties(again_junit)["holds"] == "web2" and line in again_html.replace("&#x27;", "'")


def test_hosts_left_out_by_exclude_held_are_in_every_report_and_history(opts, site, hosts, tmp_path):
    first, *_ = run(opts, site, hosts, tmp_path, "deploy")
    ret, cucumber, junit, html = run(opts, site, hosts, tmp_path, "gate", exclude_held=True)
    assert ret["retcode"] == EXIT_PASSED and ret["held"] == ["web2"] and ret["holds"] == [], ret
    line = "Held by other runs, left out (1): web2"
    # A feature without a description of its own: the held line is all of it.
    assert cucumber[0]["description"] == line
    props = properties(junit)
    assert props["held"] == "web2" and "holds" not in props and system_out(junit) == line
    assert line in html
    assert line in terminal(ret)
    record = record_of(opts, ret["run_id"])
    assert record["held"] == ["web2"]
    assert line in terminal({"retcode": 0, "result": "record", "record": record})
    again_cucumber, again_junit, _html = replayed(opts, tmp_path, ret["run_id"])
    assert again_cucumber[0]["description"] == line and properties(again_junit)["held"] == "web2"
    history = service.history(opts, None, limit=2)
    newest, older = history["lines"]
    assert newest.startswith(ret["run_id"]) and newest.endswith("left out (held by other runs): web2")
    assert older.startswith(first["run_id"]) and "holds: web2" in older


def test_a_run_refused_by_a_hold_names_it_in_junit_html_and_the_journal(opts, site, hosts, tmp_path):
    first, *_ = run(opts, site, hosts, tmp_path, "deploy")
    ret, cucumber, junit, html = run(opts, site, hosts, tmp_path, "gate")
    assert ret["retcode"] == EXIT_LOCKED and [h["host"] for h in ret["held_by"]] == ["web2"], ret
    line = f"Refused, held by other runs (1): web2 held by run {first['run_id']} (feature 'deploy', master master1)"
    assert held_hosts(ret).lines() == [line]
    # Nothing ran: no feature to describe (cucumber_json.py's doc); the JUnit error and the page say it.
    assert cucumber == []
    props = properties(junit)
    assert props["held_by"] == "web2" and system_out(junit) == line
    (error,) = junit.iter("error")
    assert "web2 is held by run" in error.get("message")
    assert line in html.replace("&#x27;", "'")
    assert "web2 is held by run" in terminal(ret)
    record = record_of(opts, ret["run_id"])
    assert [h["host"] for h in record["held_by"]] == ["web2"]
    _cucumber, again_junit, again_html = replayed(opts, tmp_path, ret["run_id"])
    assert properties(again_junit)["held_by"] == "web2" and line in again_html.replace("&#x27;", "'")
    (again_error,) = again_junit.iter("error")
    assert "web2 is held by run" in again_error.get("message")


def test_a_run_without_held_hosts_adds_nothing(opts, site, tmp_path):
    fine = FakeFleet([FakeHost(h) for h in HOSTS])
    ret, cucumber, junit, html = run(opts, site, fine, tmp_path, "deploy")
    assert ret["retcode"] == EXIT_PASSED and not held_hosts(ret)
    assert cucumber[0]["description"] == "The website, one host at a time."
    assert not {"holds", "held", "held_by", "held_hosts"} & set(properties(junit)) and system_out(junit) is None
    assert "Held by" not in html and "Held by" not in terminal(ret)


def test_the_writers_read_the_held_hosts_from_the_return_they_are_given():
    # No fleet store, no journal: only the return. A hold row ({"host": ...}) counts as its host.
    ret = {
        "retcode": 4,
        "result": "error",
        "name": "gate",
        "run_id": "20261205000000-0badc0de",
        "error": "refused",
        "held_by": [{"host": "web9", "run_id": "r1", "feature": "deploy", "master": "m2"}],
        "holds": [{"host": "web8"}],
        "held": ["web7", "web7"],
    }
    held = held_hosts(ret)
    assert (held.holding, held.left_out, held.refused_hosts()) == (["web8"], ["web7"], ["web9"])
    assert cucumber_report(ret, None) == []
    props = properties(ET.fromstring(junit_report(ret, None)))
    assert (props["holds"], props["held"], props["held_by"]) == ("web8", "web7", "web9")
    page = html_report(ret, None).decode().replace("&#x27;", "'")
    assert all(line in page for line in held.lines(ret["run_id"]))
