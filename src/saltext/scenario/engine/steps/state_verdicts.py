"""Judge a ``state.apply`` return on the master: did every state apply, or is the state in place?

Each judge returns ``(reason or None, summary or None)``: the reason names the first state that
fails the step (with its comment), the summary counts the states (``2 states, 1 changed``).

The minion module ``statecheck`` judges ``state.apply test=True`` for ``statecheck.in_place``
with a copy of ``in_place`` (minion modules are self-contained); a unit test feeds both the same
returns, so the runner and the minion can not disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# A state return's key: <module>_|-<id>_|-<name>_|-<function>.
_TAG_SEP = "_|-"
REASON_LIMIT = 400

Verdict = tuple[str | None, str | None]


def _one_line(text: Any, limit: int = REASON_LIMIT) -> str:
    if isinstance(text, (list, tuple)):
        text = "; ".join(str(t) for t in text)
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _label(tag: str, item: Mapping[str, Any]) -> str:
    """``mywebapp-package (pkg.installed)``: the state's id and function, as Salt's output names them."""
    parts = str(tag).split(_TAG_SEP)
    if len(parts) != 4 or "__id__" not in item:
        # Salt's own entries name no state: "no_|-states_|-states_|-None" is "No States" (no top match).
        return str(item.get("name") or tag)
    return f"{item['__id__']} ({parts[0]}.{parts[3]})"


def _in_run_order(ret: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, Mapping[str, Any]]]:
    """[(tag, item)] in the order Salt ran them (``__run_num__``)."""
    return sorted(ret.items(), key=lambda kv: kv[1].get("__run_num__", len(ret)))


def _not_a_state_run(ret: object) -> str | None:
    """Why ``ret`` is not a state run's return, or None when it is one."""
    if isinstance(ret, (list, tuple)):
        # Render and compile errors, "already running", a missing SLS: Salt returns strings.
        return "the state did not run: " + (_one_line(ret) or "no detail")
    if not isinstance(ret, dict):
        return f"unexpected return {_one_line(repr(ret), 200)}"
    if not ret:
        return "no states ran"
    for tag, item in ret.items():
        if not isinstance(item, dict):
            return f"the state did not run: {tag}: {_one_line(item)}"
    return None


def _would_change(item: Mapping[str, Any]) -> bool:
    """In test mode: Salt's "would change" is result None; some states also report changes."""
    return item.get("result") is not False and (item.get("result") is None or bool(item.get("changes")))


def _counts(ret: Mapping[str, Mapping[str, Any]], test: bool) -> str:
    """``2 states, 1 changed`` (``would change`` in test mode), plus ``, 1 failed`` when any did."""
    states = f"{len(ret)} state{'s' if len(ret) != 1 else ''}"
    failed = sum(1 for item in ret.values() if item.get("result") is False)
    if test:
        line = f"{states}, {sum(1 for item in ret.values() if _would_change(item))} would change"
    else:
        changed = sum(1 for item in ret.values() if item.get("changes") and item.get("result") is not False)
        line = f"{states}, {changed} changed"
    return line + (f", {failed} failed" if failed else "")


def applied(ret: object) -> Verdict:
    """(reason or None, summary) for ``state.apply``: every state's result must be True.

    The reason names the first state (in run order) whose result is not True, with its comment.
    """
    why = _not_a_state_run(ret)
    if why or not isinstance(ret, dict):
        return why, None
    for tag, item in _in_run_order(ret):
        result = item.get("result")
        if result is True:
            continue
        comment = _one_line(item.get("comment", ""))
        if result is None:
            # Only a run in test mode (e.g. `test: True` in the minion config) leaves None.
            return f"{_label(tag, item)} did not run (result None, test mode?): {comment}", _counts(ret, False)
        return f"{_label(tag, item)}: {comment}", _counts(ret, False)
    return None, _counts(ret, False)


def in_place(ret: object) -> Verdict:
    """(reason or None, summary) for ``state.apply test=True``: nothing would change, nothing fails.

    A state would change when its result is None (Salt's test-mode "would change") or it reports
    changes. The reason names the first failing state, else the first that would change.
    """
    why = _not_a_state_run(ret)
    if why or not isinstance(ret, dict):
        return why, None
    ordered = _in_run_order(ret)
    for tag, item in ordered:
        if item.get("result") is False:
            return f"{_label(tag, item)}: {_one_line(item.get('comment', ''))}", _counts(ret, True)
    for tag, item in ordered:
        if _would_change(item):
            return f"{_label(tag, item)} would change: {_one_line(item.get('comment', ''))}", _counts(ret, True)
    return None, _counts(ret, True)
