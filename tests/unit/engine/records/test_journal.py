"""The run journal: append-only records, history and show, damaged lines, id checks."""

import json
import os
import shutil
from pathlib import Path

import pytest

from saltext.scenario import config
from saltext.scenario.engine.errors import InvalidScenario
from saltext.scenario.engine.parsing.source import DirSource
from saltext.scenario.engine.records import journal
from tests.support import engine_calls
from tests.support.fake_dunders import load
from tests.support.fake_fleet import FakeFleet, FakeHost, default_fleet
from tests.support.sites import SITE


def _rec(run_id, name="update_website", retcode=0):
    return {"run_id": run_id, "name": name, "retcode": retcode, "started": f"t{run_id}", "summary": f"s{run_id}"}


def _ids(n):
    return [f"202611250{i:05d}-0000000{i % 10}" for i in range(n)]


def test_append_writes_one_line_per_record_and_never_rewrites(tmp_path):
    path = str(tmp_path / "j" / "journal.jsonl")
    ids = _ids(3)
    for run_id in ids:
        journal.append(path, _rec(run_id))
    lines = Path(path).read_text().splitlines()
    assert [json.loads(line)["run_id"] for line in lines] == ids
    before = Path(path).read_bytes()
    journal.append(path, _rec(_ids(4)[3]))
    assert Path(path).read_bytes().startswith(before)  # appended, earlier bytes untouched
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


def test_history_is_newest_first_with_limit_and_name_filter(tmp_path):
    path = str(tmp_path / "journal.jsonl")
    ids = _ids(6)
    for i, run_id in enumerate(ids):
        journal.append(path, _rec(run_id, name="a" if i % 2 else "b", retcode=i % 2))
    runs, warnings = journal.history(path, limit=3)
    assert [r["run_id"] for r in runs] == ids[:2:-1] and warnings == []
    runs, _ = journal.history(path, name="a", limit=20)
    assert [r["run_id"] for r in runs] == [ids[5], ids[3], ids[1]] and {r["retcode"] for r in runs} == {1}
    assert journal.history(str(tmp_path / "missing.jsonl")) == ([], [])
    for bad in (0, -1, "x", 10001, True):
        with pytest.raises(InvalidScenario):
            journal.history(path, limit=bad)


def test_damaged_line_is_skipped_with_a_warning(tmp_path, caplog):
    path = tmp_path / "journal.jsonl"
    ids = _ids(3)
    journal.append(str(path), _rec(ids[0]))
    with open(path, "ab") as handle:
        handle.write(b'{"run_id": "20261125000001-0000000\n')  # a torn record
        handle.write(b"\xff\xfe not json\n")
        handle.write(b"[1, 2]\n")
    journal.append(str(path), _rec(ids[2]))
    runs, warnings = journal.history(str(path))
    assert [r["run_id"] for r in runs] == [ids[2], ids[0]]
    assert len(warnings) == 3 and f"{path}:2: damaged journal line skipped" in warnings[0]
    assert "damaged journal line" in caplog.text
    record, warnings = journal.find(str(path), ids[2])
    assert record["summary"] == f"s{ids[2]}" and len(warnings) == 3


@pytest.mark.parametrize(
    "bad",
    ["../x", "20261125", "20261125031500-1A2B3C4D", "20261125031500-1a2b3c4d\n", "-20261125031500-1a2b3c4", None, 5],
)
def test_show_validates_the_run_id(tmp_path, bad):
    with pytest.raises(InvalidScenario):
        journal.find(str(tmp_path / "journal.jsonl"), bad)


def test_journal_path_from_cachedir_or_option(tmp_path):
    assert journal.journal_path(config.load({"cachedir": "/c"})) == "/c/scenario/journal.jsonl"
    assert (
        journal.journal_path(config.load({"cachedir": "/c", "scenario_journal": "/var/log/j.jsonl"}))
        == "/var/log/j.jsonl"
    )
    with pytest.raises(config.InvalidOption):
        journal.journal_path(config.load({"cachedir": "/c", "scenario_journal": "rel/j.jsonl"}))


@pytest.fixture
def site(tmp_path):
    (tmp_path / "features").mkdir()
    shutil.copy(SITE / "features" / "update_website.feature", tmp_path / "features")
    return tmp_path


def test_every_run_gets_a_record_matching_its_return(site, tmp_path):
    opts = {"cachedir": str(tmp_path / "cache"), "scenario_lb_address": "198.51.100.10"}
    fleet = FakeFleet([FakeHost("web1"), FakeHost("web2", available=("4.2.5-1",)), FakeHost("web3")])
    ret = engine_calls.recorded_run(
        opts, "update_website", DirSource(site), lambda: fleet, user="alice", runner_jid="j1"
    )
    bad = engine_calls.recorded_run(opts, "../x", DirSource(site), lambda: fleet)
    test = engine_calls.recorded_run(opts, "update_website", DirSource(site), lambda: fleet, test=True)
    assert (ret["retcode"], bad["retcode"], test["result"]) == (1, 2, "plan")
    path = journal.journal_path(config.load(opts))
    lines = Path(path).read_text().splitlines()
    assert len(lines) == 2  # test mode changes nothing and is not journaled
    record, _ = journal.find(path, ret["run_id"])
    assert record["user"] == "alice" and record["runner_jid"] == "j1" and record["retcode"] == 1
    assert record["started"].endswith("Z") and record["started"] <= record["finished"]
    assert record["pinned"] == ["web1", "web2", "web3"] and record["still_blocked"] == ["web1", "web2", "web3"]
    assert record["summary"] == ret["summary"]
    version = next(s for s in record["steps"] if s["location"] == "features/update_website.feature:12")
    assert version["status"] == "failed" and version["jids"]
    assert version["hosts"]["web2"] == {"status": "failed", "reason": "installed '4.2.5-1', expected '4.2.6-3'"}
    assert version["hosts"]["web1"] == {"status": "passed", "reason": None}
    refused, _ = journal.find(path, bad["run_id"])
    assert refused["retcode"] == 2 and "path traversal" in refused["error"] and refused["steps"] == []


@pytest.fixture
def runner(tmp_path, monkeypatch, site):
    mod = load(
        "_runners/scenario.py", opts={"cachedir": str(tmp_path / "cache"), "scenario_lb_address": "198.51.100.10"}
    )
    engine_calls.fake_salt(monkeypatch, site, default_fleet())
    return mod


def test_runner_history_and_show(runner, tmp_path):
    first = runner.run("update_website", report_dir=str(tmp_path / "reports"))
    second = runner.run("update_website")
    assert first["retcode"] == second["retcode"] == 0 and os.path.exists(first["reports"]["junit_xml"])
    hist = runner.history()
    assert hist["retcode"] == 0 and runner.__context__["retcode"] == 0
    assert [r["run_id"] for r in hist["runs"]] == [second["run_id"], first["run_id"]]
    assert (
        hist["lines"][0].startswith(f"{second['run_id']}  ")
        and "update_website  exit 0  1 scenario" in hist["lines"][0]
    )
    assert [r["run_id"] for r in runner.history(name="update_website", limit=1)["runs"]] == [second["run_id"]]
    assert runner.history(name="other")["runs"] == []
    shown = runner.show(first["run_id"])
    assert shown["retcode"] == 0 and shown["record"]["reports"] == first["reports"]
    assert runner.show("20000101000000-00000000")["retcode"] == 1 and runner.__context__["retcode"] == 1
    assert runner.show("../etc/passwd")["retcode"] == 2 and runner.__context__["retcode"] == 2
    assert runner.history(limit="lots")["retcode"] == 2
    assert runner.run("update_website", report_dir="relative/dir")["retcode"] == 2
    for func in (runner.history, runner.show):
        assert "CLI Example:" in func.__doc__


def test_outputter_prints_history_one_line_per_run_and_a_record_as_a_tree(runner):
    out = load("_output/scenario.py", opts={"color": False})
    first, second = runner.run("update_website"), runner.run("update_website")
    text = out.output(runner.history())
    lines = text.splitlines()
    assert len(lines) == 2 and lines[0].startswith(second["run_id"]) and lines[1].startswith(first["run_id"])
    assert "exit 0" in lines[0] and "14 steps (14 passed)" in lines[0]
    assert out.output({"retcode": 0, "result": "history", "runs": [], "lines": []}) == "(no runs in the journal)"
    shown = out.output(runner.show(first["run_id"]))
    assert (
        f"  run: {first['run_id']}" in shown
        and "When I block the load balancer  # features/update_website.feature:9" in shown
    )


def _append_many(path, writer, count):
    for i in range(count):
        # Records of ~20 kB: several pages each, so interleaving would show if appends were not whole.
        journal.append(path, {"run_id": f"2026112500{writer:04d}-{i:08x}", "name": "w", "pad": str(writer) * 20000})


def test_concurrent_appends_from_processes_never_interleave(tmp_path):
    import multiprocessing

    path = str(tmp_path / "journal.jsonl")
    procs = [multiprocessing.Process(target=_append_many, args=(path, w, 40)) for w in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert [proc.exitcode for proc in procs] == [0, 0, 0, 0]
    warnings = []
    records = list(journal.records(path, warnings))
    assert warnings == [] and len(records) == 160
    assert all(r["pad"] == r["run_id"][13] * 20000 for r in records)
    assert len(Path(path).read_text().splitlines()) == 160


def test_runner_report_writes_the_three_files_of_any_run(runner, tmp_path):
    ran = runner.run("update_website")
    ret = runner.report(ran["run_id"], dir=str(tmp_path / "later"))
    assert ret["retcode"] == 0 and runner.__context__["retcode"] == 0
    assert sorted(ret["reports"]) == ["cucumber_json", "html", "junit_xml"]
    assert all(os.path.exists(path) for path in ret["reports"].values())
    assert runner.report(ran["run_id"], dir="relative")["retcode"] == 2
    assert runner.report("20000101000000-00000000", dir=str(tmp_path))["retcode"] == 1
    assert "CLI Example:" in runner.report.__doc__
    text = load("_output/scenario.py", opts={"color": False}).output(ret)
    assert text.startswith(f"Reports of run {ran['run_id']}:") and ret["reports"]["html"] in text
