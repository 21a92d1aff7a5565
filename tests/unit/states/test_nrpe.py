"""Unit tests of _states/nrpe.py over the real execution module, with a fake cmd.run_all and config.get."""

import pytest

from tests.support.fake_dunders import Recorder, load
from tests.support.fake_nrpe import dummy_run_all, make, write_config


@pytest.fixture
def cfg(tmp_path):
    return write_config(tmp_path)


@pytest.fixture
def run_all():
    return Recorder(dummy_run_all)


def state(cfg, run_all, test=False):
    execmod = make(cfg, run_all)
    return load("_states/nrpe.py", salt={"nrpe.run": execmod.run}, opts={"test": test})


@pytest.mark.parametrize("test", [False, True])
def test_passing_state_runs_even_under_test(cfg, run_all, test):
    ret = state(cfg, run_all, test).passing("check_ok")
    assert ret == {"name": "check_ok", "result": True, "changes": {}, "comment": "check_ok: OK - OK: all fine"}
    bad = state(cfg, run_all, test).passing("check_crit")
    assert bad["result"] is False and "CRITICAL" in bad["comment"] and bad["changes"] == {}
    assert len(run_all.calls) == 2


def test_passing_state_warning_policy(cfg, run_all):
    assert state(cfg, run_all).passing("check_warn")["result"] is False
    assert state(cfg, run_all).passing("check_warn", allow_warning=True)["result"] is True


def test_passing_state_unknown_command_is_result_false(cfg, run_all):
    ret = state(cfg, run_all).passing("../etc/passwd")
    assert ret["result"] is False and "invalid NRPE command name" in ret["comment"]
    ret = state(cfg, run_all).passing("check_nope")
    assert ret["result"] is False and "unknown NRPE command" in ret["comment"]
