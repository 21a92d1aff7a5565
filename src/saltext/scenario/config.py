"""Every master option the extension reads, with its default, its check and one line of doc.

The options are read here and nowhere else: ``load(opts)`` turns the master's opts into a
frozen ``Settings`` once per runner call, and a bad value is an ``InvalidOption`` (exit 2)
naming the option, before anything runs. This module imports nothing from the engine: every
engine stage may import it. The README's option table is ``options_table()``
(a unit test keeps the two equal).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .config_checks import (
    GLOB_RE,
    NAME_RE,
    absolute_path,
    address,
    choice,
    http_url,
    key_prefix,
    seconds,
    secret_text,
    string_list,
    urls,
)
from .config_webhooks import DEFAULT_NOTIFY_TIMEOUT, Webhook, webhooks

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
DEFAULT_PROMETHEUS_TIMEOUT = 5
# A step that has not answered after this long is cut (hosts fail, their job is killed).
DEFAULT_STEP_DEADLINE = 600
# What the step in flight gets after a first SIGTERM/SIGINT before its job is killed.
DEFAULT_STOP_GRACE = 30


class InvalidOption(Exception):
    """A master option (or a runner's ``timeout=``) with a bad value: nothing ran (exit 2)."""

    retcode = 2


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
        address,
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
        absolute_path,
        "The run journal (JSON lines, append-only).",
        "`<cachedir>/scenario/journal.jsonl`",
    ),
    Option(
        "scenario_step_functions",
        READ_ONLY_FUNCTIONS,
        string_list(GLOB_RE, "function globs"),
        "Salt functions (globs) that site step libraries may call.",
        "read-only functions (`test.*`, `pkg.version`, `service.status`, ...)",
    ),
    Option(
        "scenario_reactor_allow",
        (),
        string_list(NAME_RE, "scenario names"),
        "Scenarios that reactor events (`scenario/request`) may start.",
        "`[]`: none",
    ),
    Option(
        "scenario_reactor_senders",
        (),
        string_list(GLOB_RE, "minion id globs"),
        "Minion ids (globs) whose reactor events are accepted.",
        "`[]`: none",
    ),
    Option(
        "scenario_prometheus_url",
        None,
        http_url,
        "Prometheus for metric steps (`/api/v1/query` is appended); http:// or https://.",
        "unset: metric steps are refused",
        secret=True,
    ),
    Option(
        "scenario_prometheus_token",
        None,
        secret_text,
        "Bearer token for Prometheus (never printed); or the user and password below.",
        "unset",
        secret=True,
    ),
    Option("scenario_prometheus_user", None, secret_text, "Basic-auth user for Prometheus.", "unset"),
    Option(
        "scenario_prometheus_password",
        None,
        secret_text,
        "Basic-auth password for Prometheus (never printed).",
        "unset",
        secret=True,
    ),
    Option(
        "scenario_prometheus_ca",
        None,
        absolute_path,
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
        choice("local", "etcd"),
        "The fleet store of leases, holds, live runs and approvals: `local` (files in the cachedir, "
        "one master) or `etcd` (shared by several masters; `pip install 'saltext-scenario[etcd]'`).",
    ),
    Option(
        "scenario_etcd_endpoints",
        (),
        urls,
        "etcd's client URLs (`http(s)://host:2379`), tried in turn.",
        "`[]`",
    ),
    Option(
        "scenario_etcd_ca", None, absolute_path, "CA bundle that etcd's TLS certificate is checked against.", "unset"
    ),
    Option("scenario_etcd_cert", None, absolute_path, "Client certificate for etcd's TLS client auth.", "unset"),
    Option("scenario_etcd_key", None, absolute_path, "Key of that client certificate.", "unset"),
    Option(
        "scenario_etcd_user",
        None,
        secret_text,
        "etcd user (with `scenario_etcd_password`), when etcd auth is on.",
        "unset",
    ),
    Option("scenario_etcd_password", None, secret_text, "That user's password (never printed).", "unset", secret=True),
    Option(
        "scenario_etcd_prefix",
        "/saltext-scenario/",
        key_prefix,
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
