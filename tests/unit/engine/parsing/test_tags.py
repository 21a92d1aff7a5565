import pytest

from saltext.scenario.engine.errors import InvalidScenario
from saltext.scenario.engine.parsing.tags import compile_tags


@pytest.mark.parametrize(
    "expr,tags,expected",
    [
        ("@a", {"@a"}, True),
        ("@a", {"@b"}, False),
        ("not @a", {"@b"}, True),
        ("@a and not @b", {"@a", "@b"}, False),
        ("@a and not @b", {"@a"}, True),
        ("@a or @b and @c", {"@a"}, True),
        ("(@a or @b) and @c", {"@a"}, False),
        ("not (@a or @b)", set(), True),
        (None, set(), True),
        ("", {"@x"}, True),
    ],
)
def test_tag_expressions(expr, tags, expected):
    assert compile_tags(expr)(tags) is expected


@pytest.mark.parametrize("expr", ["@a and", "(@a", "a", "@a @b", "and @a", ")"])
def test_bad_tag_expressions(expr):
    with pytest.raises(InvalidScenario, match="tag expression"):
        compile_tags(expr)
