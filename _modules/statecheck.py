"""
Is a state in place? Judge ``state.apply`` returns the way ``scenario.run`` does.

``state.apply mods test=True`` exits 0 when changes are pending, and orchestrate's
``salt.state`` with ``test: True`` passes then too. ``statecheck.in_place`` runs the test
itself and fails (retcode 1) when any state would change or fails, so an orchestrate
``salt.function`` of it gives the verdict of the step ``Then the state mywebapp should be
in place``.

The judge (``_in_place``) is pure. The scenario engine judges the returns it collects with a
copy of its own (minion modules import nothing of the engine, nor the engine of them); a unit
test feeds both the same state runs, so the runner and the minion can not disagree.

Self-contained (stdlib + salt): ``saltutil.sync_modules`` is all a minion needs.
"""

import re

from salt.exceptions import SaltInvocationError

__virtualname__ = "statecheck"

# Dotted SLS names without a leading '-' or any path or template characters.
SLS_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*(\.[A-Za-z0-9_][A-Za-z0-9_-]*)*$")
# A state return's key: <module>_|-<id>_|-<name>_|-<function>.
_TAG_SEP = "_|-"
REASON_LIMIT = 400


def __virtual__():
    return __virtualname__


def _one_line(text, limit=REASON_LIMIT):
    if isinstance(text, (list, tuple)):
        text = "; ".join(str(t) for t in text)
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _label(tag, item):
    """``mywebapp-package (pkg.installed)``: the state's id and function, as Salt's output names them."""
    parts = str(tag).split(_TAG_SEP)
    if len(parts) != 4 or "__id__" not in item:
        # Salt's own entries name no state: "no_|-states_|-states_|-None" is "No States" (no top match).
        return str(item.get("name") or tag)
    return f"{item['__id__']} ({parts[0]}.{parts[3]})"


def _in_run_order(ret):
    """[(tag, item)] in the order Salt ran them (``__run_num__``)."""
    return sorted(ret.items(), key=lambda kv: kv[1].get("__run_num__", len(ret)))


def _not_a_state_run(ret):
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


def _would_change(item):
    """In test mode: Salt's "would change" is result None; some states also report changes."""
    return item.get("result") is not False and (item.get("result") is None or bool(item.get("changes")))


def _counts(ret):
    """``2 states, 1 would change``, plus ``, 1 failed`` when any did."""
    states = f"{len(ret)} state{'s' if len(ret) != 1 else ''}"
    failed = sum(1 for item in ret.values() if item.get("result") is False)
    line = f"{states}, {sum(1 for item in ret.values() if _would_change(item))} would change"
    return line + (f", {failed} failed" if failed else "")


def _in_place(ret):
    """(reason or None, summary) for ``state.apply test=True``: nothing would change, nothing fails.

    A state would change when its result is None (Salt's test-mode "would change") or it reports
    changes. The reason names the first failing state, else the first that would change.
    """
    why = _not_a_state_run(ret)
    if why:
        return why, None
    ordered = _in_run_order(ret)
    for tag, item in ordered:
        if item.get("result") is False:
            return f"{_label(tag, item)}: {_one_line(item.get('comment', ''))}", _counts(ret)
    for tag, item in ordered:
        if _would_change(item):
            return f"{_label(tag, item)} would change: {_one_line(item.get('comment', ''))}", _counts(ret)
    return None, _counts(ret)


def in_place(mods, pillar=None, saltenv=None):
    """
    Check that the state ``mods`` is in place: ``state.apply mods test=True`` would change
    nothing, and no state fails.

    A state would change when its test-mode result is None or it reports changes. Unlike a
    plain ``state.apply test=True`` (retcode 0 while changes are pending), this sets the
    retcode to 1 when not ok, so orchestrate's ``salt.function`` fails the minion.

    mods
        One SLS name or a comma-separated list, dotted names only (``mywebapp``, ``web.nginx``).

    pillar
        Pillar data for this run, a dictionary, as for ``state.apply``.

    saltenv
        The file server environment, as for ``state.apply``.

    Returns ``{"ok", "reason", "summary", "states"}``: ``reason`` names the first failing
    state (or the first that would change) with its comment, ``summary`` counts the states,
    ``states`` is the ``state.apply test=True`` return.

    CLI Example:

    .. code-block:: bash

        salt '*' statecheck.in_place mywebapp
        salt '*' statecheck.in_place mywebapp pillar='{"mywebapp": {"version": "4.2.6-3"}}'
    """
    if not isinstance(mods, str) or not all(SLS_RE.match(m) for m in mods.split(",")):
        raise SaltInvocationError(
            f"invalid SLS name {mods!r}: expected dotted names (letters, digits, _ and -), comma-separated"
        )
    if pillar is not None and not isinstance(pillar, dict):
        raise SaltInvocationError(f"pillar must be a dictionary, not {pillar!r}")
    if saltenv is not None and (not isinstance(saltenv, str) or not SLS_RE.match(saltenv)):
        raise SaltInvocationError(f"invalid saltenv {saltenv!r}")
    kwargs = {"test": True}
    if pillar is not None:
        kwargs["pillar"] = pillar
    if saltenv is not None:
        kwargs["saltenv"] = saltenv
    states = __salt__["state.apply"](mods, **kwargs)
    reason, summary = _in_place(states)
    # Always set, also to 0: state.apply left its own retcode in __context__.
    __context__["retcode"] = 0 if reason is None else 1
    return {"ok": reason is None, "reason": reason, "summary": summary, "states": states}
