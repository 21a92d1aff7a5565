"""A finished run as one self-contained HTML page: a grid of hosts against steps.

Built from the same inputs as the Cucumber JSON and JUnit reports (the return data, plus the
per-batch step events a RunRecorder kept, walked by report_view), so the three always agree.

- Summary first: verdict, summary line, why the run halted or was interrupted, failed hosts
  (linked to their rows), still-blocked hosts, hosts not started, held hosts (records/
  held_hosts.py), the rollback, approvals.
- Rows are hosts, columns are the steps that act on hosts (grouped by scenario; Given steps
  touch no host and are listed above the grid), cells are coloured passed/failed/skipped, and
  interrupted where a stop cut a host's step short. The badge says the outcome: passed (green),
  within budget (exit 5, amber), interrupted (exit 6, orange), failed (red).
  A cell's title gives the host's verdict, reason and the jids of that step in its batch; a
  click shows the same, with the step and its location, in a panel.
- Groups are the rolling batches, each a collapsible <details>; failed rows come first in
  their group. Above OPEN_UP_TO hosts only the groups with a failure start open, so a
  500-host run opens on what went wrong. Approval steps and the @on-failure rollback (its own
  group) are marked; rows carry flags (still blocked, held, not started, rolled back, ...).

Everything is inline (CSS and script from html_assets.py; no fonts, images or URLs), so the
file opens offline from a CI artifact. Every string from the run is escaped: host names and
reasons come from minions, step text from feature files.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

from ..contracts import (
    ApprovalRecord,
    FailedHost,
    HostResult,
    RollbackInfo,
    RunReturn,
    ScenarioResult,
    Status,
    StepResult,
)
from ..errors import EXIT_BUDGET, RUN_RESULTS
from .held_hosts import held_hosts
from .html_assets import CSS, SCRIPT
from .progress import MARKS
from .report_view import BatchView, scenario_batches
from .result import fold_statuses
from .run_recorder import RunRecorder

# A grid column: (scenario index, step index, the step); a cell: (its status, its markup).
Column = tuple[int, int, StepResult]
Cell = tuple[Status | None, str]
# (jids, seconds) of one step in the group a grid shows.
JidsOf = Callable[[int, int], tuple[list[str], float]]

OPEN_UP_TO = 50  # pinned hosts; above this only groups with a failure start open
LIST_UP_TO = 12  # hosts named inline in the summary; longer lists fold
GATE_MARK = "\u2691"  # marks approval steps (a flag: DejaVu Sans, Debian's default font, has it)
STATUSES: tuple[Status, ...] = ("passed", "failed", "interrupted", "skipped")
# Statuses a group opens on and sorts first: something to look at.
NEEDS_A_LOOK: tuple[Status, ...] = ("failed", "interrupted")
PANEL_FIELDS = ("host", "status", "reason", "step", "location", "group", "jids", "duration")


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _tag(name: str, content: str = "", **attrs: object) -> str:
    """`<name attrs>content</name>`; `content` is markup already, attribute values are escaped.

    `cls` is the class attribute, `data_x` becomes `data-x`, None leaves an attribute out and
    True writes it bare (`open`).
    """
    out = [name]
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        attr = "class" if key == "cls" else key.replace("_", "-")
        out.append(attr if value is True else f'{attr}="{_e(value)}"')
    return f"<{' '.join(out)}>{content}</{name}>"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _hosts_text(hosts: Sequence[str], limit: int = 4) -> str:
    if len(hosts) <= limit:
        return ", ".join(hosts)
    return f"{hosts[0]}..{hosts[-1]} ({len(hosts)})"


def _on_hosts(step: StepResult) -> bool:
    """Steps with a verdict per host: Salt calls, approval waits and master-side checks (not Given steps)."""
    return step.get("call") is not None or "gate" in step or "check" in step


class _Run:
    """What the page needs, worked out once from the return data and the recorder."""

    def __init__(self, ret: RunReturn, recorder: RunRecorder | None) -> None:
        self.ret = ret
        self.recorder = recorder
        self.pinned = list(ret.get("pinned") or [])
        self.batches = [list(b) for b in ret.get("batches") or []] or ([self.pinned] if self.pinned else [])
        self.ids = {host: f"h{i}" for i, host in enumerate(self.pinned)}
        scenarios = list(enumerate(ret.get("scenarios") or []))
        self.main: list[tuple[int, ScenarioResult]] = [(i, s) for i, s in scenarios if not s.get("on_failure")]
        self.rollback_scenarios = [(i, s) for i, s in scenarios if s.get("on_failure")]
        self.columns: list[Column] = [
            (i, p, st) for i, s in self.main for p, st in enumerate(s["steps"]) if _on_hosts(st)
        ]
        self.views: dict[int, list[BatchView]] = (
            {i: scenario_batches(ret, recorder, i) for i, _s in self.main} if self.batches else {}
        )
        self.failed_hosts: dict[str, FailedHost] = ret.get("failed_hosts") or {}
        self.not_started = set(ret.get("not_started") or ())
        self.flags = self._flags()

    def _flags(self) -> dict[str, list[tuple[str, str, str]]]:
        flags: dict[str, list[tuple[str, str, str]]]
        ret, flags = self.ret, {}

        def add(hosts: Sequence[str], cls: str, text: str, why: str) -> None:
            for host in hosts:
                flags.setdefault(host, []).append((cls, text, why))

        add(ret.get("still_blocked") or (), "blocked", "still blocked", "still blocked at the load balancer")
        add(held_hosts(ret).holding, "bad", "held", "held by this run: no other run may touch it until released")
        add(sorted(self.not_started), "", "not started", "its batch never started")
        add(ret.get("done_earlier") or (), "", "done earlier", "passed in the run this one resumed")
        rollback: RollbackInfo | dict[str, Any] = ret.get("rollback") or {}
        add(rollback.get("rolled_back") or (), "", "rolled back", "the @on-failure rollback passed here")
        for host, why in sorted((rollback.get("failed") or {}).items()):
            add([host], "bad", "rollback failed", f"{why.get('step')}: {why.get('reason')}")
        add(rollback.get("unreachable") or (), "bad", "not answering", "not answering at the rollback: left as it is")
        return flags

    def skipped_why(self, host: str, b_index: int) -> str:
        if host in self.not_started:
            return f"batch {b_index + 1} not started"
        if host in self.failed_hosts:
            return f"not run: the host left the run at {self.failed_hosts[host].get('location')}"
        if self.ret.get("interrupted"):
            return f"not run: interrupted by {self.ret['interrupted']}"
        return "not run: the run halted" if self.ret.get("halted") or self.failed_hosts else "not run"

    def link(self, host: str) -> str:
        hid = self.ids.get(host)
        return _tag("a", _e(host), href=f"#{hid}") if hid else _e(host)


# -- the summary ----------------------------------------------------------------------------------
def _host_list(run: _Run, hosts: Sequence[str]) -> str:
    """Hosts linked to their rows; a long list folds into a <details> so the summary stays short."""
    links = ", ".join(run.link(h) for h in hosts)
    if len(hosts) <= LIST_UP_TO:
        return links
    return _tag("details", _tag("summary", _e(_hosts_text(list(hosts)))) + links, cls="hosts")


def _alert(content: str, bad: bool = False) -> str:
    return _tag("div", content, cls="alert bad" if bad else "alert")


def _facts(run: _Run) -> str:
    ret, recorder = run.ret, run.recorder
    rows: list[tuple[str, object]] = [
        ("run id", ret.get("run_id") or (recorder.run_id if recorder else None)),
        ("feature file", ret.get("uri")),
        ("target", ret.get("target")),
        ("pinned", f"{_plural(len(run.pinned), 'host')}: {_hosts_text(run.pinned)}" if run.pinned else None),
        ("batches", str(len(run.batches)) if len(run.batches) > 1 else None),
        ("started", recorder.started_at if recorder else None),
        ("finished", recorder.finished_at if recorder else None),
        ("exit code", ret.get("retcode")),
    ]
    if "allowed_failures" in ret:
        rows.append(("failure budget", _plural(ret["allowed_failures"], "host")))
    items = "".join(_tag("dt", _e(k)) + _tag("dd", _e(v)) for k, v in rows if v not in (None, ""))
    return _tag("dl", items, cls="facts")


def _failed_list(run: _Run) -> str:
    items = [
        _tag(
            "li",
            f"{run.link(host)} {_e(why.get('step'))} {_tag('span', _e(why.get('location')), cls='loc')} "
            + _tag("span", _e(why.get("reason")), cls="reason"),
        )
        for host, why in sorted(run.failed_hosts.items())
    ]
    budget = ", within the failure budget: they left the run" if run.ret.get("retcode") == EXIT_BUDGET else ""
    out = _tag("h2", f"Failed hosts ({len(items)}){budget}") + _tag("ol", "".join(items[:LIST_UP_TO]), cls="failed")
    more = items[LIST_UP_TO:]
    if more:
        rest = _tag("ol", "".join(more), cls="failed", start=LIST_UP_TO + 1)
        out += _tag("details", _tag("summary", f"{len(more)} more") + rest)
    return out


def _rollback_alert(rollback: RollbackInfo) -> str:
    failed = rollback.get("failed") or {}
    parts = [f"rolled back: {', '.join(rollback.get('rolled_back') or []) or '-'}"]
    if failed:
        parts.append("failed (left as they are): " + "; ".join(f"{h}: {w.get('reason')}" for h, w in failed.items()))
    if rollback.get("unreachable"):
        parts.append(f"not answering (left as they are): {', '.join(rollback['unreachable'])}")
    return _alert(_e(f"Rollback (@on-failure): {'; '.join(parts)}"), bad=bool(failed))


def _approval_alert(approval: ApprovalRecord) -> str:
    verdict = "granted" if approval.get("approved") else "refused"
    who = f" by {approval['user']}" if approval.get("user") else ""
    text = f"Approval of batch {(approval.get('batch') or 0) + 1}: {verdict}{who} ({approval.get('reason')})"
    return _alert(_e(text), bad=not approval.get("approved"))


def _alerts(run: _Run) -> str:
    out: list[str]
    ret, out = run.ret, []
    if ret.get("error"):
        out.append(_alert(_e(f"Error (exit {ret.get('retcode')}): {ret['error']}"), bad=True))
    if ret.get("interrupted"):
        why = f"Interrupted ({ret['interrupted']}): no step started after the stop; steps cut short read interrupted."
        out.append(_alert(_e(why), bad=True))
    if ret.get("halted"):
        out.append(_alert(_e(f"Halted: {ret['halted']}"), bad=True))
    if run.failed_hosts:
        out.append(_failed_list(run))
    blocked = ret.get("still_blocked") or []
    if blocked:
        out.append(_alert(f"Still blocked at the load balancer ({len(blocked)}): {_host_list(run, blocked)}"))
    if run.not_started:
        out.append(_alert(f"Not started ({len(run.not_started)}): {_host_list(run, sorted(run.not_started))}"))
    # Held hosts: those this run holds (flagged in the grid too), those exclude_held left out
    # (not in the grid) and, on a refusal, the holds that refused the run.
    out += [_alert(_e(line)) for line in held_hosts(ret).lines(ret.get("run_id"))]
    if ret.get("rollback"):
        out.append(_rollback_alert(ret["rollback"]))
    out += [_approval_alert(a) for a in ret.get("approvals") or []]
    out += [_alert(_e(f"warning: {w}")) for w in ret.get("warnings") or []]
    return "".join(out)


def _given(run: _Run) -> str:
    steps = [st for _i, s in run.main for st in s["steps"] if not _on_hosts(st)]
    if not steps:
        return ""
    items = "".join(
        _tag(
            "li",
            _e(f"{MARKS.get(st.get('status'), '')} {st['keyword']} {st['text']} ")
            + _tag("span", _e(st["location"]), cls="loc"),
        )
        for st in steps
    )
    return _tag(
        "details", _tag("summary", f"Given steps ({len(steps)}): the run's setup, no host touched") + _tag("ul", items)
    )


def _summary(run: _Run, ran: bool) -> str:
    ret = run.ret
    result = ret.get("result") or "error"
    # within_budget (exit 5) is amber and interrupted (exit 6) orange: neither reads as a failure.
    tone = result if result in ("passed", "within_budget", "interrupted") else "failed" if ran else "error"
    word = result.replace("_", " ").upper()
    badge = _tag("span", _e(f"{word} \u00b7 exit {ret.get('retcode')}"), cls=f"badge {tone}")
    title = _tag("h1", f"{badge} Feature: {_e(ret.get('feature') or ret.get('name') or 'scenario')}")
    line = _tag("p", _e(ret.get("summary") or ret.get("error") or ""), cls="line")
    tally = _tag("p", "", cls="dim", id="tally")  # the page's script counts the grid's cells into it
    return _tag("header", title + line + tally + _facts(run) + _alerts(run) + _given(run), cls=f"summary {tone}")


# -- the grid ---------------------------------------------------------------------------------------
def _thead(run: _Run, columns: list[Column], jids_of: JidsOf) -> str:
    """Scenario row, then one header per step; `jids_of(s, p)` -> (jids, seconds) in this group."""
    spans: list[list[int]]
    cells: list[str]
    spans, cells = [], []
    for s_index, p_index, step in columns:
        if spans and spans[-1][0] == s_index:
            spans[-1][1] += 1
        else:
            spans.append([s_index, 1])
        jids, seconds = jids_of(s_index, p_index)
        gate = "gate" in step
        title = f"{step['keyword']} {step['text']}"
        label = f"{GATE_MARK} approval: " if gate else ""
        cells.append(
            _tag(
                "th",
                _tag("span", f"{_e(label)}{_tag('b', _e(step['keyword']))} {_e(step['text'])}"),
                cls="step gate" if gate else "step",
                title=f"{title}  # {step['location']}",
                data_title=title,
                data_loc=step["location"],
                data_jids=", ".join(jids) or None,
                data_dur=f"{seconds:.2f}" if jids else None,
            )
        )
    names = "".join(
        _tag("th", _e(f"Scenario: {name}"), cls="scenario", colspan=n, title=name)
        for s_index, n in spans
        for name in [run.ret["scenarios"][s_index]["name"]]
    )
    corner = _tag("th", "host", cls="corner", rowspan=2)
    return _tag("thead", _tag("tr", corner + names) + _tag("tr", "".join(cells)))


def _cell(host: str, result: HostResult, jids: list[str], why_skipped: str, gate: bool) -> Cell:
    status = result.get("status") if result.get("status") in STATUSES else "skipped"
    reason = result.get("reason") or (why_skipped if status == "skipped" else None)
    tip = f"{host}: {status}" + (f": {reason}" if reason else "") + (f"\njid {', '.join(jids)}" if jids else "")
    cls = f"cell {status} gate" if gate else f"cell {status}"
    return status, _tag("td", _e(MARKS.get(status, "")), cls=cls, title=tip, data_r=reason)


def _row(run: _Run, host: str, hid: str | None, cells: list[Cell]) -> str:
    """One host's row: its name and flags, then its cells ((status, markup) pairs)."""
    flags = "".join(
        _tag("span", _e(text), cls=f"flag {cls}".strip(), title=why) for cls, text, why in run.flags.get(host, ())
    )
    status = fold_statuses([st for st, _td in cells])
    name = _tag("th", _e(host) + flags, scope="row")
    return _tag("tr", name + "".join(td for _st, td in cells), id=hid, cls=f"row {status}", data_host=host)


def _group(label: str, status: Status, is_open: bool, tags: list[str], table: str, kind: str) -> str:
    summary = _tag("summary", f"{_e(MARKS.get(status, ''))} {_e(label)}{''.join(tags)}")
    return _tag(
        "details",
        summary + _tag("div", _tag("table", table, cls="grid"), cls="scroll"),
        cls=f"group {kind} {status}",
        open=is_open,
        data_label=label,
    )


def _batch_group(run: _Run, b_index: int, hosts: list[str], open_all: bool) -> str:
    def jids_of(s_index: int, p_index: int) -> tuple[list[str], float]:
        view = run.views[s_index][b_index].steps[p_index]
        return view.jids, view.duration

    rows: list[tuple[Status, str, list[Cell]]] = []
    for host in hosts:
        cells: list[Cell] = []
        for s_index, p_index, step in run.columns:
            jids, _seconds = jids_of(s_index, p_index)
            result = step.get("hosts", {}).get(host) or {"status": "skipped"}
            cells.append(_cell(host, result, jids, run.skipped_why(host, b_index), "gate" in step))
        rows.append((fold_statuses([st for st, _td in cells]), host, cells))
    rows.sort(key=lambda r: r[0] not in NEEDS_A_LOOK)  # failed/interrupted rows first, each part in order
    statuses = [r[0] for r in rows]
    status = fold_statuses(statuses)
    count = len(run.batches)
    label = f"Batch {b_index + 1}/{count}" if count > 1 else "All hosts"
    counts = ", ".join(f"{statuses.count(s)} {s}" for s in STATUSES if statuses.count(s))
    bad = status in NEEDS_A_LOOK
    tags = [
        _tag("span", _e(_hosts_text(hosts)), cls="tag"),
        _tag("span", _e(f"{_plural(len(hosts), 'host')}: {counts}"), cls="tag bad" if bad else "tag"),
    ]
    if hosts and set(hosts) <= run.not_started:
        tags.append(_tag("span", "not started", cls="tag"))
    for approval in run.ret.get("approvals") or []:
        if approval.get("batch") == b_index:
            granted = bool(approval.get("approved"))
            text = f"{GATE_MARK} approval {'granted' if granted else 'refused'}"
            tags.append(_tag("span", _e(text), cls="tag" if granted else "tag bad"))
    body = "".join(_row(run, host, run.ids.get(host), cells) for _st, host, cells in rows)
    table = _thead(run, run.columns, jids_of) + _tag("tbody", body)
    return _group(label, status, open_all or bad, tags, table, "batch")


def _rollback_group(run: _Run) -> str:
    rollback = run.ret.get("rollback")
    columns = [(i, p, st) for i, s in run.rollback_scenarios for p, st in enumerate(s["steps"]) if _on_hosts(st)]
    if not rollback or not columns:
        return ""

    def jids_of(s_index: int, p_index: int) -> tuple[list[str], float]:
        # Rollback steps are batch -1 in the events.
        event = run.recorder.step_event(-1, s_index, p_index) if run.recorder else None
        return (list(event["jids"]), float(event["duration"])) if event else ([], 0.0)

    rows: list[str] = []
    for host in rollback.get("hosts") or []:
        cells: list[Cell] = []
        for s_index, p_index, step in columns:
            jids, _seconds = jids_of(s_index, p_index)
            result = step.get("hosts", {}).get(host) or {"status": "skipped"}
            cells.append(_cell(host, result, jids, "not run: an earlier rollback step failed here", "gate" in step))
        rows.append(_row(run, host, None, cells))
    for host in rollback.get("unreachable") or []:
        gone = _tag("td", "not answering: left as it is", cls="gone", colspan=len(columns))
        rows.append(_tag("tr", _tag("th", _e(host), scope="row") + gone, cls="row failed", data_host=host))
    failed, unreachable = rollback.get("failed") or {}, rollback.get("unreachable") or []
    status: Status = "failed" if failed or unreachable else "passed"
    done = f"{_plural(len(rollback.get('rolled_back') or []), 'host')} rolled back"
    tags = [_tag("span", _e(f"{done}, {len(failed)} failed, {len(unreachable)} not answering"), cls="tag")]
    table = _thead(run, columns, jids_of) + _tag("tbody", "".join(rows))
    return _group("Rollback (@on-failure)", status, True, tags, table, "rollback")


def _tools() -> str:
    legend = "".join(_tag("span", _e(f"{MARKS[s]} {s}"), cls=s) for s in STATUSES) + _tag(
        "span", _e(f"{GATE_MARK} approval")
    )
    return _tag(
        "nav",
        _tag("button", "Expand all", type="button", data_act="open")
        + _tag("button", "Collapse all", type="button", data_act="close")
        + _tag("label", '<input type="checkbox" id="only-failed"> failed rows only')
        + _tag("span", legend, cls="legend"),
        cls="tools",
    )


def _panel() -> str:
    fields = "".join(_tag("dt", name) + _tag("dd", "", data_f=name) for name in PANEL_FIELDS)
    close = _tag("button", "close", type="button", data_act="close-panel")
    return _tag("aside", close + _tag("dl", fields), id="panel", hidden=True)


def html_report(ret: RunReturn, recorder: RunRecorder | None) -> bytes:
    """The HTML page (bytes, UTF-8) for the return data `ret` of one run."""
    run = _Run(ret, recorder)
    ran = ret.get("result") in RUN_RESULTS and "scenarios" in ret
    title = f"{ret.get('feature') or ret.get('name') or 'scenario'} {ret.get('run_id') or ''}".strip()
    body = [_summary(run, ran)]
    if ran and run.batches:
        open_all = len(run.pinned) <= OPEN_UP_TO
        groups = [_batch_group(run, b, hosts, open_all) for b, hosts in enumerate(run.batches)]
        body += [_tools(), _tag("main", "".join(groups) + _rollback_group(run)), _panel()]
    body.append(_tag("script", SCRIPT))
    head = (
        '<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
        # The browser enforces what the page promises: no request leaves it.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">" + _tag("title", _e(title)) + _tag("style", CSS)
    )
    page = "<!DOCTYPE html>\n" + _tag("html", _tag("head", head) + "\n" + _tag("body", "\n".join(body)), lang="en")
    return (page + "\n").encode("utf-8")
