import pytest

from saltext.scenario.engine.errors import InvalidScenario
from saltext.scenario.engine.parsing.names import decode, feature_path, feature_url, name_of


@pytest.mark.parametrize(
    "name,path",
    [
        ("update_website", "features/update_website.feature"),
        ("update_website.feature", "features/update_website.feature"),
        ("team/web-1.v2", "features/team/web-1.v2.feature"),
    ],
)
def test_names_map_to_feature_paths(name, path):
    assert feature_path(name) == path
    assert feature_url(name) == f"salt://{path}"
    assert name_of(path) == name.removesuffix(".feature")


@pytest.mark.parametrize(
    "name,why",
    [
        ("../../etc/passwd", "traversal"),
        ("a/../../b", "traversal"),
        ("/etc/passwd", "absolute"),
        ("salt://features/x", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("a//b", "traversal"),
        ("./a", "traversal"),
        ("-rf", "only letters"),
        ("a b", "only letters"),
        ("a;b", "only letters"),
        ("", "non-empty"),
        (None, "non-empty"),
    ],
)
def test_bad_names_are_refused(name, why):
    with pytest.raises(InvalidScenario, match=why):
        feature_path(name)


def test_decode_limits_and_utf8():
    assert decode("Feature: é\n".encode(), "f") == "Feature: é\n"
    assert decode("\ufeffFeature: x".encode(), "f") == "Feature: x"
    with pytest.raises(InvalidScenario, match="too large"):
        decode(b"x" * 11, "f", limit=10)
    with pytest.raises(InvalidScenario) as err:
        decode(b"Feature: a\n\xff\n", "features/x.feature")
    assert err.value.location == "features/x.feature:2" and "UTF-8" in str(err.value)
    with pytest.raises(InvalidScenario, match="NUL"):
        decode(b"a\x00", "f")
