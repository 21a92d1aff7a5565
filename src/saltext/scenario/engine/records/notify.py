"""Webhook notifications of a run: a listener on the run's events, like every other reporter.

The master option ``scenario_notify`` lists webhooks::

    scenario_notify:
      - url: sdb://vault/deploy-chat          # or https://..., or pillar:notify:chat_url
        events: [started, approval, halted, finished]
        format: slack                          # {"text": ...}; "json": the run's state as data

What each notification kind is, and the event it comes from:

- ``started``: ``run_started``;
- ``batch``: ``batch_started`` (batch n of m, its hosts);
- ``approval``: ``approval_wanted`` (with the approve and abort commands);
- ``halted``: the run stopped before its end (a step failed beyond the failure budget, or it
  was interrupted), sent once, at the first sign: a batch skipped as halted, the rollback
  starting, or the end of the run;
- ``finished``: ``run_finished`` (state, exit code, failed and held hosts, report paths).

Delivery never changes a run: each POST has a timeout and 2 tries; a webhook that fails both
is a warning (``Notifier.warnings``, for the run's output and journal) and gets nothing more
in this run, so a dead receiver costs the run at most timeout x tries. Nothing here raises
into the run. URLs may hold secrets (a Slack webhook's path is one): they are shown as scheme
and host only, and a URL given as a reference (``sdb://``, ``pillar:``) is resolved by the
caller's ``resolve`` when the run starts.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ...config_webhooks import DEFAULT_NOTIFY_TIMEOUT, FORMATS, KINDS, REFERENCES, Webhook, webhooks
from ...redact import shown_url
from ..errors import EXIT_FAILED, EXIT_INTERRUPTED, RESULTS

# The webhooks are a master option: config.py reads them, config_webhooks.py checks them (Webhook, webhooks).
__all__ = ["DEFAULT_NOTIFY_TIMEOUT", "FORMATS", "KINDS", "REFERENCES", "Notifier", "Webhook", "webhooks"]

TRIES = 2
RETRY_PAUSE = 0.2  # seconds between the two tries
# How many hosts a chat line names before "and N more".
SHOWN_HOSTS = 5
Post = Callable[[str, bytes, float], None]  # (url, JSON body, timeout); raises when not delivered


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def http_post(url: str, body: bytes, timeout: float) -> None:
    """POST JSON; raises unless the receiver answered 2xx. Redirects are not followed."""
    req = urllib.request.Request(url, data=body, method="POST")  # noqa: S310 - http(s) checked by the caller
    req.add_header("Content-Type", "application/json")
    with urllib.request.build_opener(_NoRedirects()).open(req, timeout=timeout) as resp:
        resp.read(65536)


def _why(exc: BaseException) -> str:
    """Why a POST failed, without the URL (urllib's messages do not carry it; this keeps it so)."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError):
        exc = exc.reason if isinstance(exc.reason, BaseException) else exc
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


def _slack_escape(text: str) -> str:
    # Slack reads <...> as links and mentions, & as an entity: host names are shown as they are.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _hosts(hosts: list[str]) -> str:
    shown = ", ".join(hosts[:SHOWN_HOSTS])
    more = len(hosts) - SHOWN_HOSTS
    return shown + (f" and {more} more" if more > 0 else "")


@dataclass
class _RunState:
    """What the notifications say, kept up to date from the events."""

    run_id: str = ""
    name: str = ""
    feature: str = ""
    state: str = "running"
    batch: tuple[int, int] = (0, 0)
    batch_hosts: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # host -> first reason
    halted_at: str = ""  # the step that failed, as "Then ... (file:line)"
    held: list[str] = field(default_factory=list)
    reports: dict[str, str] = field(default_factory=dict)
    exit_code: int | None = None
    pinned: int = 0
    batches: int = 0


class Notifier:
    """``notifier(event)`` for every run event; the webhooks hear what they asked for."""

    def __init__(
        self,
        hooks: tuple[Webhook, ...] | list[Webhook],
        *,
        timeout: float = DEFAULT_NOTIFY_TIMEOUT,
        resolve: Callable[[str], str] | None = None,
        post: Post = http_post,
        pause: Callable[[float], None] = time.sleep,
        warn: Callable[[str], None] | None = None,
        tries: int = TRIES,
    ) -> None:
        self.hooks = list(hooks)
        self.timeout = timeout
        self.resolve = resolve
        self.post = post
        self.pause = pause
        self.warn = warn
        self.tries = max(1, tries)
        self.warnings: list[str] = []
        self.sent: list[tuple[int, str]] = []  # (webhook number, kind) delivered, in order
        self.run = _RunState()
        self._urls: dict[int, str | None] = {}  # resolved; None: given up on
        self._halted_sent = False

    # -- events -> kinds ---------------------------------------------------------------------------
    def __call__(self, event: Mapping[str, Any]) -> None:
        try:
            self._on(event)
        except Exception as exc:  # noqa: BLE001 - a notification never breaks a run
            self._warning(f"notifications: {type(exc).__name__} while handling {event.get('event')!r}")

    def _on(self, event: Mapping[str, Any]) -> None:
        kind, run = event.get("event"), self.run
        if kind == "run_started":
            run.run_id = str(event.get("run_id", ""))
            run.name = str(event.get("name", ""))
            run.feature = str(event.get("feature", ""))
            run.pinned = len(event.get("pinned") or [])
            run.batches = len(event.get("batches") or [])
            self._send("started")
        elif kind == "batch_started":
            run.batch = (int(event.get("batch", 0)) + 1, int(event.get("count", run.batches)))
            run.batch_hosts = list(event.get("hosts") or [])
            self._send("batch")
        elif kind == "step_finished":
            self._step(event)
        elif kind == "approval_wanted":
            self._send("approval", approval=event)
        elif kind == "rollback_started" or (
            kind == "batch_skipped" and event.get("reason") in ("halted", "interrupted")
        ):
            self._halted()
        elif kind == "run_finished":
            self._finished(event)

    def _step(self, event: Mapping[str, Any]) -> None:
        results = event.get("results") or {}
        for host in event.get("failed") or []:
            if host not in self.run.failed:
                reason = (results.get(host) or {}).get("reason") if isinstance(results, dict) else None
                self.run.failed[host] = str(reason or "failed")
                if not self.run.halted_at:
                    self.run.halted_at = f"{event.get('keyword', '')} {event.get('text', '')}".strip()
                    self.run.halted_at += f" ({event.get('location', '')})"

    def _halted(self) -> None:
        if not self._halted_sent:
            self._halted_sent = True
            self.run.state = "halted"
            self._send("halted")

    def _finished(self, event: Mapping[str, Any]) -> None:
        run, retcode = self.run, event.get("retcode")
        run.exit_code = retcode if isinstance(retcode, int) else None
        run.state = RESULTS.get(retcode, "failed") if isinstance(retcode, int) else "failed"
        run.held = sorted({*(event.get("still_blocked") or []), *(event.get("held") or [])})
        run.reports = dict(event.get("reports") or {})
        if retcode in (EXIT_FAILED, EXIT_INTERRUPTED) and not self._halted_sent:
            self._halted_sent = True
            self._send("halted")
        self._send("finished")

    # -- payloads ----------------------------------------------------------------------------------
    def payload(self, kind: str, hook: Webhook, approval: Mapping[str, Any] | None = None) -> dict[str, Any]:
        text = self.text(kind, approval)
        if hook.format == "slack":
            return {"text": _slack_escape(text)}
        run = self.run
        data: dict[str, Any] = {
            "event": kind,
            "run_id": run.run_id,
            "name": run.name,
            "feature": run.feature,
            "state": run.state,
            "batch": list(run.batch),
            "hosts": list(run.batch_hosts),
            "failed": sorted(run.failed),
            "held": list(run.held),
            "reports": dict(run.reports),
            "text": text,
        }
        if run.exit_code is not None:
            data["exit_code"] = run.exit_code
        if approval is not None:
            data["approve"] = approval.get("approve")
            data["abort"] = approval.get("abort")
            data["timeout"] = approval.get("timeout")
        return data

    def text(self, kind: str, approval: Mapping[str, Any] | None = None) -> str:
        run = self.run
        head = f"{run.name or run.feature} (run {run.run_id})"
        n, m = run.batch
        if kind == "started":
            return f"{head}: started on {run.pinned} host(s) in {run.batches} batch(es)"
        if kind == "batch":
            return f"{head}: batch {n}/{m} started: {_hosts(run.batch_hosts)}"
        if kind == "approval":
            approve = (approval or {}).get("approve", "")
            return f"{head}: batch {n}/{m} waits for approval: {approve}"
        failed = sorted(run.failed)
        why = ""
        if failed:
            first = failed[0]
            why = f"; {_hosts(failed)} failed at {run.halted_at}: {first}: {run.failed[first]}"
        if kind == "halted":
            return f"{head}: halted at batch {n}/{m}{why}"
        code = f" (exit {run.exit_code})" if run.exit_code is not None else ""
        held = f"; still held: {_hosts(run.held)}" if run.held else ""
        junit = run.reports.get("junit_xml")
        report = f"; JUnit: {junit}" if junit else ""
        return f"{head}: {run.state}{code}{why}{held}{report}"

    # -- delivery ----------------------------------------------------------------------------------
    def _send(self, kind: str, approval: Mapping[str, Any] | None = None) -> None:
        for hook in self.hooks:
            if kind not in hook.kinds:
                continue
            url = self._url(hook)
            if url is None:
                continue
            body = json.dumps(self.payload(kind, hook, approval)).encode()
            self._deliver(hook, url, kind, body)

    def _url(self, hook: Webhook) -> str | None:
        if hook.number in self._urls:
            return self._urls[hook.number]
        url: str | None = hook.url
        if hook.is_reference:
            url = None
            if self.resolve is None:
                self._warning(f"webhook {hook.number} ({hook.shown}): no resolver for its URL reference; not notified")
            else:
                try:
                    resolved = self.resolve(hook.url)
                except Exception as exc:  # noqa: BLE001 - whatever the resolver raises is a warning
                    self._warning(
                        f"webhook {hook.number} ({hook.shown}): its URL could not be resolved "
                        f"({type(exc).__name__}); not notified"
                    )
                else:
                    if isinstance(resolved, str) and resolved.startswith(("http://", "https://")):
                        url = resolved
                    else:
                        self._warning(
                            f"webhook {hook.number} ({hook.shown}): its reference did not resolve to an "
                            "http(s) URL; not notified"
                        )
        self._urls[hook.number] = url
        return url

    def _deliver(self, hook: Webhook, url: str, kind: str, body: bytes) -> None:
        why = ""
        for attempt in range(1, self.tries + 1):
            try:
                self.post(url, body, self.timeout)
            except Exception as exc:  # noqa: BLE001 - any failure to deliver is a warning
                why = _why(exc)
                if attempt < self.tries:
                    self.pause(RETRY_PAUSE)
                continue
            self.sent.append((hook.number, kind))
            return
        self._urls[hook.number] = None
        self._warning(
            f"webhook {hook.number} ({shown_url(url)}): {kind!r} not delivered after {self.tries} tries "
            f"({why}); no more notifications to it in this run"
        )

    def _warning(self, text: str) -> None:
        self.warnings.append(text)
        if self.warn is not None:
            try:
                self.warn(text)
            except Exception:  # noqa: BLE001, S110 - the warning is kept in self.warnings anyway
                pass
