"""Plain data the parser produces: features, scenarios and steps with their file:line."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Step:
    keyword: str  # "Given" / "When" / "Then" as resolved (And/But inherit); "*" when unknown
    kind: str | None  # "given" / "when" / "then", or None for a leading "*" step
    text: str
    uri: str
    line: int
    literal_keyword: str = ""  # as written: "And", "But", "*", "Given", ...
    argument: str | list[list[str]] | None = None  # doc string or data table (list of rows)

    @property
    def location(self) -> str:
        return f"{self.uri}:{self.line}"


@dataclass
class Scenario:
    name: str
    uri: str
    line: int
    tags: tuple[str, ...] = ()
    steps: list[Step] = field(default_factory=list)

    @property
    def location(self) -> str:
        return f"{self.uri}:{self.line}"


@dataclass
class Feature:
    uri: str
    name: str
    language: str = "en"
    scenarios: list[Scenario] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    line: int = 1  # of the Feature: keyword; reports (Cucumber JSON) carry it
    description: str = ""
    tags: tuple[str, ...] = ()
    sha256: str = ""  # of the text as read: a resumed run refuses a feature that changed
