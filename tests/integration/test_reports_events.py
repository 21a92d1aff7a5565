"""Run records on a sandbox: the bus events, the report_dir= reports and the journal record of a
run all carry the verdict of its return data, for a passing and a failing run.

The session's sandbox (default spec, with the integration tests' features), shared with other
modules. The failing run breaks web2's NRPE load check for one run (its nrpe.cfg, inside web2's
mount namespace) instead of building a second sandbox; every test puts the fleet back as it
found it.
"""

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.support.master_bus import Bus
from tests.support.report_checks import check_cucumber, expected_from_return, junit_failed, junit_totals
from tests.support.scenario_cli import WEB, probes, reset, scenario

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

NRPE_CFG = "/etc/nagios/nrpe.cfg"
OVERLOADED = "command[check_load]=/usr/lib/nagios/plugins/check_dummy 2 overloaded"
EVENTS_PER_RUN = 17  # run/started, batch/started, 14 step/finished (skipped ones too), run/finished


@pytest.fixture(scope="module")
def sb(sandbox):
    return sandbox


@pytest.fixture(scope="module")
def master_cachedir(sb):
    config = yaml.safe_load((Path(sb.master_conf_dir) / "master").read_text())
    return Path(config["cachedir"])


@pytest.fixture
def overloaded_web2(sb):
    """web2's check_load reports CRITICAL for the duration of one test."""
    reset(sb)
    sb.exec("web2", ["cp", "-p", NRPE_CFG, f"{NRPE_CFG}.orig"], check=True)
    try:
        sb.exec("web2", ["sed", "-i", f"s|^command\\[check_load\\]=.*|{OVERLOADED}|", NRPE_CFG], check=True)
        yield sb
    finally:
        sb.exec("web2", ["mv", f"{NRPE_CFG}.orig", NRPE_CFG], check=True)
        reset(sb)


def _observed_run(sb, report_dir):
    """(ret, [(tag, data)]) of one scenario.run with a listener on the master bus."""
    bus = Bus(sb, {"/run/finished": 1}, grace=0.5)
    code, ret, _ = scenario(sb, "run", "update_website", f"report_dir={report_dir}")
    events = [(e["tag"], e["data"]) for e in bus.events() if e["tag"].startswith("saltext/scenario/")]
    assert code == ret["retcode"], ret
    assert len(events) == EVENTS_PER_RUN, [tag for tag, _data in events]
    return ret, events


def _ret_steps(ret):
    return [st for sc in ret["scenarios"] for st in sc["steps"]]


def _check_events(ret, events):
    run_id = ret["run_id"]
    tags = [tag for tag, _data in events]
    assert tags[0] == f"saltext/scenario/{run_id}/run/started"
    assert tags[-1] == f"saltext/scenario/{run_id}/run/finished"
    assert tags[1] == f"saltext/scenario/{run_id}/batch/started"
    assert tags[2:-1] == [f"saltext/scenario/{run_id}/step/finished"] * 14
    assert all(data["run_id"] == run_id for _tag, data in events)
    started, finished = events[0][1], events[-1][1]
    assert started["pinned"] == ret["pinned"] == WEB and started["batches"] == ret["batches"]
    assert finished["retcode"] == ret["retcode"] and finished["still_blocked"] == ret["still_blocked"]
    by_location = {data["location"]: data for _tag, data in events[2:-1]}
    for st in _ret_steps(ret):
        ev = by_location[st["location"]]
        assert ev["status"] == st["status"], st["location"]
        assert ev["jids"] == st["jids"]
        if st["call"] and st["status"] != "skipped":
            assert ev["jids"], f"no jids on {st['location']}"
            assert ev["hosts"] == {
                h: {"ok": r["status"] == "passed", "reason": r.get("reason")} for h, r in st["hosts"].items()
            }
            assert sorted(ev["passed"]) == sorted(h for h, r in st["hosts"].items() if r["status"] == "passed")
    return by_location


def _check_reports(ret, report_dir):
    stem = f"update_website-{ret['run_id']}"
    assert ret["reports"] == {
        "cucumber_json": str(report_dir / f"{stem}.cucumber.json"),
        "junit_xml": str(report_dir / f"{stem}.junit.xml"),
        "html": str(report_dir / f"{stem}.html"),
    }
    cucumber = json.loads(Path(ret["reports"]["cucumber_json"]).read_text())
    steps = check_cucumber(cucumber)
    assert [s["result"]["status"] for _n, s in steps] == [st["status"] for st in _ret_steps(ret)]
    assert [f"{cucumber[0]['uri']}:{s['line']}" for _n, s in steps] == [st["location"] for st in _ret_steps(ret)]
    for (_name, step), st in zip(steps, _ret_steps(ret), strict=True):
        failed = {h: r["reason"] for h, r in st["hosts"].items() if r["status"] == "failed"}
        for host, reason in failed.items():
            assert f"{host}: {reason}" in step["result"]["error_message"]
    root, totals = junit_totals(Path(ret["reports"]["junit_xml"]).read_bytes())
    expected_totals, expected_failed = expected_from_return(ret)
    assert totals == expected_totals
    assert junit_failed(root) == expected_failed
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["run_id"] == ret["run_id"] and props["retcode"] == str(ret["retcode"])
    return totals, steps


def _check_journal(sb, ret):
    code, shown, _ = scenario(sb, "show", ret["run_id"])
    assert code == 0, shown
    record = shown["record"]
    assert (record["run_id"], record["retcode"], record["summary"]) == (ret["run_id"], ret["retcode"], ret["summary"])
    assert record["pinned"] == ret["pinned"] and record["still_blocked"] == ret["still_blocked"]
    assert record["reports"] == ret.get("reports")
    for rec_step, st in zip(record["steps"], _ret_steps(ret), strict=True):
        assert (rec_step["location"], rec_step["status"], rec_step["jids"]) == (
            st["location"],
            st["status"],
            st["jids"],
        )
        assert rec_step["hosts"] == {
            h: {"status": r["status"], "reason": r.get("reason")} for h, r in st["hosts"].items()
        }
    return record


def test_passing_run_events_reports_and_journal_agree(sb, tmp_path):
    reset(sb)
    ret, events = _observed_run(sb, tmp_path / "ci")
    assert ret["retcode"] == 0, ret
    by_location = _check_events(ret, events)
    block = by_location["features/update_website.feature:9"]
    assert block["text"] == "I block the load balancer" and block["hosts"] == {
        h: {"ok": True, "reason": None} for h in WEB
    }
    totals, steps = _check_reports(ret, tmp_path / "ci")
    assert totals == {"tests": 4 + 10 * 3, "failures": 0, "skipped": 0, "errors": 0}
    assert {s["result"]["status"] for _n, s in steps} == {"passed"}
    record = _check_journal(sb, ret)
    assert record["still_blocked"] == [] and record["started"] < record["finished"]


def test_failing_run_events_reports_and_journal_name_the_failed_host(overloaded_web2, tmp_path):
    sb = overloaded_web2
    ret, events = _observed_run(sb, tmp_path / "ci")
    assert ret["retcode"] == 1, ret
    assert set(ret["failed_hosts"]) == {"web2"}
    assert ret["failed_hosts"]["web2"]["location"] == "features/update_website.feature:16"
    by_location = _check_events(ret, events)
    load = by_location["features/update_website.feature:16"]
    assert load["status"] == "failed" and load["failed"] == ["web2"] and load["passed"] == ["web1", "web3"]
    assert "CRITICAL" in load["hosts"]["web2"]["reason"] and "overloaded" in load["hosts"]["web2"]["reason"]
    assert events[-1][1]["still_blocked"] == WEB
    totals, steps = _check_reports(ret, tmp_path / "ci")
    assert totals == {"tests": 34, "failures": 1, "skipped": 6, "errors": 0}
    assert [s["result"]["status"] for _n, s in steps][-3:] == ["failed", "skipped", "skipped"]
    assert "web2: CRITICAL" in steps[-3][1]["result"]["error_message"]
    record = _check_journal(sb, ret)
    assert record["failed_hosts"]["web2"]["location"] == "features/update_website.feature:16"
    assert probes(sb) == dict.fromkeys(WEB, False)  # unblock never ran: the reports did not change that


def test_journal_survives_the_loss_of_the_job_cache(sb, master_cachedir):
    reset(sb)
    code, ret, _ = scenario(sb, "run", "update_website")
    assert code == 0, ret
    jid = _ret_steps(ret)[4]["jids"][0]
    shutil.rmtree(master_cachedir / "jobs")
    lookup = sb.salt_run("jobs.lookup_jid", jid, "--out=json", timeout=60)
    assert jid not in lookup.stdout and not json.loads(lookup.stdout or "{}")  # the job cache forgot the run
    code, hist, _ = scenario(sb, "history", "name=update_website", "limit=50")
    assert code == 0, hist
    assert hist["runs"][0]["run_id"] == ret["run_id"] and hist["runs"][0]["retcode"] == 0
    assert [r["started"] for r in hist["runs"]] == sorted((r["started"] for r in hist["runs"]), reverse=True)
    record = _check_journal(sb, ret)
    assert record["steps"][4]["jids"] == [jid]
    human = sb.salt_run("scenario.history", "limit=1", timeout=60)
    assert human.returncode == 0 and ret["run_id"] in human.stdout
    code, missing, _ = scenario(sb, "show", "20000101000000-00000000")
    assert code == 1 and "no run" in missing["error"]
    code, bad, _ = scenario(sb, "show", "../../etc/passwd")
    assert code == 2 and "not a run id" in bad["error"]
    code, refused, _ = scenario(sb, "run", "update_website", "report_dir=relative/reports")
    assert code == 2 and "absolute" in refused["error"]


def test_rolling_batches_show_per_batch_in_events_and_reports(sb, tmp_path):
    reset(sb)
    code, ret, _ = scenario(sb, "run", "update_website", "batch=1", f"report_dir={tmp_path}")
    assert code == 0, ret
    assert ret["batches"] == [["web1"], ["web2"], ["web3"]]
    cucumber = json.loads(Path(ret["reports"]["cucumber_json"]).read_text())
    check_cucumber(cucumber)
    elements = cucumber[0]["elements"]
    assert [e["name"] for e in elements] == [f"Update the website (batch {i}/3: web{i})" for i in (1, 2, 3)]
    for element in elements:
        steps = element["steps"]
        assert len(steps) == 14 and {s["result"]["status"] for s in steps} == {"passed"}
        block = steps[4]
        assert block["output"][0] == f"{element['name'][-5:-1]}: passed"  # only that batch's host
    root, totals = junit_totals(Path(ret["reports"]["junit_xml"]).read_bytes())
    assert totals == expected_from_return(ret)[0] == {"tests": 4 + 10 * 3, "failures": 0, "skipped": 0, "errors": 0}
    # each batch's call has its own jid: the return lists all three, the host's testcase its own
    update = _ret_steps(ret)[6]
    assert len(update["jids"]) == 3
    outs = {c.get("name")[-5:-1]: c.find("system-out").text for c in root.iter("testcase") if c.get("line") == "11"}
    assert sorted(outs.values()) == sorted(f"jids: {jid}" for jid in update["jids"])
