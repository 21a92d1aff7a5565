"""A finished run as Cucumber JSON, the format CI plugins (Jenkins cucumber-reports, Allure,
GitLab via converters) read: a list of features, each with scenario elements and steps.

Batches: with more than one rolling batch, every scenario appears once per batch, named
"<scenario> (batch i/n: host, host)" with id suffix ";batch-i", so a CI view shows which batch
failed and which never started. Per-host verdicts go into each step's `output` lines; a
failed step's `error_message` names every failed host and its reason (and, in a run within its
failure budget, says the budget allowed it). Cucumber has no status for a step a stop cut short:
such a step is "skipped", its `output` naming each host "interrupted" with the reason, so no
consumer reads it as a failed check. Durations are integer nanoseconds, as Cucumber writes them.

Held hosts (records/held_hosts.py: the hosts this run holds, those exclude_held left out) are
lines after the feature's own text in its `description`: Cucumber JSON has no field for what a
run leaves behind, its canonical schema (cucumber-json-schema) allows no field of our own on
a feature (additionalProperties: false), and every consumer shows a feature's description. A tag
would read as a scenario's label, and an embedding belongs to a step. A run that never started
(refused with exit 4, its held hosts in `held_by`) has no feature to describe: its document
stays empty, and its JUnit report and HTML page name the holds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, cast

from ..contracts import RunReturn
from ..errors import EXIT_BUDGET
from .held_hosts import held_hosts
from .report_view import StepView, is_run, scenario_batches
from .run_recorder import RunRecorder

# A piece of the Cucumber JSON document: json.dumps writes it as it is.
Json = dict[str, object]

KEYWORDS = {"Given", "When", "Then"}
# Statuses of ours that Cucumber's consumers do not know, as the status they do.
AS_CUCUMBER = {"interrupted": "skipped"}


def slug(text: str | None) -> str:
    return re.sub(r"[^a-z0-9]+", "-", (text or "").lower()).strip("-") or "unnamed"


def _nanos(seconds: float) -> int:
    return round(seconds * 1_000_000_000)


def _step(view: StepView) -> Json:
    result: Json = {"status": AS_CUCUMBER.get(view.status, view.status), "duration": _nanos(view.duration)}
    message = view.error_message() if result["status"] == "failed" else None
    if message:
        result["error_message"] = message
    line = int(view.location.rsplit(":", 1)[1])
    keyword = view.keyword if view.keyword in KEYWORDS else "*"
    data: Json = {
        "keyword": f"{keyword} ",
        "name": view.text,
        "line": line,
        "match": {"location": view.location},
        "result": result,
    }
    output = [
        f"{h}: {r['status']}" + (f" ({r['reason']})" if r.get("reason") else "") for h, r in sorted(view.hosts.items())
    ]
    if view.jids:
        output.append("jids: " + ", ".join(view.jids))
    if output:
        data["output"] = output
    return data


def _within_budget(step: Json, ret: RunReturn) -> Json:
    """Exit 5: a failed step's message says the failure budget allowed it."""
    result = cast(dict[str, str], step["result"])
    if ret.get("retcode") == EXIT_BUDGET and "error_message" in result:
        result["error_message"] += "\nwithin the failure budget: the failed hosts left the run, the others went on"
    return step


def _elements(ret: RunReturn, recorder: RunRecorder | None, feature_id: str) -> list[Json]:
    elements: list[Json] = []
    for s_index, scenario in enumerate(ret["scenarios"]):
        batches = scenario_batches(ret, recorder, s_index)
        line = int(scenario["location"].rsplit(":", 1)[1])
        for batch in batches:
            name, eid = scenario["name"], f"{feature_id};{slug(scenario['name'])}"
            if batch.count > 1:
                name = f"{name} (batch {batch.index + 1}/{batch.count}: {', '.join(batch.hosts)})"
                eid = f"{eid};batch-{batch.index + 1}"
            elements.append(
                {
                    "id": eid,
                    "keyword": "Scenario",
                    "type": "scenario",
                    "name": name,
                    "line": line,
                    "description": "",
                    "tags": [{"name": t} for t in scenario.get("tags", [])],
                    "steps": [_within_budget(_step(v), ret) for v in batch.steps],
                }
            )
    return elements


def _description(text: str, ret: RunReturn) -> str:
    """The feature's description, then one line per kind of held host (records/held_hosts.py)."""
    held = held_hosts(ret).lines(ret.get("run_id"))
    return "\n".join([text, "", *held] if text else held) if held else text


def cucumber_report(ret: RunReturn, recorder: RunRecorder | None) -> list[Json]:
    """The Cucumber JSON document (a list) for the return data `ret` of one run."""
    if not is_run(ret):
        return []  # nothing ran (or the run aborted): the JUnit report carries the error
    started: Mapping[str, Any] = recorder.run_started if recorder else {}
    feature_id = slug(ret.get("feature"))
    return [
        {
            "uri": ret["uri"],
            "id": feature_id,
            "keyword": "Feature",
            "name": ret.get("feature") or "",
            "line": int(started.get("feature_line") or 1),
            "description": _description(started.get("feature_description") or "", ret),
            "tags": [{"name": t} for t in started.get("feature_tags") or []],
            "elements": _elements(ret, recorder, feature_id),
        }
    ]
