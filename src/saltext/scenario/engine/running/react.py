"""Reactor requests: validate an untrusted bus event, then start the scenario it names.

`reactor/scenario.sls` hands the raw master event to `scenario.react`. A minion's
`event.send scenario/request '{"scenario": "update_website"}'` arrives on the master as

    {"id": "web1", "tag": "scenario/request", "data": {"scenario": "update_website"}, "cmd": "_minion_event", ...}

where `id` is the minion id the master received the event from. Everything in it is untrusted:
types, sizes, the scenario name and the sender are checked against master options before
anything runs. Nothing is allowed by default:

    scenario_reactor_allow:   [update_website]   # scenario names that events may start
    scenario_reactor_senders: [web*]             # minion ids (globs) that may send them

A burst of identical requests yields one run: the scenario lock makes every later request
end with exit 4, logged as "already running" (`saltext/scenario/react/busy`). A request whose
pinned hosts are held by another run (engine/store/) is refused with exit 4 too, and
`saltext/scenario/react/held` names each hold: host, run, feature, step, reason, master.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import re
from collections.abc import Callable
from typing import Any

from ...config import Settings
from ..errors import EXIT_INVALID, EXIT_LOCKED, ScenarioError
from ..parsing.names import feature_path
from ..parsing.sizes import parse_batch

log = logging.getLogger(__name__)

ALLOW_OPTION = "scenario_reactor_allow"
SENDERS_OPTION = "scenario_reactor_senders"
MAX_EVENT_BYTES = 4096
PAYLOAD_KEYS = {"scenario", "batch"}
TAG_PREFIX = "saltext/scenario/react"
# Minion ids as Salt accepts them, without anything that could mislead a log reader.
_SENDER_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,128}$")


class Refused(Exception):
    """The request is not acceptable; the message says why (it goes to the log and the bus)."""


Return = dict[str, Any]
Fire = Callable[[dict[str, Any], str], Any]


def _size(data: Any) -> int:
    try:
        return len(json.dumps(data, default=str).encode("utf-8"))
    except (TypeError, ValueError):
        raise Refused("event data cannot be serialized") from None


def check_request(settings: Settings, data: Any) -> tuple[str, Any]:
    """(scenario name, batch or None) for an acceptable event, else raise Refused."""
    if not isinstance(data, dict):
        raise Refused(f"event data must be a mapping, got {type(data).__name__}")
    size = _size(data)
    if size > MAX_EVENT_BYTES:
        raise Refused(f"event data too large ({size} bytes, limit {MAX_EVENT_BYTES})")
    sender = data.get("id")
    if not isinstance(sender, str) or not _SENDER_RE.match(sender):
        raise Refused("no valid sender id: only minion events (event.send) are accepted")
    senders = list(settings.reactor_senders)
    if not any(fnmatch.fnmatchcase(sender, glob) for glob in senders):
        raise Refused(f"sender {sender!r} is not allowed (master option {SENDERS_OPTION}: {senders})")
    payload = data.get("data")
    if not isinstance(payload, dict):
        raise Refused('the payload must be a mapping like {"scenario": "NAME"}')
    # event.send from salt-call adds Salt's own __pub_* job metadata to the payload.
    unknown = {k for k in payload if not (isinstance(k, str) and k.startswith("__pub_"))} - PAYLOAD_KEYS
    if unknown:
        raise Refused(f"unexpected payload key(s) {sorted(str(k) for k in unknown)}; allowed: {sorted(PAYLOAD_KEYS)}")
    name = payload.get("scenario")
    if not isinstance(name, str):
        raise Refused('the payload names no scenario ({"scenario": "NAME"})')
    try:
        feature_path(name)
    except ScenarioError as exc:
        raise Refused(str(exc)) from None
    allowed = list(settings.reactor_allow)
    if name not in allowed:
        raise Refused(f"scenario {name!r} is not on the allowlist (master option {ALLOW_OPTION}: {allowed})")
    batch = payload.get("batch")
    if batch is not None:
        if isinstance(batch, bool) or not isinstance(batch, (str, int)):
            raise Refused("batch must be a count or a percentage")
        try:
            parse_batch(batch)
        except ScenarioError as exc:
            raise Refused(str(exc)) from None
    return name, batch


def _describe(data: Any) -> tuple[str | None, str | None]:
    """The sender and scenario as far as they can be told, for the log and the refusal event."""
    if not isinstance(data, dict):
        return None, None
    sender = data.get("id") if isinstance(data.get("id"), str) else None
    raw = data.get("data")
    payload: dict[Any, Any] = raw if isinstance(raw, dict) else {}
    name = payload.get("scenario") if isinstance(payload.get("scenario"), str) else None
    return (sender or "")[:128] or None, (name or "")[:200] or None


def refuse(tag: Any, data: Any, reason: str, fire: Fire) -> Return:
    """Log the refusal with its reason and put it on the bus; exit 2, nothing ran."""
    sender, name = _describe(data)
    request = {"tag": tag if isinstance(tag, str) else None, "sender": sender, "scenario": name}
    log.warning(
        "scenario.react refused a request (tag %r, sender %r, scenario %r): %s", request["tag"], sender, name, reason
    )
    fire({**request, "reason": reason}, f"{TAG_PREFIX}/refused")
    return {"retcode": EXIT_INVALID, "result": "refused", "reason": reason, "request": request}


def react(settings: Settings, tag: Any, data: Any, run: Callable[[str, Any], Return], fire: Fire) -> Return:
    """Validate the event; `run(name, batch)` the scenario or refuse. Returns a dict with retcode.

    `fire(data, tag)` puts the refusal on the master bus.
    """
    try:
        name, batch = check_request(settings, data)
    except Refused as exc:
        return refuse(tag, data, str(exc), fire)
    sender, _name = _describe(data)
    request = {"tag": tag if isinstance(tag, str) else None, "sender": sender, "scenario": name}
    log.info("scenario.react: %r requested scenario %r", sender, name)
    ret = run(name, batch)
    if ret.get("retcode") == EXIT_LOCKED and ret.get("held_by"):
        # Refused over held hosts: the event names each hold's run, feature, step and reason.
        log.warning(
            "scenario.react: scenario %r refused over held hosts; request from %r: %s", name, sender, ret["error"]
        )
        fire({**request, "reason": "held", "held_by": ret["held_by"], "error": ret.get("error")}, f"{TAG_PREFIX}/held")
    elif ret.get("retcode") == EXIT_LOCKED:
        log.warning("scenario.react: scenario %r already running; request from %r ignored", name, sender)
        fire({**request, "reason": "already running"}, f"{TAG_PREFIX}/busy")
    elif ret.get("retcode") and not ret.get("scenarios"):
        # Ended before any step ran, for another reason (an unreachable store, a discovery
        # shortfall ...): the operator reading the master log sees why this request did nothing.
        log.warning(
            "scenario.react: scenario %r ran no step for %r: exit %s: %s",
            name,
            sender,
            ret.get("retcode"),
            ret.get("error") or ret.get("result"),
        )
        fire(
            {**request, "reason": "ran no step", "retcode": ret.get("retcode"), "error": ret.get("error")},
            f"{TAG_PREFIX}/not_run",
        )
    ret["request"] = request
    return ret
