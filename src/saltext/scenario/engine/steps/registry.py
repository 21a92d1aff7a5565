"""Step definitions: `{name}` / `{name:type}` patterns with `[optional parts]`, matched once.

Patterns are compiled to anchored regexes when registered. Ambiguity is caught at
registration (same pattern twice) and at match time (two definitions match one text).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import InvalidScenario
from ..parsing.model import Step
from . import params as param_types
from .params import ParamType, ParamValue

_PLACEHOLDER_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z_][A-Za-z0-9_]*))?\}")
KINDS = ("given", "when", "then")


@dataclass
class StepDef:
    kind: str
    pattern: str
    # (context, step, **params) -> the step's action (a SaltCall or an ApprovalGate; None for
    # Given steps, which only shape the context): running/plan.py calls it.
    handler: Callable[..., object]
    origin: str = "built-in"
    context_only: bool = False  # built-in Given steps only shape the run; nothing is called
    pipeline: bool = True  # may share a publish with the steps around it (running/pipeline.py)
    # Set by Registry.add, which compiles the pattern; only registered definitions are matched,
    # so nothing reads the None a definition starts with.
    regex: re.Pattern[str] = field(default=None, repr=False)  # type: ignore[arg-type]
    types: dict[str, ParamType] = field(default_factory=dict, repr=False)
    # For the step reference (steps/step_docs.py fills the built-in steps'): a line that uses
    # the step, with its keyword, and what the step does.
    example: str = ""
    doc: str = ""

    def describe(self) -> str:
        return f"{self.kind.capitalize()} {self.pattern!r} ({self.origin})"


@dataclass(frozen=True)
class Match:
    step: Step
    stepdef: StepDef
    params: dict[str, ParamValue]
    deadline: int | None = None  # seconds, from a When's `, taking at most N seconds|minutes`


# The one suffix any When step may carry: its own deadline. It is taken off the text before
# the step is matched, so no step definition spells it.
DEADLINE_SUFFIX_RE = re.compile(r",\s*taking at most\s+(?P<n>\S+)\s+(?P<unit>\S+)\s*$")
_UNITS = {"second": 1, "seconds": 1, "minute": 60, "minutes": 60}
MAX_DEADLINE = 24 * 3600


def split_deadline(step: Step) -> tuple[str, int | None]:
    """(the text to match, the deadline in seconds or None) of a step; bad wording names file:line."""
    found = DEADLINE_SUFFIX_RE.search(step.text)
    if found is None:
        return step.text, None
    where = f"step {step.keyword} {step.text!r}"
    if step.kind != "when":
        raise InvalidScenario(
            f"only a When step can say 'taking at most N seconds|minutes' ({where}); "
            "a Then that waits says 'within N seconds'",
            step.location,
        )
    n, unit = found.group("n"), found.group("unit")
    if not n.isdigit() or unit not in _UNITS or not 1 <= int(n) * _UNITS[unit] <= MAX_DEADLINE:
        raise InvalidScenario(
            f"'taking at most {n} {unit}' is not a deadline: say a whole number of seconds or minutes, "
            f"from 1 second to 24 hours ({where})",
            step.location,
        )
    return step.text[: found.start()].rstrip(), int(n) * _UNITS[unit]


def compile_pattern(pattern: str) -> tuple[re.Pattern[str], dict[str, ParamType]]:
    """`I update {n} hosts[ at a time]` -> (anchored regex, {param: ParamType})."""
    out: list[str] = []
    types: dict[str, ParamType] = {}
    pos, optional = 0, False
    for m in re.finditer(r"\{[^}]*\}|\[|\]", pattern):
        out.append(re.escape(pattern[pos : m.start()]))
        token = m.group(0)
        if token == "[":  # noqa: S105 - a pattern token, not a password
            if optional:
                raise ValueError(f"nested [ ] in step pattern {pattern!r}")
            out.append("(?:")
            optional = True
        elif token == "]":  # noqa: S105
            if not optional:
                raise ValueError(f"unbalanced ] in step pattern {pattern!r}")
            out.append(")?")
            optional = False
        else:
            ph = _PLACEHOLDER_RE.fullmatch(token)
            if not ph:
                raise ValueError(f"bad placeholder {token} in step pattern {pattern!r}")
            name, type_name = ph.group(1), ph.group(2) or ph.group(1)
            if name in types:
                raise ValueError(f"placeholder {{{name}}} twice in step pattern {pattern!r}")
            types[name] = param_types.get(type_name)
            out.append(f"(?P<{name}>{types[name].regex})")
        pos = m.end()
    if optional:
        raise ValueError(f"unclosed [ in step pattern {pattern!r}")
    out.append(re.escape(pattern[pos:]))
    return re.compile("^" + "".join(out) + "$"), types


def _shape(pattern: str) -> str:
    return _PLACEHOLDER_RE.sub("{}", pattern)


class Registry:
    def __init__(self) -> None:
        self.defs: dict[str, list[StepDef]] = {kind: [] for kind in KINDS}
        self._shapes: dict[tuple[str, str], StepDef] = {}

    def add(self, stepdef: StepDef) -> StepDef:
        if stepdef.kind not in KINDS:
            raise InvalidScenario(f"step kind must be one of {', '.join(KINDS)}, got {stepdef.kind!r}", stepdef.origin)
        try:
            stepdef.regex, stepdef.types = compile_pattern(stepdef.pattern)
        except (ValueError, KeyError) as exc:
            raise InvalidScenario(str(exc).strip('"'), stepdef.origin) from None
        key = (stepdef.kind, _shape(stepdef.pattern))
        if key in self._shapes:
            raise InvalidScenario(
                f"ambiguous step definitions: {self._shapes[key].describe()} and "
                f"{stepdef.describe()} have the same pattern",
                stepdef.origin,
            )
        self._shapes[key] = stepdef
        self.defs[stepdef.kind].append(stepdef)
        return stepdef

    def all(self) -> list[StepDef]:
        return [d for kind in KINDS for d in self.defs[kind]]

    def match(self, step: Step) -> Match:
        text, deadline = split_deadline(step)
        candidates = self.defs[step.kind] if step.kind else self.all()
        found = [(d, m) for d in candidates for m in (d.regex.match(text),) if m]
        if len(found) > 1:
            names = " and ".join(d.describe() for d, _ in found)
            raise InvalidScenario(f"ambiguous step {step.keyword} {step.text!r}: matches {names}", step.location)
        if not found:
            raise InvalidScenario(self._undefined(step), step.location)
        stepdef, m = found[0]
        values: dict[str, ParamValue] = {}
        for name, ptype in stepdef.types.items():
            raw = m.group(name)
            if raw is None:
                values[name] = None
                continue
            try:
                values[name] = ptype.convert(raw)
            except ValueError as exc:
                raise InvalidScenario(
                    f"{name} {raw!r} is not a valid {ptype.describe}: {exc} (step {step.keyword} {step.text!r})",
                    step.location,
                ) from None
        if deadline is not None and stepdef.context_only:
            raise InvalidScenario(
                f"'taking at most' needs a step that calls hosts (step {step.keyword} {step.text!r})", step.location
            )
        return Match(step=step, stepdef=stepdef, params=values, deadline=deadline)

    def _undefined(self, step: Step) -> str:
        msg = f"undefined step: {step.keyword} {step.text!r}"
        other = [d for kind in KINDS if kind != step.kind for d in self.defs[kind] if d.regex.match(step.text)]
        if other:
            return msg + f"; it is defined as {other[0].describe()}"
        patterns = {d.pattern: d for d in (self.defs[step.kind] if step.kind else self.all())}
        close = difflib.get_close_matches(step.text, list(patterns), n=1, cutoff=0.5)
        if close:
            return msg + f"; did you mean {patterns[close[0]].kind.capitalize()} {close[0]!r}?"
        return msg
