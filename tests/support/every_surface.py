"""One run on a fake fleet, rendered on every surface a user reads its outcome on.

`run_events` runs a feature with the engine's executor and keeps its events; `surfaces` feeds
events (as run, or rewritten the way a stop that cuts a step short reports it) through the
same record builders the runner uses, and returns what each surface says: the terminal (the
outputter on the return), the live progress lines, `scenario.history`'s line, `scenario.show`
(the outputter on the journal record), JUnit XML, Cucumber JSON and the HTML page.
"""

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from saltext.scenario.engine.parsing.parse import parse_feature
from saltext.scenario.engine.records import journal, journal_record
from saltext.scenario.engine.records.cucumber_json import cucumber_report
from saltext.scenario.engine.records.html_report import html_report
from saltext.scenario.engine.records.junit_xml import junit_report
from saltext.scenario.engine.records.progress import ProgressReporter
from saltext.scenario.engine.records.result import INTERRUPTED_MID_STEP, ResultCollector
from saltext.scenario.engine.records.run_recorder import RunRecorder
from saltext.scenario.engine.running.execute import Executor
from saltext.scenario.engine.steps import builtin_steps
from saltext.scenario.engine.steps.registry import Registry
from tests.support.engine_calls import build_plan
from tests.support.fake_dunders import load

RUN_ID = "20261204120000-0a1b2c3d"
META = {"name": "f", "user": "tester", "runner_jid": "20261204120000000000", "pid": 1, "args": {}}


class _Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def run_events(fleet, text, max_failures=None, stop_after=None):
    """(plan, events) of a run of `text`; `stop_after`: the step text after which SIGTERM comes."""
    plan = build_plan(
        "f",
        parse_feature(text, "features/f.feature"),
        builtin_steps.register(Registry()),
        {},
        max_failures=max_failures,
    )
    events, flag = [], {"why": None}

    def emit(event):
        events.append(event)
        if stop_after and event["event"] == "step_finished" and event["text"] == stop_after:
            flag["why"] = "SIGTERM"

    clock = _Clock()
    Executor(plan, fleet, emit, RUN_ID, clock=clock, sleep=clock.sleep, stop=lambda: flag["why"]).run(fleet.ping("x"))
    return plan, events


def cut_short(events, text):
    """The events as the executor reports a step a stop cut short: the (skipped) step `text`
    was in flight, its hosts' jobs were killed after the grace, "interrupted mid-step"."""
    out = []
    for event in events:
        if event["event"] == "step_finished" and event["text"] == text and event["status"] == "skipped":
            hosts = sorted(event["hosts_in_batch"])
            results = {h: {"ok": False, "reason": f"{INTERRUPTED_MID_STEP} (SIGTERM)", "ret": None} for h in hosts}
            out.append({**event, "status": "interrupted", "results": results, "passed": [], "failed": hosts})
        else:
            out.append(event)
    return out


@dataclass
class Surfaces:
    ret: dict
    terminal: str
    progress: list
    history: str
    show: str
    junit: ET.Element
    cucumber: list
    html: str
    record: dict


def surfaces(plan, events):
    """What every surface says about the run whose events these are."""
    collector, recorder, progress = ResultCollector(plan), RunRecorder(run_id=RUN_ID), []
    reporter = ProgressReporter(progress.append)
    for event in events:
        collector(event)
        recorder(event)
        reporter(event)
    recorder.finish()
    ret = collector.result()
    record = journal_record.build(ret, recorder, META)
    out = load("_output/scenario.py", opts={"color": False})
    return Surfaces(
        ret=ret,
        terminal=out.output(ret),
        progress=progress,
        history=journal.history_line(journal.summary_of(record)),
        show=out.output({"result": "record", "record": record}),
        junit=ET.fromstring(junit_report(ret, recorder)),
        cucumber=json.loads(json.dumps(cucumber_report(ret, recorder))),
        html=html_report(ret, recorder).decode(),
        record=record,
    )


def dead_run(plan, events):
    """`scenario.history`'s line and `scenario.show` of a run whose process died after `events`:
    only its write-ahead record is left, shown as interrupted."""
    recorder = RunRecorder(run_id=RUN_ID)
    for event in events:
        if event["event"] != "run_finished":
            recorder(event)
    view = journal_record.interrupted_view(journal_record.build(None, recorder, META, state="running"))
    out = load("_output/scenario.py", opts={"color": False})
    return journal.history_line(journal.summary_of(view)), out.output({"result": "record", "record": view})
