"""Every master option the extension reads, with its default, its check and one line of doc.

The options are read here and nowhere else: ``load(opts)`` turns the master's opts into a
frozen ``Settings`` once per runner call, and a bad value is an ``InvalidOption`` (exit 2)
naming the option, before anything runs. This module imports nothing from the engine: every
engine stage may import it. The README's option table is ``options_table()``
(a unit test keeps the two equal).
"""

from __future__ import annotations

import fnmatch
import ipaddress
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .redact import shown_url

# Read-only Salt functions: what site step libraries may call unless the master widens it.
READ_ONLY_FUNCTIONS = (
    "test.*",
    "file.file_exists",
    "file.directory_exists",
    "file.contains",
    "file.search",
    "file.get_hash",
    "file.stats",
    "pkg.version",
    "service.status",
    "service.available",
    "grains.get",
    "grains.item",
    "pillar.get",
    "pkgcheck.verify",
    "nrpe.run",
    "nrpe.check",
    "lbgate.verify_blocked",
    "lbgate.is_blocked",
    "lbdrain.connections",
    "lbdrain.verify_no_connections",
    "network.connect",
)

DEFAULT_TIMEOUT = 5
DEFAULT_GATHER_JOB_TIMEOUT = 2
# test.ping answers in well under a second; a known host that is down should cost seconds.
DEFAULT_DISCOVERY_TIMEOUT = 3
MAX_SECONDS = 24 * 3600
DEFAULT_PROMETHEUS_TIMEOUT = 5
# A step that has not answered after this long is cut (hosts fail, their job is killed).
DEFAULT_STEP_DEADLINE = 600
# What the step in flight gets after a first SIGTERM/SIGINT before its job is killed.
DEFAULT_STOP_GRACE = 30


class InvalidOption(Exception):
    """A master option (or a runner's ``timeout=``) with a bad value: nothing ran (exit 2)."""

    retcode = 2


_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-/]*$")
_GLOB_RE = re.compile(r"^[A-Za-z0-9_.*?\[\]\-@]+$")
_URL_RE = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+(:[0-9]+)?/?$")


def seconds(value: Any) -> int:
    """A whole number of seconds from 1 to MAX_SECONDS; ValueError says what is wrong."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError("must be a number of seconds")
    try:
        number = int(value)
    except ValueError:
        raise ValueError("must be a whole number of seconds") from None
    if not 1 <= number <= MAX_SECONDS:
        raise ValueError(f"must be between 1 and {MAX_SECONDS} seconds")
    return number


def _address(value: Any) -> str:
    try:
        return str(ipaddress.ip_address(str(value)))
    except ValueError:
        raise ValueError("must be an IPv4 or IPv6 address") from None


def _absolute_path(value: Any) -> str:
    if not isinstance(value, str) or not os.path.isabs(value) or ".." in value.split("/"):
        raise ValueError("must be an absolute path without '..'")
    return value


def _http_url(value: Any) -> str:
    # The URL itself is not repeated: it may hold a secret.
    if not isinstance(value, str) or not re.match(r"^https?://[^/?#\s]+", value) or any(c.isspace() for c in value):
        raise ValueError("must be an http:// or https:// URL")
    return value


def _secret(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty string")
    return value


def _choice(*allowed: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return str(value)

    return check


def _urls(value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise ValueError("must be a list of http(s) URLs")
    for item in items:
        if not isinstance(item, str) or not _URL_RE.match(item):
            raise ValueError(f"{item!r} is not an http(s) URL (http://host:port)")
    return tuple(items)


def _key_prefix(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith("/") or any(ord(c) < 32 for c in value):
        raise ValueError("must be a key path starting with '/'")
    return value if value.endswith("/") else value + "/"


def _string_list(pattern: re.Pattern[str], what: str) -> Callable[[Any], tuple[str, ...]]:
    def check(value: Any) -> tuple[str, ...]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)):
            raise ValueError(f"must be a list of {what}")
        for item in items:
            if not isinstance(item, str) or not pattern.match(item):
                raise ValueError(f"{item!r} is not a valid {what[:-1]}")
        return tuple(items)

    return check


# -- the webhooks of scenario_notify (records/notify.py posts to them) ----------------------------
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


@dataclass(frozen=True)
class Option:
    name: str
    default: Any
    check: Callable[[Any], Any]
    doc: str
    shown_default: str = ""  # how the README shows a default computed from other options
    secret: bool = False  # its value is never in a message (tokens, passwords, webhook URLs)

    @property
    def key(self) -> str:
        return self.name.removeprefix("scenario_")


OPTIONS: tuple[Option, ...] = (
    Option(
        "scenario_lb_address",
        None,
        _address,
        "Load-balancer address for the seed's bare `Given the load balancer has ip address` step.",
        "unset",
    ),
    Option(
        "scenario_timeout",
        None,
        seconds,
        "Seconds each step waits for its hosts before asking whether the job still runs.",
        f"the master's `timeout`, else {DEFAULT_TIMEOUT}",
    ),
    Option(
        "scenario_discovery_timeout",
        None,
        seconds,
        "Seconds discovery's `test.ping` waits for the target's hosts.",
        f"the step timeout, at most {DEFAULT_DISCOVERY_TIMEOUT}",
    ),
    Option(
        "scenario_gather_job_timeout",
        DEFAULT_GATHER_JOB_TIMEOUT,
        seconds,
        "Seconds Salt's `find_job` waits before a silent host counts as 'no response'.",
    ),
    Option(
        "scenario_journal",
        None,
        _absolute_path,
        "The run journal (JSON lines, append-only).",
        "`<cachedir>/scenario/journal.jsonl`",
    ),
    Option(
        "scenario_step_functions",
        READ_ONLY_FUNCTIONS,
        _string_list(_GLOB_RE, "function globs"),
        "Salt functions (globs) that site step libraries may call.",
        "read-only functions (`test.*`, `pkg.version`, `service.status`, ...)",
    ),
    Option(
        "scenario_reactor_allow",
        (),
        _string_list(_NAME_RE, "scenario names"),
        "Scenarios that reactor events (`scenario/request`) may start.",
        "`[]`: none",
    ),
    Option(
        "scenario_reactor_senders",
        (),
        _string_list(_GLOB_RE, "minion id globs"),
        "Minion ids (globs) whose reactor events are accepted.",
        "`[]`: none",
    ),
    Option(
        "scenario_prometheus_url",
        None,
        _http_url,
        "Prometheus for metric steps (`/api/v1/query` is appended); http:// or https://.",
        "unset: metric steps are refused",
        secret=True,
    ),
    Option(
        "scenario_prometheus_token",
        None,
        _secret,
        "Bearer token for Prometheus (never printed); or the user and password below.",
        "unset",
        secret=True,
    ),
    Option("scenario_prometheus_user", None, _secret, "Basic-auth user for Prometheus.", "unset"),
    Option(
        "scenario_prometheus_password",
        None,
        _secret,
        "Basic-auth password for Prometheus (never printed).",
        "unset",
        secret=True,
    ),
    Option(
        "scenario_prometheus_ca",
        None,
        _absolute_path,
        "CA file (PEM) that Prometheus' https certificate is checked against.",
        "the system's CAs",
    ),
    Option(
        "scenario_prometheus_timeout",
        DEFAULT_PROMETHEUS_TIMEOUT,
        seconds,
        "Seconds each Prometheus query may take (the request's and Prometheus' own timeout).",
    ),
    Option(
        "scenario_notify",
        (),
        webhooks,
        "Webhooks told of a run: a list of `{url, events: [started, batch, approval, halted, finished], "
        "format: slack|json}`; `url` may be `sdb://...` or `pillar:key` (never printed).",
        "`[]`: none",
        secret=True,
    ),
    Option(
        "scenario_notify_timeout",
        DEFAULT_NOTIFY_TIMEOUT,
        seconds,
        "Seconds each webhook POST may take (2 tries; a failure is a warning, never a verdict).",
    ),
    Option(
        "scenario_store",
        "local",
        _choice("local", "etcd"),
        "The fleet store of leases, holds, live runs and approvals: `local` (files in the cachedir, "
        "one master) or `etcd` (shared by several masters; `pip install 'saltext-scenario[etcd]'`).",
    ),
    Option(
        "scenario_etcd_endpoints",
        (),
        _urls,
        "etcd's client URLs (`http(s)://host:2379`), tried in turn.",
        "`[]`",
    ),
    Option(
        "scenario_etcd_ca", None, _absolute_path, "CA bundle that etcd's TLS certificate is checked against.", "unset"
    ),
    Option("scenario_etcd_cert", None, _absolute_path, "Client certificate for etcd's TLS client auth.", "unset"),
    Option("scenario_etcd_key", None, _absolute_path, "Key of that client certificate.", "unset"),
    Option(
        "scenario_etcd_user", None, _secret, "etcd user (with `scenario_etcd_password`), when etcd auth is on.", "unset"
    ),
    Option("scenario_etcd_password", None, _secret, "That user's password (never printed).", "unset", secret=True),
    Option(
        "scenario_etcd_prefix",
        "/saltext-scenario/",
        _key_prefix,
        "Key prefix of the fleet store in etcd (masters sharing a fleet use the same one).",
    ),
    Option(
        "scenario_store_ttl",
        30,
        seconds,
        "Seconds a run's etcd lease lives without keepalive: a dead run's claims go, and it shows as "
        "interrupted, within this time.",
    ),
    Option(
        "scenario_step_deadline",
        DEFAULT_STEP_DEADLINE,
        seconds,
        "Seconds any one step (or a When with the Thens sharing its publish) may take from publish to "
        "verdict; hosts still running it then fail and their job is killed. A step's own "
        "`taking at most N seconds|minutes`, `within N seconds` or library `deadline:` replaces it.",
    ),
    Option(
        "scenario_stop_grace",
        DEFAULT_STOP_GRACE,
        seconds,
        "Seconds the step in flight gets after a first SIGTERM/SIGINT; then its job is killed on the "
        "hosts still running it (recorded as interrupted mid-step). A second signal kills it at once.",
    ),
)
BY_NAME = {option.name: option for option in OPTIONS}


@dataclass(frozen=True)
class Settings:
    """The checked values of one master's options (and the two Salt options the engine uses)."""

    cachedir: str = ""
    lb_address: str | None = None
    timeout: int = DEFAULT_TIMEOUT
    discovery_timeout: int = DEFAULT_DISCOVERY_TIMEOUT
    gather_job_timeout: int = DEFAULT_GATHER_JOB_TIMEOUT
    journal: str = ""
    step_functions: tuple[str, ...] = READ_ONLY_FUNCTIONS
    reactor_allow: tuple[str, ...] = ()
    reactor_senders: tuple[str, ...] = ()
    prometheus_url: str | None = field(default=None, repr=False)
    prometheus_token: str | None = field(default=None, repr=False)
    prometheus_user: str | None = None
    prometheus_password: str | None = field(default=None, repr=False)
    prometheus_ca: str | None = None
    prometheus_timeout: int = DEFAULT_PROMETHEUS_TIMEOUT
    notify: tuple[Webhook, ...] = ()
    notify_timeout: int = DEFAULT_NOTIFY_TIMEOUT
    master_id: str = ""  # the master's `id`: names this master in the fleet store
    store: str = "local"
    etcd_endpoints: tuple[str, ...] = ()
    etcd_ca: str | None = None
    etcd_cert: str | None = None
    etcd_key: str | None = None
    etcd_user: str | None = None
    etcd_password: str | None = field(default=None, repr=False)  # never printed
    etcd_prefix: str = "/saltext-scenario/"
    store_ttl: int = 30
    step_deadline: int = DEFAULT_STEP_DEADLINE
    stop_grace: int = DEFAULT_STOP_GRACE

    def with_timeout(self, timeout: Any) -> Settings:
        """These settings with a runner's ``timeout=`` argument applied (checked like the option)."""
        if timeout in (None, ""):
            return self
        try:
            checked = seconds(timeout)
        except ValueError as exc:
            raise InvalidOption(f"timeout={timeout!r}: {exc}") from None
        return _replace(self, timeout=checked, discovery_timeout=min(checked, self.discovery_timeout))

    def allows_function(self, fun: str) -> bool:
        return any(fnmatch.fnmatchcase(fun, glob) for glob in self.step_functions)


def _replace(settings: Settings, **changes: Any) -> Settings:
    values = {**settings.__dict__, **changes}
    return Settings(**values)


def _value(opts: dict[str, Any], option: Option) -> Any:
    raw = opts.get(option.name)
    if raw is None or raw == "":
        return option.default
    try:
        return option.check(raw)
    except ValueError as exc:
        shown = option.name if option.secret else f"{option.name}={raw!r}"
        raise InvalidOption(f"master option {shown}: {exc}") from None


def load(opts: dict[str, Any] | Settings) -> Settings:
    """The Settings of a master's opts; InvalidOption names the first bad option."""
    if isinstance(opts, Settings):
        return opts
    cachedir = opts.get("cachedir") or ""
    values = {option.key: _value(opts, option) for option in OPTIONS}
    master_timeout = opts.get("timeout")
    if values["timeout"] is None:
        try:
            values["timeout"] = seconds(master_timeout) if master_timeout else DEFAULT_TIMEOUT
        except ValueError as exc:
            raise InvalidOption(f"master option timeout={master_timeout!r}: {exc}") from None
    if values["discovery_timeout"] is None:
        values["discovery_timeout"] = min(values["timeout"], DEFAULT_DISCOVERY_TIMEOUT)
    if values["journal"] is None:
        values["journal"] = os.path.join(cachedir, "scenario", "journal.jsonl") if cachedir else ""
    return Settings(
        cachedir=cachedir,
        lb_address=values["lb_address"],
        timeout=values["timeout"],
        discovery_timeout=values["discovery_timeout"],
        gather_job_timeout=values["gather_job_timeout"],
        journal=values["journal"],
        step_functions=tuple(values["step_functions"]),
        reactor_allow=tuple(values["reactor_allow"]),
        reactor_senders=tuple(values["reactor_senders"]),
        prometheus_url=values["prometheus_url"],
        prometheus_token=values["prometheus_token"],
        prometheus_user=values["prometheus_user"],
        prometheus_password=values["prometheus_password"],
        prometheus_ca=values["prometheus_ca"],
        prometheus_timeout=values["prometheus_timeout"],
        notify=tuple(values["notify"]),
        notify_timeout=values["notify_timeout"],
        master_id=str(opts.get("id") or ""),
        store=values["store"],
        etcd_endpoints=tuple(values["etcd_endpoints"]),
        etcd_ca=values["etcd_ca"],
        etcd_cert=values["etcd_cert"],
        etcd_key=values["etcd_key"],
        etcd_user=values["etcd_user"],
        etcd_password=values["etcd_password"],
        etcd_prefix=values["etcd_prefix"],
        store_ttl=values["store_ttl"],
        step_deadline=values["step_deadline"],
        stop_grace=values["stop_grace"],
    )


def options_table() -> str:
    """The README's table of master options, in Markdown."""
    lines = ["| option | default | what it does |", "|---|---|---|"]
    for option in OPTIONS:
        default = option.shown_default or f"`{option.default}`"
        lines.append(f"| `{option.name}` | {default} | {option.doc} |")
    return "\n".join(lines)
