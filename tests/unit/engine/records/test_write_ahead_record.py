"""The write-ahead record encodes each step once, and still says exactly what build() says."""

import json
from pathlib import Path

import pytest

from saltext.scenario.engine.parsing.source import DirSource
from saltext.scenario.engine.records import inflight, journal_record
from saltext.scenario.engine.records.inflight import InflightRecord, with_lists
from saltext.scenario.engine.records.run_recorder import RunRecorder
from saltext.scenario.engine.service.recorded_run import _WRITE_ON, WriteAhead
from tests.support import engine_calls as api
from tests.support.fake_fleet import FakeFleet, FakeHost

FEATURE = """Feature: Rolling
  Background:
    Given the load balancer has ip address 198.51.100.10
    And I want to update hosts with class roles::dev_server
    And I update 2 hosts at a time

  Scenario: Update
    When I block the load balancer
    Then traffic from the load balancer should be blocked
    When I update the package mywebapp to version 4.2.6-3
    Then the package version for mywebapp should be 4.2.6-3
    When I unblock the load balancer
"""


def _events(tmp_path):
    """The events of a run on 3 hosts in batches of 2, where web3 cannot get the new version."""
    (tmp_path / "site" / "features").mkdir(parents=True)
    (tmp_path / "site" / "features" / "rolling.feature").write_text(FEATURE)
    fleet = FakeFleet(
        [FakeHost("web1"), FakeHost("web2"), FakeHost("web3", available=["4.2.5-1"])],
    )
    seen = []
    opts = {"cachedir": str(tmp_path / "cache")}
    api.run(opts, "rolling", DirSource(tmp_path / "site"), lambda: fleet, listeners=[seen.append])
    assert any(e["event"] == "step_finished" and e["failed"] == ["web3"] for e in seen)
    return seen


def _expected(recorder, meta):
    record = journal_record.build(None, recorder, meta, state="running")
    return json.loads(json.dumps(record, sort_keys=True, default=str))


def test_the_record_after_every_event_is_what_build_says(tmp_path):
    events = _events(tmp_path)
    recorder = RunRecorder(run_id=events[0]["run_id"])
    meta = {"name": "rolling", "user": "alice", "runner_jid": None, "pid": 1, "args": {"batch": None}}
    record_file = InflightRecord(str(tmp_path / "journal" / "journal.jsonl"), recorder.run_id)
    ahead = WriteAhead(record_file, recorder, meta)
    written = 0
    try:
        for event in events:
            recorder(event)
            ahead(event)
            if event["event"] not in _WRITE_ON:
                continue  # e.g. run_finished: the final record goes to the journal instead
            on_disk = json.loads(Path(record_file.path).read_text(encoding="utf-8"))
            assert on_disk == _expected(recorder, meta), event["event"]
            written += 1
        steps = [e for e in events if e["event"] == "step_finished"]
        assert len(ahead.encoded["batch_steps"]) == len(steps) == len(on_disk["batch_steps"])
        assert any(step["hosts"] for step in on_disk["steps"]) and on_disk["still_blocked"] == ["web3"]
    finally:
        ahead.close()
    assert written > len(steps)  # run_started and every step rewrote it


@pytest.mark.parametrize(
    ("head", "lists"),
    [
        ({"a": 1, "z": [2]}, {"steps": ['{"x": 1}', "[]"], "more": []}),
        ({}, {"steps": ['"one"']}),
        ({"a": "}"}, {}),
    ],
)
def test_with_lists_is_the_json_of_head_and_the_decoded_items(head, lists):
    expected = {**head, **{k: [json.loads(item) for item in items] for k, items in lists.items()}}
    assert json.loads(with_lists(head, lists)) == expected
    assert with_lists(head, {}) == inflight.encode(head)
