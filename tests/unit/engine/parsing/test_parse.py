"""Gherkin parsing: file:line for every step, seed compatibility, Jinja and syntax errors, tags."""

import pytest

from saltext.scenario.engine.errors import InvalidScenario
from saltext.scenario.engine.parsing.parse import IMPLICIT_BACKGROUND_WARNING, parse_feature, select
from tests.support.paths import REPO
from tests.support.paths import UNIT_DATA as DATA

# The original idea the project grew from; a copy sits in shared/seed/ beside a checkout, when at all.
SEED_FILE = REPO.parent / "shared" / "seed" / "test-driven-deployment.txt"


def _parse(text, uri="features/x.feature"):
    return parse_feature(text, uri)


def test_steps_carry_resolved_keyword_and_line():
    feature = _parse(
        "Feature: F\n"
        "  Background:\n"
        "    Given the load balancer has ip address 198.51.100.10\n"
        "    And I want to update hosts with class a::b\n"
        "\n"
        "  Scenario: S\n"
        "    When I block the load balancer\n"
        "    And I update the package mywebapp\n"
        "    Then traffic from the load balancer should be blocked\n"
        "    But the service x should be running\n"
    )
    (scenario,) = feature.scenarios
    got = [(s.keyword, s.literal_keyword, s.location) for s in scenario.steps]
    assert got == [
        ("Given", "Given", "features/x.feature:3"),
        ("Given", "And", "features/x.feature:4"),
        ("When", "When", "features/x.feature:7"),
        ("When", "And", "features/x.feature:8"),
        ("Then", "Then", "features/x.feature:9"),
        ("Then", "But", "features/x.feature:10"),
    ]
    assert scenario.location == "features/x.feature:6"
    assert feature.warnings == []


def test_seed_verbatim_gets_an_implicit_background_with_original_lines():
    text = (DATA / "seed_verbatim.feature").read_text()
    feature = _parse(text, "features/seed.feature")
    (scenario,) = feature.scenarios
    assert feature.warnings == [f"features/seed.feature:2: {IMPLICIT_BACKGROUND_WARNING}"]
    assert [s.text for s in scenario.steps[:4]] == [
        "the load balancer has ip address",
        "I want to update hosts with class roles::dev_server",
        "I want to update hosts with fact country=de",
        "I want to pre-discover how many hosts to update",
    ]
    assert [s.line for s in scenario.steps] == [2, 3, 4, 5, 7, 8, 9, 10, 11, 12]
    assert all(s.kind == "given" for s in scenario.steps[:4])
    assert scenario.line == 6


def test_seed_fixture_is_the_seed_text_verbatim():
    if not SEED_FILE.exists():
        pytest.skip(f"no copy of the seed text beside this checkout ({SEED_FILE.relative_to(REPO.parent)})")
    assert (DATA / "seed_verbatim.feature").read_text().rstrip("\n") in SEED_FILE.read_text()


def test_prose_description_before_feature_steps_is_kept_as_description():
    text = (
        "Feature: F\n  Some prose first.\n  Given the load balancer has ip address\n"
        "  Scenario: S\n    When I block the load balancer\n"
    )
    feature = _parse(text)
    steps = feature.scenarios[0].steps
    assert [(s.text, s.line) for s in steps] == [
        ("the load balancer has ip address", 3),
        ("I block the load balancer", 5),
    ]


def test_feature_steps_plus_background_is_an_error():
    text = "Feature: F\n  Given a\n  Background:\n    Given b\n  Scenario: S\n    When c\n"
    with pytest.raises(InvalidScenario, match=r"features/x.feature:2"):
        _parse(text)


def test_jinja_is_refused_with_line():
    with pytest.raises(InvalidScenario) as err:
        _parse((DATA / "jinja.feature").read_text(), "features/jinja.feature")
    assert "features/jinja.feature:4" in str(err.value)
    assert "Jinja" in str(err.value)


@pytest.mark.parametrize("snippet", ["{% if x %}", "{# comment #}", "{{ x }}"])
def test_every_jinja_delimiter_is_refused(snippet):
    with pytest.raises(InvalidScenario, match="Jinja"):
        _parse(f"Feature: F\n  Scenario: S\n    When I block {snippet}\n")


def test_syntax_error_names_file_and_line():
    with pytest.raises(InvalidScenario) as err:
        _parse("Feature: F\n  Scenario: S\n    When a\n  Feature: again\n")
    assert err.value.location == "features/x.feature:4"


def test_empty_file_is_an_error():
    with pytest.raises(InvalidScenario, match="no Feature"):
        _parse("# nothing here\n")


def test_outline_rule_doc_string_and_table():
    text = (
        "Feature: F\n"
        "  Rule: R\n"
        "    Scenario Outline: O <p>\n"
        "      When I update the package <p>\n"
        "      Then the thing\n"
        '        """\n'
        "        doc\n"
        '        """\n'
        "      And the table\n"
        "        | a | b |\n"
        "      Examples:\n"
        "        | p |\n"
        "        | one |\n"
        "        | two |\n"
    )
    feature = _parse(text)
    assert [s.name for s in feature.scenarios] == ["O one", "O two"]
    first, second = feature.scenarios
    assert first.steps[0].text == "I update the package one" and first.steps[0].line == 4
    assert second.steps[0].text == "I update the package two" and second.steps[0].line == 4
    assert first.steps[1].argument == "doc"
    assert first.steps[2].argument == [["a", "b"]] and first.steps[2].keyword == "Then"
    assert (first.line, second.line) == (13, 14)


def test_other_language():
    text = (
        "# language: de\nFunktionalität: F\n  Szenario: S\n"
        "    Angenommen ich warte\n    Wenn ich blockiere\n    Dann geht es\n"
    )
    steps = _parse(text).scenarios[0].steps
    assert [(s.keyword, s.line) for s in steps] == [("Given", 4), ("When", 5), ("Then", 6)]


def test_select_by_name_and_tags():
    text = "Feature: F\n  @a\n  Scenario: one\n    When x\n  @b @c\n  Scenario: two\n    When y\n"
    feature = _parse(text)
    assert [s.name for s in select(feature, tags="@a")] == ["one"]
    assert [s.name for s in select(feature, tags="not @a")] == ["two"]
    assert [s.name for s in select(feature, tags="@b and @c")] == ["two"]
    assert [s.name for s in select(feature, tags="@a or @c")] == ["one", "two"]
    assert [s.name for s in select(feature, scenario="two")] == ["two"]
    with pytest.raises(InvalidScenario, match="no scenario selected"):
        select(feature, scenario="three")
