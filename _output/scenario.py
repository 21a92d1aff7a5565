"""
Render scenario runs like cucumber's pretty output: every step once, then the summary.

The scenario runner's returns carry ``outputter: scenario``, so ``salt-run`` picks this
by default; ``--out=json`` etc. still win. Progress events print as their one line.

When ``salt-run`` already printed a run's progress line by line (the runner marks such a
return ``streamed``), the final rendering does not print the steps again: only what needs
acting on (failed hosts with step and reason, still-blocked hosts, hosts not started, held
hosts, the rollback), the report paths, warnings, the run id and the summary line. Without streaming
(``scenario.run`` called from Python or orchestrate, ``scenario.show``) the whole tree is
rendered: feature, scenarios, steps with their per-host verdicts.

CLI Example:

.. code-block:: bash

    salt-run scenario.run update_website --out=scenario
"""

import salt.utils.color

try:
    # The runner needs the engine on the master anyway; its marks are the live progress lines'.
    from saltext.scenario.engine.errors import RUN_RESULTS
    from saltext.scenario.engine.records.held_hosts import held_hosts
    from saltext.scenario.engine.records.progress import MARKS

    _IMPORT_ERROR = None
except ImportError as exc:
    _IMPORT_ERROR = exc

__virtualname__ = "scenario"


def __virtual__():
    if _IMPORT_ERROR is not None:
        return (False, f"scenario outputter: the saltext.scenario engine is not importable: {_IMPORT_ERROR}")
    return __virtualname__


def _colors():
    c = salt.utils.color.get_colors(__opts__.get("color"), __opts__.get("color_theme"))
    return {
        "passed": c["GREEN"],
        "failed": c["RED"],
        "skipped": c["CYAN"],
        "interrupted": c["YELLOW"],
        "dim": c["LIGHT_GRAY"],
        "warn": c["LIGHT_YELLOW"],
        "end": c["ENDC"],
    }


def _verdicts(step, col):
    """Every host's verdict on a step: failed and interrupted hosts one per line with the
    reason, the rest by status."""
    by_status = {}
    for host, res in sorted(step.get("hosts", {}).items()):
        by_status.setdefault(res.get("status") or "skipped", []).append(host)
    out = [
        f"        {col[status]}{host}: {step['hosts'][host].get('reason')}{col['end']}"
        for status in ("failed", "interrupted")
        for host in by_status.pop(status, [])
    ]
    for status, hosts in sorted(by_status.items()):
        out.append(f"        {col.get(status, '')}{status}: {', '.join(hosts)}{col['end']}")
    return out


def _step_lines(step, col, with_hosts, every_host=False):
    status = step.get("status")
    color = col.get(status, "")
    mark = MARKS.get(status, "\u2192")
    prefix = f"[batch {step['batch'] + 1}] " if isinstance(step.get("batch"), int) and step["batch"] >= 0 else ""
    line = (
        f"    {color}{prefix}{mark} {step['keyword']} {step['text']}{col['end']}  "
        f"{col['dim']}# {step['location']}{col['end']}"
    )
    call = step.get("call")
    if with_hosts and (call or step.get("hosts")):
        hosts = step.get("hosts", {})
        passed = sum(1 for h in hosts.values() if h.get("status") == "passed")
        failed = sum(1 for h in hosts.values() if h.get("status") == "failed")
        cut = sum(1 for h in hosts.values() if h.get("status") == "interrupted")
        if status != "skipped":
            cut_short = f", {cut} interrupted" if cut else ""
            line += f"  {passed} passed, {failed} failed{cut_short}, {step.get('duration') or 0:.2f}s"
    out = [line]
    if not with_hosts and call:
        args = " ".join(str(a) for a in call.get("args", []))
        kwargs = " ".join(f"{k}={v}" for k, v in call.get("kwargs", {}).items())
        within = f"  (retried for {call['within']}s)" if call.get("within") else ""
        # A step that rides in the publish of the step above shows where it goes.
        arrow = "\u21b3 same publish:" if step.get("fused") else "\u2192"
        fun = step.get("publish_fun") or call["fun"]
        out.append(f"        {col['dim']}{arrow} {fun} {args} {kwargs}".rstrip() + f"{within}{col['end']}")
    if with_hosts and every_host:
        out.extend(_verdicts(step, col))
    elif with_hosts:
        for host, res in sorted(step.get("hosts", {}).items()):
            summary = f"  ({res['summary']})" if res.get("summary") else ""
            if res.get("status") in ("failed", "interrupted"):
                out.append(f"        {col[res['status']]}{host}: {res.get('reason')}{summary}{col['end']}")
            elif summary:
                # State steps: how many states changed on each host.
                out.append(f"        {col['dim']}{host}: {res['summary']}{col['end']}")
    return out


def _header(data, col):
    out = [f"Feature: {data.get('feature') or data.get('name') or ''}  {col['dim']}# {data.get('uri', '')}{col['end']}"]
    if data.get("run_id"):
        out.append(f"  run: {data['run_id']}")
    if "target" in data:
        out.append(f"  target: {data['target']}")
    if "pinned" in data:
        out.append(f"  pinned: {', '.join(data['pinned'] or []) or '(none)'}")
    batches = data.get("batches") or []
    if len(batches) > 1:
        out.append("  batches: " + " | ".join(", ".join(b) for b in batches))
    return out


def _feature(data, col, with_hosts):
    out = _header(data, col)
    for scenario in data.get("scenarios", []):
        out.append("")
        tag = " (@on-failure)" if scenario.get("on_failure") else ""
        out.append(f"  Scenario: {scenario['name']}{tag}  {col['dim']}# {scenario['location']}{col['end']}")
        for step in scenario["steps"]:
            out.extend(_step_lines(step, col, with_hosts))
    return out


def _rollback(data, col):
    rollback = data.get("rollback")
    if not rollback:
        return []
    parts = [f"rolled back: {', '.join(rollback.get('rolled_back') or []) or '-'}"]
    failed = rollback.get("failed") or {}
    if failed:
        parts.append(
            "failed, left as they are: " + "; ".join(f"{h}: {w.get('reason')}" for h, w in sorted(failed.items()))
        )
    if rollback.get("unreachable"):
        parts.append(f"not answering, left as they are: {', '.join(rollback['unreachable'])}")
    color = col["failed"] if failed or rollback.get("unreachable") else col["warn"]
    return [f"{color}Rollback (@on-failure): {'; '.join(parts)}{col['end']}"]


def _all_steps(data):
    """Every step of a run's return (by scenario) or of a journal record (one list)."""
    if data.get("scenarios"):
        return [step for scenario in data["scenarios"] for step in scenario["steps"]]
    return data.get("steps") or []


def _stop_reason(data, col):
    """Why the run stopped early, unless already said: by the failed-hosts section (a failed
    step), or by the streamed progress (its last line names the interrupt)."""
    out = []
    why = data.get("interrupted")
    if why and not data.get("streamed"):
        # A signal's name, or a sentence (a dead process, a lost lease).
        said = f"Interrupted by {why}" if why in ("SIGTERM", "SIGINT") else f"Interrupted: {why}"
        out.append(f"{col['interrupted']}{said}{col['end']}")
    cut = {}  # step -> the hosts a stop cut short in it
    for step in _all_steps(data):
        hosts = [h for h, res in sorted((step.get("hosts") or {}).items()) if res.get("status") == "interrupted"]
        if hosts:
            where = f"{step['keyword']} {step['text']} ({step['location']})"
            cut.setdefault(where, []).extend(h for h in hosts if h not in cut.get(where, []))
    for where, hosts in cut.items():
        out.append(f"{col['interrupted']}Interrupted mid-step: {where} on {', '.join(hosts)}{col['end']}")
    halted = data.get("halted")
    failed_at = {why.get("location") for why in (data.get("failed_hosts") or {}).values()}
    if halted and not any(loc and loc in halted for loc in failed_at):
        out.append(f"{col['failed']}Halted: {halted}{col['end']}")
    return ["", *out] if out else []


def _outcome(data, col):
    """What needs acting on after a run, and where its reports are."""
    out = _stop_reason(data, col)
    if data.get("failed_hosts"):
        # Exit 5: the budget allowed these failures; the run went on without those hosts.
        budget = " (within the failure budget: they left the run)" if data.get("retcode") == 5 else ""
        out += ["", f"{col['failed']}Failed hosts{budget}:{col['end']}"]
        for host, why in sorted(data["failed_hosts"].items()):
            out.append(f"  {host}: {why['step']}  # {why['location']}: {why['reason']}")
    tail = []
    if data.get("still_blocked"):
        tail.append(f"{col['warn']}Still blocked at the load balancer: {', '.join(data['still_blocked'])}{col['end']}")
    if data.get("not_started"):
        tail.append(f"{col['warn']}Not started (later batches): {', '.join(data['not_started'])}{col['end']}")
    # Held hosts, from the return or the journal record (the same keys): records/held_hosts.py.
    tail += [f"{col['warn']}{line}{col['end']}" for line in held_hosts(data).lines(data.get("run_id"))]
    tail += _rollback(data, col)
    if tail:
        out += ["", *tail]
    if data.get("reports"):
        out += ["", "Reports:"] + [f"  {path}" for _kind, path in sorted(data["reports"].items())]
    return out


def _run(data, col):
    if data.get("streamed"):
        # The steps were printed as they finished: only the outcome, and where the whole tree is.
        out = _outcome(data, col)
        if data.get("run_id"):
            out += ["", f"run {data['run_id']} (salt-run scenario.show {data['run_id']} shows every step and host)"]
        return out
    return _feature(data, col, with_hosts=True) + _outcome(data, col)


def _record(data, col):
    """`scenario.show RUN_ID`: the journal record as the full tree, with every host's verdict."""
    rec = data.get("record") or {}
    out = _header(rec, col)
    who = "  ".join(
        f"{label} {rec[key]}"
        for key, label in (("started", "started"), ("finished", "finished"), ("user", "by"), ("runner_jid", "jid"))
        if rec.get(key)
    )
    if who:
        out.insert(2 if rec.get("run_id") else 1, f"  {who}")
    if rec.get("error"):
        out += ["", f"{col['failed']}ERROR (exit {rec.get('retcode')}): {rec['error']}{col['end']}"]
    scenario = object()
    for step in rec.get("steps") or []:
        if step.get("scenario") != scenario:
            scenario = step.get("scenario")
            out += ["", f"  Scenario: {scenario}"]
        out.extend(_step_lines(step, col, with_hosts=True, every_host=True))
    out += _outcome(rec, col)
    for warning in data.get("warnings") or []:
        out.append(f"{col['warn']}warning: {warning}{col['end']}")
    return "\n".join([*out, "", f"{_outcome_color(rec, col)}{rec.get('summary', '')}{col['end']}"])


def _outcome_color(data, col):
    """The summary line's colour: green passed, yellow within budget (exit 5) or interrupted
    (exit 6), red otherwise."""
    return {0: col["passed"], 5: col["warn"], 6: col["interrupted"]}.get(data.get("retcode"), col["failed"])


def _active_line(run):
    step = run.get("step")
    if run.get("waiting"):
        where = f"waiting for approval of batch {run.get('batch')}"
    elif step:
        where = f"at {step}"
    else:
        where = "before its first step"
    line = (
        f"{run['run_id']}  {run.get('name')}  {run.get('state', 'running')}  master {run.get('master')}  "
        f"user {run.get('user')}  pid {run.get('pid')}  since {run.get('started')}  {where}"
    )
    if run.get("leased"):
        line += f"  claims: {', '.join(run['leased'])}"
    holds = [h.get("host") for h in run.get("holds") or []]
    if holds:
        line += f"  holds: {', '.join(holds)}"
    return line


def _status_line(data):
    """scenario.status in one line: state, batch, step, failed and held hosts, exit code."""
    n, m = (data.get("batch") or [0, 0])[:2]
    parts = [f"run {data.get('run_id')} ({data.get('name')}): {data.get('state')}", f"batch {n}/{m}"]
    if data.get("step"):
        parts.append(f"at {data['step']}")
    for key in ("failed", "held"):
        if data.get(key):
            parts.append(f"{key}: {', '.join(data[key])}")
    if "exit_code" in data:
        parts.append(f"exit {data['exit_code']}")
    lines = ["; ".join(parts)] + [f"  {k}: {p}" for k, p in sorted((data.get("reports") or {}).items())]
    return "\n".join(lines)


def output(data, **kwargs):
    """Render a scenario runner return (or one of its progress events) as text."""
    col = _colors()
    if isinstance(data, dict) and data.get("suffix") == "progress":
        return str(data.get("event", {}).get("message", ""))
    if not isinstance(data, dict):
        return str(data)
    kind = data.get("result")
    if kind == "error":
        return f"{col['failed']}ERROR (exit {data.get('retcode')}): {data.get('error')}{col['end']}"
    if kind == "compiled":
        # The SLS itself, so `salt-run scenario.compile NAME > orch/NAME.sls` just works.
        return data["sls"].rstrip("\n")
    if kind in RUN_RESULTS:
        out = _run(data, col)
    elif kind in ("plan", "valid"):
        out = _feature(data, col, with_hosts=False)
    elif kind == "history":
        return "\n".join(data.get("lines") or []) or "(no runs in the journal)"
    elif kind == "holds":
        return "\n".join(data.get("lines") or []) or "(no holds)"
    elif kind == "released":
        return "\n".join(data.get("lines") or [])
    elif kind == "record":
        return _record(data, col)
    elif kind == "reports":
        return "\n".join(
            [f"Reports of run {data['run_id']}:"] + [f"  {p}" for _k, p in sorted(data["reports"].items())]
        )
    elif kind == "active":
        return "\n".join(_active_line(run) for run in data["runs"]) or "(no runs in flight)"
    elif kind == "decided":
        verb = "approved" if data["decision"] == "approve" else "aborted"
        why = f": {data['reason']}" if data.get("reason") else ""
        return f"run {data['run_id']}, batch {(data.get('batch') or 0) + 1}: {verb} by {data.get('user')}{why}"
    elif kind == "status":
        return _status_line(data)
    elif kind == "report_file":
        return str(data.get("content", "")).rstrip("\n")
    elif "features" in data:
        return "\n".join(data["features"]) or "(no features)"
    elif "steps" in data:
        return "\n".join(
            f"{s['kind'].capitalize():5} {s['pattern']}  {col['dim']}# {s['origin']}{col['end']}" for s in data["steps"]
        )
    else:
        return "\n".join(f"{k}: {v}" for k, v in data.items() if k != "outputter")
    for warning in data.get("warnings") or []:
        out.append(f"{col['warn']}warning: {warning}{col['end']}")
    out += ["", f"{_outcome_color(data, col)}{data.get('summary', '')}{col['end']}"]
    return "\n".join(out)
