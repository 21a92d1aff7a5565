"""The webhooks of ``scenario_notify``: their checker and the Webhook it yields
(records/notify.py posts to them). Nothing of the engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .redact import shown_url

KINDS = ("started", "batch", "approval", "halted", "finished")
FORMATS = ("slack", "json")
REFERENCES = ("sdb://", "pillar:")
DEFAULT_NOTIFY_TIMEOUT = 3


@dataclass(frozen=True)
class Webhook:
    """One entry of ``scenario_notify``; its repr never holds the URL's secret parts."""

    number: int  # 1-based, as the warnings name it
    url: str = field(repr=False)
    kinds: tuple[str, ...] = KINDS
    format: str = "json"

    @property
    def is_reference(self) -> bool:
        return self.url.startswith(REFERENCES)

    @property
    def shown(self) -> str:
        if self.is_reference:
            return self.url.split(":", 1)[0] + ":…"
        return shown_url(self.url)

    def __repr__(self) -> str:
        return f"Webhook(#{self.number} {self.shown}, {'/'.join(self.kinds)}, {self.format})"


def webhooks(value: Any) -> tuple[Webhook, ...]:
    """The checker of ``scenario_notify``: a ValueError names the bad entry (never its URL's secrets)."""
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise ValueError("must be a list of webhooks, each {url, events, format}")
    return tuple(_webhook(number, entry) for number, entry in enumerate(value, 1))


def _webhook(number: int, entry: Any) -> Webhook:
    where = f"webhook {number}"
    if not isinstance(entry, dict):
        raise ValueError(f"{where} must be a mapping with url, events and format")
    unknown = sorted(str(k) for k in entry if k not in ("url", "events", "format"))
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r} (known: url, events, format)")
    url = entry.get("url")
    if not isinstance(url, str) or not (url.startswith(("http://", "https://", *REFERENCES))):
        raise ValueError(f"{where}: url must be an http(s):// URL, an sdb:// reference or pillar:<key>")
    if url.startswith(("http://", "https://")) and shown_url(url).startswith("<"):
        raise ValueError(f"{where}: url is malformed")
    events = entry.get("events", list(KINDS))
    if isinstance(events, str):
        events = [events]
    if not isinstance(events, list) or not events:
        raise ValueError(f"{where} ({_shown(url)}): events must be a non-empty list of {', '.join(KINDS)}")
    for kind in events:
        if kind not in KINDS:
            raise ValueError(f"{where} ({_shown(url)}): unknown event {kind!r} (known: {', '.join(KINDS)})")
    fmt = entry.get("format", "json")
    if fmt not in FORMATS:
        raise ValueError(f"{where} ({_shown(url)}): format must be slack or json, not {fmt!r}")
    return Webhook(number, url, tuple(k for k in KINDS if k in events), fmt)


def _shown(url: str) -> str:
    return url.split(":", 1)[0] + ":…" if url.startswith(REFERENCES) else shown_url(url)
