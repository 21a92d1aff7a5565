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
from dataclasses import dataclass
from typing import Any

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
    "network.connect",
)

DEFAULT_TIMEOUT = 5
DEFAULT_GATHER_JOB_TIMEOUT = 2
# test.ping answers in well under a second; a known host that is down should cost seconds.
DEFAULT_DISCOVERY_TIMEOUT = 3
MAX_SECONDS = 24 * 3600


class InvalidOption(Exception):
    """A master option (or a runner's ``timeout=``) with a bad value: nothing ran (exit 2)."""

    retcode = 2


_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-/]*$")
_GLOB_RE = re.compile(r"^[A-Za-z0-9_.*?\[\]\-@]+$")


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


@dataclass(frozen=True)
class Option:
    name: str
    default: Any
    check: Callable[[Any], Any]
    doc: str
    shown_default: str = ""  # how the README shows a default computed from other options

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
        raise InvalidOption(f"master option {option.name}={raw!r}: {exc}") from None


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
    )


def options_table() -> str:
    """The README's table of master options, in Markdown."""
    lines = ["| option | default | what it does |", "|---|---|---|"]
    for option in OPTIONS:
        default = option.shown_default or f"`{option.default}`"
        lines.append(f"| `{option.name}` | {default} | {option.doc} |")
    return "\n".join(lines)
