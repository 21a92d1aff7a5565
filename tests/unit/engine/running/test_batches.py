import pytest

from saltext.scenario.engine.errors import InvalidScenario
from saltext.scenario.engine.running.batches import (
    allowed_failures,
    compute_batches,
    parse_batch,
    parse_budget,
    parse_schedule,
)


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
        # Percentages round down (at least one host): the smaller batch is the safer mistake.
        (["a", "b", "c"], ("percent", 50), [["a"], ["b"], ["c"]]),
        (["a", "b", "c", "d"], ("percent", 50), [["a", "b"], ["c", "d"]]),
        (["a"], ("n", 5), [["a"]]),
    ],
)
def test_compute_batches(hosts, spec, expected):
    assert compute_batches(hosts, spec) == expected


@pytest.mark.parametrize(
    ("value", "schedule"),
    [
        ("1,10%,50%", (("n", 1), ("percent", 10), ("percent", 50))),
        (" 1 , 50% ", (("n", 1), ("percent", 50))),
        ("2", (("n", 2),)),
        (["1", "25%"], (("n", 1), ("percent", 25))),
        (None, None),
    ],
)
def test_parse_schedule(value, schedule):
    assert parse_schedule(value) == schedule


@pytest.mark.parametrize("value", ["1,,2", "1,0", "1;2", "1,101%", ",", "1," * 21])
def test_bad_schedule(value):
    with pytest.raises(InvalidScenario, match="batch="):
        parse_schedule(value)


def test_schedule_canary_then_halves_of_five_hosts():
    hosts = ["web1", "web2", "web3", "web4", "web5"]
    assert compute_batches(hosts, parse_schedule("1,50%")) == [["web1"], ["web2", "web3"], ["web4", "web5"]]


def test_schedule_last_size_repeats_and_percent_is_of_all_pinned_hosts():
    hosts = [f"h{i:02d}" for i in range(20)]
    sizes = [len(b) for b in compute_batches(hosts, parse_schedule("1,10%,25%"))]
    assert sizes == [1, 2, 5, 5, 5, 2]


@pytest.mark.parametrize(
    ("value", "budget", "hosts", "allowed"),
    [
        ("2", ("n", 2), 10, 2),
        ("10%", ("percent", 10), 25, 2),  # 2.5 rounds down
        ("10%", ("percent", 10), 9, 0),
        ("0", None, 10, 0),
        (0, None, 10, 0),
        (None, None, 10, 0),
        ("100%", ("percent", 100), 5, 5),
    ],
)
def test_budget(value, budget, hosts, allowed):
    assert parse_budget(value) == budget
    assert allowed_failures(budget, hosts) == allowed


@pytest.mark.parametrize("value", ["-1", "two", "101%", True, "1,2"])
def test_bad_budget(value):
    with pytest.raises(InvalidScenario, match="max_failures="):
        parse_budget(value)
