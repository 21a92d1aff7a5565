"""scenario.status and scenario.report_file: a run found by run id or runner jid, while it goes,
after it died and once it is in the journal; reports handed over as text."""

import os

import pytest

from saltext.scenario import config
from saltext.scenario.engine.records import journal
from saltext.scenario.engine.running.lock import ScenarioLock
from saltext.scenario.engine.service import service
from saltext.scenario.engine.service import status as run_status
from tests.unit.engine.records.test_write_ahead_and_resume import FEATURE, _kill_after_block, fleet, run

JID = "20261204184400123456"


@pytest.fixture
def site(tmp_path):
    """The write-ahead tests' rolling feature (web1..web3, one host per batch)."""
    (tmp_path / "site" / "features").mkdir(parents=True)
    (tmp_path / "site" / "features" / "rolling.feature").write_text(FEATURE)
    return tmp_path / "site"


@pytest.fixture
def opts(tmp_path):
    return {"cachedir": str(tmp_path / "cache"), "scenario_lb_address": "198.51.100.10"}


def test_a_running_run_by_its_jid_then_its_final_record(opts, site):
    path = journal.journal_path(config.load(opts))
    seen = []

    def look(event):
        if event["event"] == "step_finished" and event["text"].startswith("the package version"):
            seen.append(run_status.status(path, jid=int(JID)))  # salt-run hands a numeric jid as int

    ret = run(opts, site, fleet(broken={"web2"}), runner_jid=JID, listeners=[look])
    assert ret["retcode"] == 1
    first, failing = seen[0], seen[1]
    assert first["state"] == "running" and first["run_id"] == ret["run_id"] and "exit_code" not in first
    assert first["batch"] == [1, 3] and first["step"].startswith("Then the package version for mywebapp")
    assert failing["failed"] == ["web2"] and failing["held"] == ["web2"] and failing["batch"] == [2, 3]
    done = service.status(opts, jid=JID)
    assert (done["retcode"], done["state"], done["exit_code"]) == (0, "failed", 1)
    assert done["failed"] == ["web2"] and done["held"] == ["web2"] and done["batch"] == [2, 3]
    assert service.status(opts, ret["run_id"])["state"] == "failed"


def test_a_passed_run_a_refused_one_and_a_dead_one(opts, site, tmp_path):
    ret = run(opts, site, fleet(), report_dir=str(tmp_path / "reports"))
    done = service.status(opts, ret["run_id"])
    assert (done["state"], done["exit_code"], done["batch"], done["failed"]) == ("passed", 0, [3, 3], [])
    assert done["reports"]["junit_xml"] == ret["reports"]["junit_xml"]
    lock = ScenarioLock(opts["cachedir"], "rolling").acquire()  # another run holds the feature
    try:
        refused = run(opts, site, fleet(), runner_jid="77")
    finally:
        lock.release()
    told = service.status(opts, jid="77")
    assert refused["retcode"] == 4 and (told["state"], told["exit_code"]) == ("refused", 4)
    dead = _kill_after_block(opts, site)
    gone = service.status(opts, dead)
    assert (gone["state"], gone["exit_code"], gone["held"]) == ("interrupted", 6, ["web1"])


@pytest.mark.parametrize(
    ("run_id", "jid", "words"),
    [
        (None, None, "give a run id"),
        ("20261204184400-1a2b3c4d", "1", "not both"),
        ("nonsense", None, "not a run id"),
        (None, "12; rm", "not a job id"),
        ("20261204184400-1a2b3c4d", None, "no run 20261204184400-1a2b3c4d"),
        (None, "123", "a run started by job 123"),
    ],
)
def test_unknown_or_malformed_ids_exit_2(opts, run_id, jid, words):
    ret = service.status(opts, run_id, jid)
    assert ret["retcode"] == 2 and words in ret["error"], ret


def test_report_file_hands_over_the_written_file_or_renders_it(opts, site, tmp_path):
    written = run(opts, site, fleet(), report_dir=str(tmp_path / "reports"))
    got = service.report_file(opts, written["run_id"])
    assert got["retcode"] == 0 and got["source"] == written["reports"]["junit_xml"]
    with open(written["reports"]["junit_xml"], encoding="utf-8") as handle:
        assert got["content"] == handle.read() and got["bytes"] == len(got["content"].encode())
    bare = run(opts, site, fleet(broken={"web1"}))
    rendered = service.report_file(opts, bare["run_id"], "junit_xml")
    assert rendered["source"] == "rendered from the journal record" and "<failure" in rendered["content"]
    assert service.report_file(opts, bare["run_id"], "pdf")["retcode"] == 2
    assert service.report_file(opts, "20261204184400-1a2b3c4d")["retcode"] == 1


def test_report_file_refuses_a_report_over_the_bound(opts, site, tmp_path, monkeypatch):
    written = run(opts, site, fleet(), report_dir=str(tmp_path / "reports"))
    monkeypatch.setattr(run_status, "MAX_REPORT_BYTES", 100)
    ret = service.report_file(opts, written["run_id"])
    assert ret["retcode"] == 1 and written["reports"]["junit_xml"] in ret["error"]


def test_a_run_this_masters_records_do_not_know_is_answered_from_the_fleet_store(opts, site):
    ret = run(opts, site, fleet(broken={"web2"}))
    path = journal.journal_path(config.load(opts))
    os.rename(path, path + ".elsewhere")  # as if the run had been on another master
    told = service.status(opts, ret["run_id"])
    assert (told["retcode"], told["state"], told["exit_code"]) == (0, "failed", 1), told
    assert told["held"] == ["web2"] and told["master"] and told["reports"] == {}
    assert service.status(opts, "20261204184400-1a2b3c4d")["retcode"] == 2
