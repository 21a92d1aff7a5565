"""A metric step's query as a template of the batch's values, escaped for PromQL. No Jinja.

Three names, each a regex alternation in a non-capturing group, so it composes inside a
label matcher: ``instance=~"{{ addresses }}:9100"`` becomes
``instance=~"(?:198\\.51\\.100\\.11|198\\.51\\.100\\.12):9100"``.

- ``{{ hosts }}``: the batch's minion ids;
- ``{{ addresses }}``: the batch's addresses;
- ``{{ haproxy_servers }}``: the batch's HAProxy server names.

Each value is escaped twice, in this order: for the regex (RE2, which Prometheus uses: every
character but letters, digits and ``_`` becomes a literal), then for the PromQL double-quoted
string the user writes the placeholder in (``\\`` and ``"``). A minion id holding ``"``, ``|``,
``}`` or a newline stays one literal alternative: it can neither end the string nor widen the
match. Anything else inside ``{{ }}`` is an error naming it.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

NAMES = ("hosts", "addresses", "haproxy_servers")

_PLACEHOLDER_RE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_LITERAL = frozenset(string.ascii_letters + string.digits + "_")
# RE2 reads a backslash before any ASCII punctuation as that character, literally.
_PUNCTUATION = frozenset(string.punctuation)


class TemplateError(ValueError):
    """A placeholder that is not one of NAMES, an unclosed ``{{``, or an empty value list."""


@dataclass(frozen=True)
class BatchValues:
    """What a query may name of the batch under judgement."""

    hosts: tuple[str, ...]
    addresses: tuple[str, ...] = ()
    haproxy_servers: tuple[str, ...] = ()


def placeholders(template: str) -> tuple[str, ...]:
    """The names the template uses, in order of first use; TemplateError for anything else."""
    found: list[str] = []
    for m in _PLACEHOLDER_RE.finditer(template):
        name = m.group(1).strip()
        if name not in NAMES:
            raise TemplateError(
                f"unknown placeholder {{{{ {name.strip()[:40]} }}}} in the query; known: "
                + ", ".join(f"{{{{ {n} }}}}" for n in NAMES)
            )
        if name not in found:
            found.append(name)
    rest = _PLACEHOLDER_RE.sub("", template)
    if "{{" in rest:
        raise TemplateError("unclosed {{ in the query (placeholders are {{ hosts }}, {{ addresses }} ...)")
    return tuple(found)


def regex_literal(value: str) -> str:
    """``value`` as an RE2 regex that matches exactly it (as part of an alternation)."""
    out = []
    for char in value:
        if char in _LITERAL:
            out.append(char)
        elif char in _PUNCTUATION:
            out.append("\\" + char)
        else:  # space, control characters, anything beyond ASCII
            out.append(f"\\x{{{ord(char):x}}}")
    return "".join(out)


def promql_string_body(text: str) -> str:
    """``text`` escaped to sit between the double quotes of a PromQL string literal."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def alternation(values: tuple[str, ...], what: str) -> str:
    if not values:
        raise TemplateError(f"the batch has no {what} to put in the query")
    # Sorted and deduplicated: the same batch renders the same query.
    alternatives = "|".join(regex_literal(v) for v in sorted(set(values)))
    return promql_string_body(f"(?:{alternatives})")


def render(template: str, values: BatchValues) -> str:
    """The query for one batch; TemplateError names an unknown placeholder or a missing value."""
    placeholders(template)

    def substitute(m: re.Match[str]) -> str:
        name = m.group(1).strip()
        return alternation(getattr(values, name), name.replace("_", " "))

    return _PLACEHOLDER_RE.sub(substitute, template)
