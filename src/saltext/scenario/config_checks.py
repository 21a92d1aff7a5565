"""The checkers of master option values: each takes the raw value and returns the checked one,
or raises ValueError saying what is wrong (config.py names the option). Nothing of the engine."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable
from typing import Any

MAX_SECONDS = 24 * 3600

NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-/]*$")
GLOB_RE = re.compile(r"^[A-Za-z0-9_.*?\[\]\-@]+$")
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


def address(value: Any) -> str:
    try:
        return str(ipaddress.ip_address(str(value)))
    except ValueError:
        raise ValueError("must be an IPv4 or IPv6 address") from None


def absolute_path(value: Any) -> str:
    if not isinstance(value, str) or not os.path.isabs(value) or ".." in value.split("/"):
        raise ValueError("must be an absolute path without '..'")
    return value


def http_url(value: Any) -> str:
    # The URL itself is not repeated: it may hold a secret.
    if not isinstance(value, str) or not re.match(r"^https?://[^/?#\s]+", value) or any(c.isspace() for c in value):
        raise ValueError("must be an http:// or https:// URL")
    return value


def secret_text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty string")
    return value


def choice(*allowed: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return str(value)

    return check


def urls(value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise ValueError("must be a list of http(s) URLs")
    for item in items:
        if not isinstance(item, str) or not _URL_RE.match(item):
            raise ValueError(f"{item!r} is not an http(s) URL (http://host:port)")
    return tuple(items)


def key_prefix(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith("/") or any(ord(c) < 32 for c in value):
        raise ValueError("must be a key path starting with '/'")
    return value if value.endswith("/") else value + "/"


def string_list(pattern: re.Pattern[str], what: str) -> Callable[[Any], tuple[str, ...]]:
    def check(value: Any) -> tuple[str, ...]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)):
            raise ValueError(f"must be a list of {what}")
        for item in items:
            if not isinstance(item, str) or not pattern.match(item):
                raise ValueError(f"{item!r} is not a valid {what[:-1]}")
        return tuple(items)

    return check
