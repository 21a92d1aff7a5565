"""
Render scenario runs like cucumber's pretty output.

The scenario runner's returns carry ``outputter: scenario``, so ``salt-run`` picks this
by default; ``--out=json`` etc. still win. Progress events print as their one line.

CLI Example:

.. code-block:: bash

    salt-run scenario.run update_website --out=scenario
"""

import salt.utils.color
import salt.utils.yaml

try:
    # The runner needs the engine on the master anyway; its marks are the live progress lines'.
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
        "dim": c["LIGHT_GRAY"],
        "warn": c["LIGHT_YELLOW"],
        "end": c["ENDC"],
    }


def _step_lines(step, col, with_hosts):
    status = step.get("status")
    color = col.get(status, "")
    mark = MARKS.get(status, "\u2192")
    line = (
        f"    {color}{mark} {step['keyword']} {step['text']}{col['end']}  {col['dim']}# {step['location']}{col['end']}"
    )
    call = step.get("call")
    if with_hosts and call:
        hosts = step.get("hosts", {})
        passed = sum(1 for h in hosts.values() if h.get("status") == "passed")
        failed = sum(1 for h in hosts.values() if h.get("status") == "failed")
        if status != "skipped":
            line += f"  {passed} passed, {failed} failed, {step.get('duration', 0):.2f}s"
    out = [line]
    if not with_hosts and call:
        args = " ".join(str(a) for a in call.get("args", []))
        kwargs = " ".join(f"{k}={v}" for k, v in call.get("kwargs", {}).items())
        within = f"  (retried for {call['within']}s)" if call.get("within") else ""
        out.append(f"        {col['dim']}\u2192 {call['fun']} {args} {kwargs}".rstrip() + f"{within}{col['end']}")
    if with_hosts:
        for host, res in sorted(step.get("hosts", {}).items()):
            summary = f"  ({res['summary']})" if res.get("summary") else ""
            if res.get("status") == "failed":
                out.append(f"        {col['failed']}{host}: {res.get('reason')}{summary}{col['end']}")
            elif summary:
                # State steps: how many states changed on each host.
                out.append(f"        {col['dim']}{host}: {res['summary']}{col['end']}")
    return out


def _feature(data, col, with_hosts):
    out = [f"Feature: {data.get('feature', '')}  {col['dim']}# {data.get('uri', '')}{col['end']}"]
    if "target" in data:
        out.append(f"  target: {data['target']}")
    if "pinned" in data:
        out.append(f"  pinned: {', '.join(data['pinned']) or '(none)'}")
    batches = data.get("batches") or []
    if len(batches) > 1:
        out.append("  batches: " + " | ".join(", ".join(b) for b in batches))
    for scenario in data.get("scenarios", []):
        out.append("")
        out.append(f"  Scenario: {scenario['name']}  {col['dim']}# {scenario['location']}{col['end']}")
        for step in scenario["steps"]:
            out.extend(_step_lines(step, col, with_hosts))
    return out


def _run(data, col):
    out = _feature(data, col, with_hosts=True)
    if data.get("failed_hosts"):
        out += ["", f"{col['failed']}Failed hosts:{col['end']}"]
        for host, why in sorted(data["failed_hosts"].items()):
            out.append(f"  {host}: {why['step']}  # {why['location']}: {why['reason']}")
    if data.get("still_blocked"):
        out += ["", f"{col['warn']}Still blocked at the load balancer: {', '.join(data['still_blocked'])}{col['end']}"]
    if data.get("not_started"):
        out += [f"{col['warn']}Not started (later batches): {', '.join(data['not_started'])}{col['end']}"]
    if data.get("reports"):
        out += ["", "Reports:"] + [f"  {path}" for _kind, path in sorted(data["reports"].items())]
    return out


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
    if kind in ("passed", "failed"):
        out = _run(data, col)
    elif kind in ("plan", "valid"):
        out = _feature(data, col, with_hosts=False)
    elif kind == "history":
        return "\n".join(data.get("lines") or []) or "(no runs in the journal)"
    elif kind == "record":
        return salt.utils.yaml.safe_dump(data.get("record"), default_flow_style=False).rstrip()
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
    color = col["passed"] if data.get("retcode") == 0 else col["failed"]
    out += ["", f"{color}{data.get('summary', '')}{col['end']}"]
    return "\n".join(out)
