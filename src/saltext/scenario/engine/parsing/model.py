"""Plain data the parser produces: features, scenarios and steps with their file:line."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Step:
    keyword: str  # "Given" / "When" / "Then" as resolved (And/But inherit); "*" when unknown
    kind: str  # "given" / "when" / "then", or None for a leading "*" step
    text: str
    uri: str
    line: int
    literal_keyword: str = ""  # as written: "And", "But", "*", "Given", ...
    argument: object = None  # doc string (str) or data table (list of lists)

    @property
    def location(self):
        return f"{self.uri}:{self.line}"


@dataclass
class Scenario:
    name: str
    uri: str
    line: int
    tags: tuple = ()
    steps: list = field(default_factory=list)

    @property
    def location(self):
        return f"{self.uri}:{self.line}"


@dataclass
class Feature:
    uri: str
    name: str
    language: str = "en"
    scenarios: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    line: int = 1  # of the Feature: keyword; reports (Cucumber JSON) carry it
    description: str = ""
    tags: tuple = ()
    sha256: str = ""  # of the text as read: a resumed run refuses a feature that changed
