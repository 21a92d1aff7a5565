import pytest

from saltext.scenario.engine.errors import InvalidScenario
from saltext.scenario.engine.running.batches import compute_batches, parse_batch


@pytest.mark.parametrize(
    "value,spec", [("2", ("n", 2)), (1, ("n", 1)), ("25%", ("percent", 25)), (None, None), (" 50 % ", ("percent", 50))]
)
def test_parse_batch(value, spec):
    assert parse_batch(value) == spec


@pytest.mark.parametrize("value", ["0", "0%", "101%", "-1", "two", "1;2", "2.5"])
def test_bad_batch(value):
    with pytest.raises(InvalidScenario, match="batch="):
        parse_batch(value)


@pytest.mark.parametrize(
    "hosts,spec,expected",
    [
        (["b", "a", "c"], None, [["a", "b", "c"]]),
        (["a", "b", "c"], ("n", 2), [["a", "b"], ["c"]]),
        (["a", "b", "c", "d"], ("percent", 25), [["a"], ["b"], ["c"], ["d"]]),
        (["a", "b", "c"], ("percent", 25), [["a"], ["b"], ["c"]]),
        (["a", "b", "c"], ("percent", 50), [["a", "b"], ["c"]]),
        (["a"], ("n", 5), [["a"]]),
    ],
)
def test_compute_batches(hosts, spec, expected):
    assert compute_batches(hosts, spec) == expected
