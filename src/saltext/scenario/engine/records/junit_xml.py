"""A finished run as JUnit XML for CI servers.

One testcase per host and step (name "<Keyword> <text> (<file:line>) [host]"), so a step that
failed on web2 is a red test named for web2 and a CI server's per-test history follows each
host. Given steps, which shape the whole run and touch no host, are one testcase each.
classname is "<feature>.<scenario>" (dots inside either replaced by "_", because CI servers
split classname at its last dot into package and class). Hosts of a batch that never started,
and steps after the halt, are <skipped/> with the reason. A host a stop cut short mid-step is
an <error type="Interrupted">: neither a failed check nor a pass. A host that failed within
the failure budget (exit 5) is a <failure> that says so. A run that could not start or aborted
is one testcase with <error>, so a CI server never shows it as green. Held hosts
(records/held_hosts.py) are properties of the suite and its <system-out>.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ..contracts import RunReturn, Status, StepHost
from ..errors import EXIT_BUDGET
from .held_hosts import held_hosts
from .report_view import BatchView, StepView, is_run, scenario_batches
from .run_recorder import RunRecorder

# Exit 5: why a host's later steps did not run, and what its <failure> adds.
_LEFT_WITHIN_BUDGET = "the host left the run after it failed, within the failure budget"


def _fmt(seconds: float | None) -> str:
    return f"{float(seconds or 0.0):.3f}"


def _classname(*parts: str | None) -> str:
    return ".".join((p or "unnamed").replace(".", "_") for p in parts)


def _testcase(suite: ET.Element, classname: str, name: str, location: str | None, seconds: float) -> ET.Element:
    attrs = {"classname": classname, "name": name, "time": _fmt(seconds)}
    uri, _, line = (location or "").rpartition(":")
    if uri and line:
        attrs.update(file=uri, line=line)
    return ET.SubElement(suite, "testcase", attrs)


def _host_case(
    suite: ET.Element,
    classname: str,
    view: StepView,
    batch: BatchView,
    host: str,
    result: StepHost,
    halt: str | None,
) -> Status | None:
    case = _testcase(suite, classname, f"{view.title} ({view.location}) [{host}]", view.location, view.duration)
    status = result.get("status")
    if status == "interrupted":
        reason = result.get("reason") or "interrupted"
        error = ET.SubElement(case, "error", {"message": f"{host}: {reason}", "type": "Interrupted"})
        error.text = f"{view.title}\n  at {view.location}\n  host {host}: {reason}; {halt}"
    elif status == "failed":
        reason = result.get("reason") or "failed"
        if halt == _LEFT_WITHIN_BUDGET:
            reason += f" ({_LEFT_WITHIN_BUDGET})"
        failure = ET.SubElement(case, "failure", {"message": f"{host}: {reason}", "type": "StepFailed"})
        failure.text = (
            f"{view.title}\n  at {view.location}\n  host {host} (batch {batch.index + 1}/{batch.count})"
            f"\n  reason: {reason}\n  jids: {', '.join(view.jids) or '-'}"
        )
    elif status != "passed":
        why = (
            f"batch {batch.index + 1}/{batch.count} not started: {halt}"
            if not batch.started
            else f"not run: {halt}"
            if halt
            else "not run"
        )
        ET.SubElement(case, "skipped", {"message": why})
    if view.jids:
        ET.SubElement(case, "system-out").text = f"jids: {', '.join(view.jids)}"
    return status


def _scenario_cases(
    suite: ET.Element, ret: RunReturn, recorder: RunRecorder | None, s_index: int, halt: str | None
) -> list[Status | None]:
    scenario = ret["scenarios"][s_index]
    classname = _classname(ret.get("feature"), scenario["name"])
    statuses: list[Status | None] = []
    for batch in scenario_batches(ret, recorder, s_index):
        for view in batch.steps:
            if view.context_only:
                if batch.index == 0:
                    case = _testcase(suite, classname, f"{view.title} ({view.location})", view.location, view.duration)
                    if view.status != "passed":
                        ET.SubElement(case, "skipped", {"message": "not run"})
                    statuses.append(view.status)
                continue
            for host in batch.hosts:
                statuses.append(_host_case(suite, classname, view, batch, host, view.hosts[host], halt))
    return statuses


def _properties(suite: ET.Element, ret: RunReturn, recorder: RunRecorder | None) -> None:
    props = ET.SubElement(suite, "properties")
    held = held_hosts(ret)
    values: dict[str, object] = {
        "run_id": ret.get("run_id") or (recorder.run_id if recorder else ""),
        "name": ret.get("name"),
        "retcode": ret.get("retcode"),
        "result": str(ret.get("result") or "").replace("_", " ") or None,
        "target": ret.get("target"),
        "pinned": ", ".join(ret.get("pinned") or []),
        "batches": " | ".join(", ".join(b) for b in ret.get("batches") or []),
        "still_blocked": ", ".join(ret.get("still_blocked") or []),
        # Held hosts (records/held_hosts.py): this run holds them (out of the balancer until it
        # is resumed and passes or they are released); exclude_held left them out, held by
        # other runs; they refused the run (exit 4). One property each, a sentence in "held_hosts".
        "holds": ", ".join(held.holding) or None,
        "held": ", ".join(held.left_out) or None,
        "held_by": ", ".join(held.refused_hosts()) or None,
        "held_hosts": " | ".join(held.lines(ret.get("run_id"))) or None,
        "summary": ret.get("summary"),
    }
    for key, value in values.items():
        if value is not None:
            ET.SubElement(props, "property", {"name": key, "value": str(value)})


def _halt_location(ret: RunReturn) -> str | None:
    """Why hosts and steps were not run, as the skipped testcases say it (None: all ran)."""
    if ret.get("interrupted"):
        return f"the run was interrupted ({ret['interrupted']})"
    if ret.get("retcode") == EXIT_BUDGET:
        return _LEFT_WITHIN_BUDGET
    for scenario in ret.get("scenarios") or []:
        for step in scenario["steps"]:
            if step["status"] == "failed":
                return f"the scenario halted at {step['location']}"
    return None


def junit_report(ret: RunReturn, recorder: RunRecorder | None) -> bytes:
    """The JUnit XML document (bytes, UTF-8) for the return data `ret` of one run."""
    root = ET.Element("testsuites", {"name": f"scenario.run {ret.get('name')}"})
    suite = ET.SubElement(
        root,
        "testsuite",
        {
            "name": ret.get("feature") or str(ret.get("name")),
            # JUnit's schema wants a bare UTC time: no zone, no fraction.
            "timestamp": recorder.started_at[:19] if recorder else "",
        },
    )
    _properties(suite, ret, recorder)
    statuses: list[str | None]
    if is_run(ret):
        statuses = []
        for s_index in range(len(ret["scenarios"])):
            statuses += _scenario_cases(suite, ret, recorder, s_index, _halt_location(ret))
        errors = statuses.count("interrupted")
    else:
        case = _testcase(suite, _classname(str(ret.get("name"))), f"scenario.run {ret.get('name')}", None, 0.0)
        ET.SubElement(case, "error", {"message": str(ret.get("error")), "type": f"exit {ret.get('retcode')}"})
        statuses, errors = ["error"], 1
    held = held_hosts(ret).lines(ret.get("run_id"))
    if held:
        # After the testcases, as the JUnit schema orders a suite: CI servers show a suite's
        # output where its properties stay hidden.
        ET.SubElement(suite, "system-out").text = "\n".join(held)
    counts = {
        "tests": str(len(statuses)),
        "failures": str(statuses.count("failed")),
        "errors": str(errors),
        "skipped": str(sum(1 for s in statuses if s not in ("passed", "failed", "error", "interrupted"))),
        "time": _fmt(ret.get("duration")),
    }
    suite.attrib.update(counts)
    root.attrib.update(counts)
    ET.indent(root)
    # With an encoding given, tostring returns bytes (typeshed says Any for any encoding).
    document: bytes = ET.tostring(root, encoding="UTF-8", xml_declaration=True)
    return document + b"\n"
