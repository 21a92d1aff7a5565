"""Every shipped feature under features/ parses and matches (built-in steps and the shipped step
library), so a broken example is caught without a sandbox. Nothing here pins step counts or
line numbers: the examples may change freely as long as they stay valid."""

import pytest

from saltext.scenario.engine.parsing.source import DirSource
from tests.support import engine_calls as api
from tests.support.paths import REPO

SHIPPED = sorted(p.stem for p in (REPO / "features").glob("*.feature"))


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_feature_is_valid(name):
    ret = api.validate({"scenario_lb_address": "198.51.100.10"}, name, DirSource(REPO))
    assert ret["retcode"] == 0, ret.get("error")
    assert ret["scenarios"] and all(sc["steps"] for sc in ret["scenarios"])


def test_the_main_example_is_shipped():
    assert "update_website" in SHIPPED
