"""Records that cannot be written stop a run cleanly: refused before it starts (exit 3),
stopped at the next step boundary when the write-ahead record fails mid-run (exit 6), and a
final record that cannot be appended is returned in full."""

import json
import os

import pytest

from saltext.scenario.engine.parsing.source import DirSource
from saltext.scenario.engine.records import inflight
from saltext.scenario.engine.service import recorded_run, writable
from tests.support import engine_calls as api
from tests.support.fake_fleet import FakeFleet, FakeHost

FEATURE = """Feature: Rolling
  Background:
    Given the load balancer has ip address 198.51.100.10
    And I want to update hosts with class roles::dev_server

  Scenario: Update
    When I block the load balancer
    When I update the package mywebapp to version 4.2.6-3
    When I unblock the load balancer
"""


@pytest.fixture
def site(tmp_path):
    (tmp_path / "site" / "features").mkdir(parents=True)
    (tmp_path / "site" / "features" / "rolling.feature").write_text(FEATURE)
    return DirSource(tmp_path / "site")


def _fleet():
    return FakeFleet([FakeHost("web1"), FakeHost("web2")])


@pytest.mark.parametrize("what", ["journal", "report"])
def test_a_records_directory_that_cannot_be_written_refuses_the_run_before_any_host(tmp_path, site, what):
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where a directory should be")
    opts = {"cachedir": str(tmp_path / "cache")}
    kw = {}
    if what == "journal":
        opts["scenario_journal"] = str(blocked / "journal.jsonl")
    else:
        kw["report_dir"] = str(blocked / "reports")
    fleet = _fleet()
    ret = api.recorded_run(opts, "rolling", site, lambda: fleet, **kw)
    assert ret["retcode"] == 3, ret
    assert str(blocked) in ret["error"] and "cannot be written" in ret["error"]
    assert "Traceback" not in json.dumps(ret)
    assert fleet.calls == [] and fleet.events == []  # no host touched, no event


def test_a_full_filesystem_is_named_with_its_error(tmp_path, monkeypatch):
    def full(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writable.os, "write", full)
    with pytest.raises(writable.RecordsUnwritable, match=r"No space left on device") as err:
        writable.check_writable([("journal", str(tmp_path / "j"))])
    assert err.value.retcode == 3 and str(tmp_path / "j") in str(err.value)
    assert not [p for p in os.listdir(tmp_path / "j") if p.startswith(writable.PROBE_NAME)]


def test_a_failed_write_ahead_rewrite_stops_the_run_at_the_next_step_boundary(tmp_path, site, monkeypatch):
    opts = {"cachedir": str(tmp_path / "cache")}
    real = inflight.InflightRecord.write_text
    fleet = _fleet()

    def filling(self, text):
        if any(fun == "pkgcheck.update" for _hosts, fun, _a, _k in fleet.calls):
            raise OSError(28, "No space left on device")  # the disk filled during the update
        real(self, text)

    monkeypatch.setattr(inflight.InflightRecord, "write_text", filling)
    ret = api.recorded_run(opts, "rolling", site, lambda: fleet)
    assert ret["retcode"] == 6, ret
    assert "could not be written (No space left on device)" in ret["interrupted"]
    # block, update ran; the unblock never started: the hosts stay out of the balancer
    assert [fun for _hosts, fun, _a, _k in fleet.calls] == ["lbgate.block", "pkgcheck.update"]
    assert fleet.blocked_hosts() == ["web1", "web2"]


def test_a_final_record_that_cannot_be_appended_is_returned_in_full(tmp_path, site, monkeypatch):
    opts = {"cachedir": str(tmp_path / "cache")}

    def refuse(path, record):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(recorded_run, "append", refuse)
    ret = api.recorded_run(opts, "rolling", site, _fleet)
    assert ret["retcode"] == 0
    (warning,) = [w for w in ret["warnings"] if w.startswith("journal record not written")]
    assert "Read-only file system" in warning
    record = json.loads(warning.split("; the record: ", 1)[1])
    assert record["run_id"] == ret["run_id"] and record["retcode"] == 0
