"""Site step libraries: `features/steps/*.yaml`, data only (no Python from the fileserver runs).

    - step: "the file {path} should exist"
      kind: then                       # given / when / then
      function: file.file_exists
      args: ["{path}"]                 # "{name}" alone keeps the typed value
      kwargs: {}
      expect: true                     # a value, or a dict of keys the return must contain
      within: 30                       # optional: retry failing hosts until N seconds
      deadline: 120                    # optional: hosts still running after N seconds fail
      pipeline: false                  # optional: never share a publish with the step before

The master option `scenario_step_functions` (list of globs) says which functions
libraries may call; by default only read-only ones.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from typing import Any

import yaml

from ...config import READ_ONLY_FUNCTIONS, Settings
from ..contracts import FeatureSource
from ..errors import InvalidScenario
from ..parsing.names import decode
from .calls import SaltCall, expect_subset, expect_value
from .params import ParamValue
from .registry import Registry, StepDef

STEPS_DIR = "features/steps"
FUNCTIONS_OPTION = "scenario_step_functions"
DEFAULT_ALLOWED = READ_ONLY_FUNCTIONS
_PLACEHOLDER_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_FUN_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")
_KEYS = {"step", "kind", "function", "args", "kwargs", "expect", "within", "deadline", "pipeline"}


# A library entry is YAML the site wrote: checked key by key (_check_entry), its args and
# kwargs are any data Salt takes.
def _fill(template: Any, params: dict[str, ParamValue]) -> Any:
    """Substitute {name} by the (validated) parameter; a whole-string placeholder keeps its type."""
    if isinstance(template, str):
        whole = _PLACEHOLDER_RE.fullmatch(template)
        if whole:
            return params.get(whole.group(1))
        return _PLACEHOLDER_RE.sub(
            lambda m: "" if params.get(m.group(1)) is None else str(params[m.group(1)]), template
        )
    if isinstance(template, list):
        return [_fill(t, params) for t in template]
    if isinstance(template, dict):
        return {k: _fill(v, params) for k, v in template.items()}
    return template


def _handler(entry: dict[str, Any]) -> Callable[..., SaltCall]:
    fun, args, kwargs = entry["function"], entry.get("args") or [], entry.get("kwargs") or {}
    expect, within, deadline = entry.get("expect"), entry.get("within"), entry.get("deadline")
    if isinstance(expect, dict):
        check = expect_subset(expect)
    elif "expect" in entry:
        check = expect_value(expect)
    else:
        check = None

    def handler(ctx: object, step: object, **params: ParamValue) -> SaltCall:
        return SaltCall(fun, _fill(args, params), _fill(kwargs, params), check=check, within=within, deadline=deadline)

    return handler


def _check_entry(entry: object, where: str, allowed: tuple[str, ...]) -> None:
    if not isinstance(entry, dict):
        raise InvalidScenario("each step must be a mapping with step, kind and function", where)
    unknown = set(entry) - _KEYS
    if unknown:
        raise InvalidScenario(f"unknown keys {', '.join(sorted(unknown))} (allowed: {', '.join(sorted(_KEYS))})", where)
    for key in ("step", "kind", "function"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise InvalidScenario(f"{key!r} is required and must be a string", where)
    if not _FUN_RE.match(entry["function"]):
        raise InvalidScenario(f"function {entry['function']!r} is not a module.function name", where)
    if not any(fnmatch.fnmatchcase(entry["function"], glob) for glob in allowed):
        raise InvalidScenario(
            f"function {entry['function']!r} is not allowed for step libraries "
            f"(master option {FUNCTIONS_OPTION}: {', '.join(allowed)})",
            where,
        )
    if not isinstance(entry.get("args", []), list) or not isinstance(entry.get("kwargs", {}), dict):
        raise InvalidScenario("args must be a list and kwargs a mapping", where)
    if not isinstance(entry.get("pipeline", True), bool):
        raise InvalidScenario("pipeline must be true or false", where)
    for key in ("within", "deadline"):
        value = entry.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise InvalidScenario(f"{key} must be a positive number of seconds", where)


def load_library(text: str, uri: str, allowed: tuple[str, ...]) -> list[StepDef]:
    """StepDefs from one YAML library's text."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{uri}:{mark.line + 1}" if mark else uri
        raise InvalidScenario(f"invalid YAML: {getattr(exc, 'problem', exc)}", where) from None
    if isinstance(data, dict) and "steps" in data:
        data = data["steps"]
    if data is None:
        return []
    if not isinstance(data, list):
        raise InvalidScenario("a step library is a list of steps (or a mapping with a 'steps' list)", uri)
    defs: list[StepDef] = []
    for number, entry in enumerate(data, 1):
        where = f"{uri} (step #{number})"
        _check_entry(entry, where, allowed)
        defs.append(
            StepDef(
                entry["kind"].strip().lower(),
                entry["step"],
                _handler(entry),
                origin=where,
                pipeline=entry.get("pipeline", True),
            )
        )
    return defs


def load_libraries(source: FeatureSource, registry: Registry, settings: Settings) -> list[str]:
    """Register every `features/steps/*.yaml` the source offers; returns the paths loaded."""
    allowed = settings.step_functions
    loaded: list[str] = []
    for path in sorted(source.list(STEPS_DIR + "/")):
        if "/" in path[len(STEPS_DIR) + 1 :] or not path.endswith((".yaml", ".yml")):
            continue
        text = decode(source.read(path), path)
        for stepdef in load_library(text, path, allowed):
            registry.add(stepdef)
        loaded.append(path)
    return loaded
