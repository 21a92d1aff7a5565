"""Typed step parameters, validated when a step is matched.

Each type has a regex fragment used for matching (broad, so a bad value reaches the
validator and gets a precise message instead of "undefined step") and a converter that
raises ValueError. Anything a shell would need quoted is rejected here.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass

from ..contracts import Schedule
from ..errors import InvalidScenario
from ..parsing.sizes import parse_schedule

# A parameter as its converter returns it: text, a count, or a batch schedule (None: an
# optional part of the pattern that the text left out).
ParamValue = str | int | float | Schedule | None

_ANY = r".+?"
_INT = r"[0-9]+"

_PACKAGE_RE = re.compile(r"^[a-z0-9][a-z0-9+.\-_]*$")
_VERSION_RE = re.compile(r"^(<=|>=|==|<|>|=)?([0-9A-Za-z.+~:\-]+)$")
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@\-]*$")
_CHECK_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
# "=" is allowed: arguments reach Salt as data, so "a=b" is never read as key=value.
_PATH_RE = re.compile(r"^/[A-Za-z0-9_.\-+@/=]*$")
_GRAIN_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*(:[A-Za-z0-9_.\-*]+)+$")
_CLASS_RE = re.compile(r"^[A-Za-z0-9_]+(::[A-Za-z0-9_]+)*$")
_FACT_RE = re.compile(r"^([A-Za-z0-9_][A-Za-z0-9_.]*)=([A-Za-z0-9_.\-*]+)$")
_COMPOUND_RE = re.compile(r"^[A-Za-z0-9_:@.*,/\-() ]+$")
_WORD_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:\-]*$")
# SLS names: dotted, each part letters, digits, _ and - (not first): no path, no Jinja, no option.
_SLS_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-]*(\.[A-Za-z0-9_][A-Za-z0-9_\-]*)*$")
# Pillar keys nest with ':' as in pillar.get (mywebapp:version); no '.', which pillar.get would not nest.
_PILLAR_KEY_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-]*(:[A-Za-z0-9_][A-Za-z0-9_\-]*)*$")
_PILLAR_VALUE_RE = re.compile(r"^[A-Za-z0-9_.:+~][A-Za-z0-9_.:+~\-]*$")
# Matching: an SLS name never swallows " with pillar ...", so "I apply the state {sls}" and
# "I apply the state {sls} with pillar {key}={value}" never both match one text.
_SLS_MATCH = r"(?:(?! with pillar ).)+?"
_PILLAR_KEY_MATCH = r"[^=]+?"
# HAProxy's own rule for proxy and server names; no space, ';' or newline can reach its runtime API.
_HAPROXY_NAME_RE = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
_MINION_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,252}$")


@dataclass(frozen=True)
class ParamType:
    name: str
    regex: str
    convert: Callable[[str], ParamValue]  # raises ValueError(why)
    describe: str


def _pattern(regex: re.Pattern[str], what: str, like: str | None = None) -> Callable[[str], str]:
    message = f"not a {what} like {like}" if like else f"not a valid {what}"

    def convert(value: str) -> str:
        if not regex.match(value):
            raise ValueError(message)
        return value

    return convert


def _ip(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError("not an IPv4 or IPv6 address") from None


def _version(value: str) -> str:
    m = _VERSION_RE.match(value)
    if not m or m.group(2).startswith("-"):
        raise ValueError("not a version (digits, letters, . + ~ : -, optionally after <, <=, =, >=, >)")
    return value


def _int_at_least_1(value: str) -> int:
    n = int(value)
    if n < 1:
        raise ValueError("must be at least 1")
    return n


def _percent(value: str) -> int:
    n = int(value)
    if not 1 <= n <= 100:
        raise ValueError("must be between 1 and 100")
    return n


def _path(value: str) -> str:
    if not _PATH_RE.match(value) or "/../" in value + "/" or "//" in value:
        raise ValueError("not an absolute path without '..' (letters, digits, _ . - + @ = /)")
    return value


def _pillar_key(value: str) -> str:
    if "." in value and _PILLAR_KEY_RE.match(value.replace(".", ":")):
        raise ValueError(f"nest pillar keys with ':' as pillar.get does ({value.replace('.', ':')}), not '.'")
    if not _PILLAR_KEY_RE.match(value):
        raise ValueError("not a pillar key like mywebapp:version (letters, digits, _ -, nested with ':')")
    return value


def _compound(value: str) -> str:
    value = value.strip()
    if not value or not _COMPOUND_RE.match(value) or value.startswith("-"):
        raise ValueError("not a compound target (letters, digits, _ : @ . * , / - ( ) and spaces)")
    return value


def _schedule(value: str) -> Schedule | None:
    try:
        return parse_schedule(value.strip())
    except InvalidScenario as exc:
        raise ValueError(str(exc).removeprefix("batch=").split(": ", 1)[-1]) from None


_grain = _pattern(_GRAIN_RE, "grain match", like="roles:dev_server")


def _number(value: str) -> float:
    # Plain decimals (0.05, 5, 1e-3): what a threshold is written as; no inf or nan.
    if not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?", value):
        raise ValueError("not a number like 0.05 or 250")
    return float(value)


def _promql(value: str) -> str:
    if not value.strip():
        raise ValueError("empty query")
    return value


def _duration(value: str) -> int:
    # "20 seconds", "1 minute": matched exactly by the type's regex; in seconds.
    count, unit = value.split()
    seconds = int(count) * (60 if unit.startswith("minute") else 1)
    if not 1 <= seconds <= 24 * 3600:
        raise ValueError("must be between 1 second and 24 hours")
    return seconds


def _failure_count(value: str) -> int:
    return int(value.split(maxsplit=1)[0])


TYPES = {
    t.name: t
    for t in [
        ParamType("ip", _ANY, _ip, "IP address"),
        ParamType("package", _ANY, _pattern(_PACKAGE_RE, "package name"), "package name"),
        ParamType("version", _ANY, _version, "package version"),
        ParamType("service", _ANY, _pattern(_NAME_RE, "service name"), "service name"),
        ParamType("check", _ANY, _pattern(_CHECK_RE, "NRPE check name"), "NRPE check name"),
        ParamType("grain", _ANY, _grain, "grain match"),
        ParamType("pillar", _ANY, _grain, "pillar match"),
        ParamType("class", _ANY, _pattern(_CLASS_RE, "class", like="roles::dev_server"), "class"),
        ParamType("fact", _ANY, _pattern(_FACT_RE, "fact", like="country=de"), "fact"),
        ParamType("compound", _ANY, _compound, "compound target"),
        ParamType("nodegroup", _ANY, _pattern(_WORD_RE, "nodegroup name"), "nodegroup name"),
        ParamType("word", _ANY, _pattern(_WORD_RE, "word"), "word"),
        ParamType("haproxy_name", _ANY, _pattern(_HAPROXY_NAME_RE, "HAProxy name", like="web_servers"), "HAProxy name"),
        ParamType("minion", _ANY, _pattern(_MINION_RE, "minion id", like="lb1.example.com"), "minion id"),
        ParamType("path", _ANY, _path, "absolute path"),
        ParamType(
            "sls",
            _SLS_MATCH,
            _pattern(_SLS_RE, "state name", like="mywebapp or web.nginx (dotted, no path, no Jinja)"),
            "SLS name",
        ),
        ParamType("pillar_key", _PILLAR_KEY_MATCH, _pillar_key, "pillar key"),
        ParamType(
            "pillar_value",
            _ANY,
            _pattern(_PILLAR_VALUE_RE, "pillar value", like="4.2.6-3 (letters, digits, _ . : + ~ -, no leading -)"),
            "pillar value",
        ),
        ParamType("n", _INT, _int_at_least_1, "count"),
        ParamType("int", _INT, _int_at_least_1, "count"),
        ParamType("percent", _INT, _percent, "percentage"),
        ParamType("schedule", r"[0-9%, ]+?", _schedule, "batch schedule like 1, 10%, 50%"),
        # Metric gates (engine/gates/steps.py)
        ParamType("number", _ANY, _number, "number"),
        ParamType("promql", _ANY, _promql, "PromQL query"),
        ParamType("comparison", "below|above|at most|at least", str, "comparison"),
        ParamType("duration", r"[0-9]+ (?:seconds?|minutes?)", _duration, "duration like 20 seconds"),
        ParamType("failure_count", r"[0-9]+ failures?", _failure_count, "number of failures"),
    ]
}


def get(name: str) -> ParamType:
    try:
        return TYPES[name]
    except KeyError:
        raise KeyError(f"unknown parameter type {name!r} (known: {', '.join(sorted(TYPES))})") from None
