"""Gherkin text -> Feature/Scenario/Step dataclasses through gherkin-official's pickles.

Every step keeps the file:line of its AST node. Jinja is refused, never rendered. The
seed writes its Given steps straight under `Feature:`; Gherkin reads those as description,
so they are lifted into an implicit Background (with a warning) instead of vanishing.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from typing import Any, cast

from gherkin.dialect import Dialect
from gherkin.errors import CompositeParserException, ParserError, ParserException
from gherkin.parser import Parser
from gherkin.pickles.compiler import Compiler, GherkinDocumentWithURI

from ..errors import InvalidScenario
from ..gates.template import NAMES as METRIC_NAMES
from .model import Feature, Scenario, Step
from .tags import compile_tags

log = logging.getLogger(__name__)

_JINJA_RE = re.compile(r"\{\{|\{%|\{#")
# A metric step's query names the batch's values as {{ hosts }} ... (gates/template.py): the
# engine fills those in, they are not Jinja. Anything else in {{ }} is still refused here.
_METRIC_PLACEHOLDER_RE = re.compile(r"\{\{\s*(?:" + "|".join(METRIC_NAMES) + r")\s*\}\}")
_KIND = {"Context": ("given", "Given"), "Action": ("when", "When"), "Outcome": ("then", "Then")}
IMPLICIT_BACKGROUND_WARNING = "steps under Feature: treated as Background"


def _refuse_jinja(text: str, uri: str) -> None:
    for number, line in enumerate(text.splitlines(), 1):
        if _JINJA_RE.search(_METRIC_PLACEHOLDER_RE.sub("", line)):
            raise InvalidScenario("Jinja is not allowed in feature files (they are never rendered)", f"{uri}:{number}")


# gherkin-official types its AST as TypedDicts whose child "envelopes" declare no keys, so the
# `.get("background") or .get("scenario")` walks below cannot be checked against them: the
# engine reads the AST as the JSON-like data it is (dict[str, Any]) and hands it back to
# gherkin's pickle compiler as the document it came from.
def _gherkin(text: str, uri: str) -> dict[str, Any]:
    try:
        return cast("dict[str, Any]", Parser().parse(text))
    except CompositeParserException as exc:
        first = exc.errors[0]
        raise InvalidScenario(f"Gherkin syntax error: {_strip_loc(first)}", f"{uri}:{first.location['line']}") from None
    except ParserException as exc:
        raise InvalidScenario(f"Gherkin syntax error: {_strip_loc(exc)}", f"{uri}:{exc.location['line']}") from None
    except ParserError as exc:
        raise InvalidScenario(f"Gherkin syntax error: {exc}", uri) from None


def _strip_loc(exc: Exception) -> str:
    return re.sub(r"^\(\d+:\d+\): ", "", str(exc))


def _children_lines(feature: dict[str, Any]) -> list[int]:
    lines = []
    for child in feature.get("children", []):
        node = child.get("background") or child.get("scenario") or child.get("rule") or {}
        lines.append(node["location"]["line"])
        lines.extend(tag["location"]["line"] for tag in node.get("tags", []))
    return lines


def _implicit_background_line(text: str, feature: dict[str, Any]) -> int | None:
    """1-based line of the first step-looking description line under Feature:, or None."""
    # gherkin always knows English, so the fallback is never None.
    dialect = cast(Dialect, Dialect.for_name(feature.get("language", "en")) or Dialect.for_name("en"))
    keywords = set(
        dialect.given_keywords
        + dialect.when_keywords
        + dialect.then_keywords
        + dialect.and_keywords
        + dialect.but_keywords
    )
    lines = text.splitlines()
    end = min(_children_lines(feature), default=len(lines) + 1)
    for number in range(feature["location"]["line"] + 1, end):
        stripped = lines[number - 1].lstrip()
        if any(stripped.startswith(k) for k in keywords):
            return number
    return None


def _ast_index(feature: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """AST node id -> node for steps and example rows, walking rules and backgrounds."""
    index: dict[str, dict[str, Any]] = {}

    def walk(children: list[Any]) -> None:
        for child in children:
            if "rule" in child:
                walk(child["rule"].get("children", []))
                continue
            node = child.get("background") or child.get("scenario")
            for step in node.get("steps", []):
                index[step["id"]] = step
            for examples in node.get("examples", []):
                for row in examples.get("tableBody", []):
                    index[row["id"]] = row

    walk(feature.get("children", []))
    return index


def _argument(pickle_step: Mapping[str, Any]) -> str | list[list[str]] | None:
    arg = pickle_step.get("argument") or {}
    if "docString" in arg:
        return arg["docString"].get("content") or ""
    if "dataTable" in arg:
        return [[cell["value"] for cell in row["cells"]] for row in arg["dataTable"]["rows"]]
    return None


def parse_feature(text: str, uri: str) -> Feature:
    """Parse one feature file's text. Errors are InvalidScenario naming `uri:line`."""
    _refuse_jinja(text, uri)
    doc = _gherkin(text, uri)
    feature = doc.get("feature")
    if not feature:
        raise InvalidScenario("no Feature: in file", uri)
    warnings: list[str] = []
    inserted = _implicit_background_line(text, feature)
    if inserted:
        if any("background" in child for child in feature.get("children", [])):
            raise InvalidScenario(
                "steps directly under Feature: and a Background: as well; move them into the Background",
                f"{uri}:{inserted}",
            )
        lines = text.splitlines()
        indent = lines[inserted - 1][: len(lines[inserted - 1]) - len(lines[inserted - 1].lstrip())]
        # gherkin has just parsed the file in this language, so it knows the dialect.
        dialect = cast(Dialect, Dialect.for_name(feature.get("language", "en")))
        lines.insert(inserted - 1, f"{indent}{dialect.background_keywords[0]}:")
        doc = _gherkin("\n".join(lines) + "\n", uri)
        feature = doc["feature"]
        warnings.append(f"{uri}:{inserted}: {IMPLICIT_BACKGROUND_WARNING}")

    def real_line(line: int) -> int:
        # The synthetic Background: line sits at `inserted`; everything after moved down one.
        return line - 1 if inserted and line > inserted else line

    doc["uri"] = uri
    index = _ast_index(feature)
    scenarios: list[Scenario] = []
    for pickle in Compiler().compile(cast(GherkinDocumentWithURI, doc)):
        steps: list[Step] = []
        for pstep in pickle["steps"]:
            node = index[pstep["astNodeIds"][0]]
            kind, keyword = _KIND.get(pstep.get("type"), (None, "*"))
            steps.append(
                Step(
                    keyword=keyword,
                    kind=kind,
                    text=pstep["text"],
                    uri=uri,
                    line=real_line(node["location"]["line"]),
                    literal_keyword=node["keyword"].strip(),
                    argument=_argument(pstep),
                )
            )
        scenarios.append(
            Scenario(
                name=pickle["name"],
                uri=uri,
                line=real_line(pickle["location"]["line"]),
                tags=tuple(t["name"] for t in pickle.get("tags", [])),
                steps=steps,
            )
        )
    return Feature(
        uri=uri,
        name=feature.get("name", ""),
        language=feature.get("language", "en"),
        scenarios=scenarios,
        warnings=warnings,
        line=feature["location"]["line"],
        description=(feature.get("description") or "").strip(),
        tags=tuple(t["name"] for t in feature.get("tags", [])),
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


ON_FAILURE_TAG = "@on-failure"


def is_rollback(scenario: Scenario) -> bool:
    """A scenario tagged @on-failure runs only when a run fails, never on its own."""
    return ON_FAILURE_TAG in scenario.tags


def select(feature: Feature, scenario: str | None = None, tags: object = None) -> list[Scenario]:
    """The scenarios chosen by name and tag expression; an empty choice is an error.

    @on-failure scenarios are never chosen here: ``rollback_scenarios`` gives them.
    """
    wanted = compile_tags(tags)
    runnable = [s for s in feature.scenarios if not is_rollback(s)]
    chosen = [s for s in runnable if wanted(set(s.tags)) and (scenario is None or s.name == scenario)]
    if not chosen:
        names = ", ".join(repr(s.name) for s in runnable) or "none"
        what: list[str] = []
        if scenario is not None:
            what.append(f"scenario={scenario!r}")
            if any(s.name == scenario and is_rollback(s) for s in feature.scenarios):
                raise InvalidScenario(
                    f"scenario {scenario!r} is tagged {ON_FAILURE_TAG}: it runs only when a run fails, "
                    f"never on its own (scenarios: {names})",
                    feature.uri,
                )
        if tags:
            what.append(f"tags={tags!r}")
        raise InvalidScenario(
            f"no scenario selected by {' and '.join(what) or 'the file'} (scenarios: {names})", feature.uri
        )
    return chosen


def rollback_scenarios(feature: Feature) -> list[Scenario]:
    """The feature's @on-failure scenarios, in file order."""
    return [s for s in feature.scenarios if is_rollback(s)]
