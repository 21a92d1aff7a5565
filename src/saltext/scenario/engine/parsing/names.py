"""Scenario names -> fileserver paths, checked before any file is touched; safe decoding."""

from __future__ import annotations

import re
from typing import Any

from ..errors import InvalidScenario

FEATURES_DIR = "features"
MAX_FEATURE_BYTES = 256 * 1024
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-/]*$")


def feature_path(name: Any) -> str:
    """`update_website` -> `features/update_website.feature` (relative to the fileserver root)."""
    if not isinstance(name, str) or not name:
        raise InvalidScenario(f"scenario name must be a non-empty string, got {name!r}")
    if len(name) > 200:
        raise InvalidScenario(f"scenario name is too long ({len(name)} characters)")
    # Checked separately so the message says what is wrong, not just "invalid".
    if name.startswith("/"):
        raise InvalidScenario(f"scenario name {name!r}: absolute paths are not allowed")
    if "://" in name or ":" in name:
        raise InvalidScenario(f"scenario name {name!r}: URLs and schemes are not allowed")
    parts = name.split("/")
    if ".." in parts or any(p in ("", ".") for p in parts):
        raise InvalidScenario(f"scenario name {name!r}: path traversal is not allowed")
    if not _NAME_RE.match(name):
        raise InvalidScenario(f"scenario name {name!r}: only letters, digits, '_', '-', '.' and '/' are allowed")
    if name.endswith(".feature"):
        name = name[: -len(".feature")]
    return f"{FEATURES_DIR}/{name}.feature"


def feature_url(name: Any) -> str:
    return f"salt://{feature_path(name)}"


def name_of(path: str) -> str:
    """`features/a/b.feature` -> `a/b` (the inverse of feature_path)."""
    rel = path[len(FEATURES_DIR) + 1 :] if path.startswith(FEATURES_DIR + "/") else path
    return rel[: -len(".feature")] if rel.endswith(".feature") else rel


def decode(raw: bytes, uri: str, limit: int = MAX_FEATURE_BYTES) -> str:
    """Strict UTF-8 with a size limit; errors name the file and the byte or line."""
    if len(raw) > limit:
        raise InvalidScenario(f"file is too large ({len(raw)} bytes, limit {limit})", uri)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InvalidScenario(f"invalid UTF-8 at byte {exc.start}: {exc.reason}", f"{uri}:{line}") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise InvalidScenario("NUL byte in file", f"{uri}:{line}")
    return text
