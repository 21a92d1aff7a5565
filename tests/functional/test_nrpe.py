"""Functional tests of the nrpe module and state through Salt's loaders, running
the real monitoring plugins from a temporary nrpe.cfg."""

import os
import sys

import pytest
from salt.exceptions import SaltInvocationError

from tests.support.salt_loaders import make_loaders

PLUGINS = "/usr/lib/nagios/plugins"

pytestmark = pytest.mark.skipif(
    not os.access(f"{PLUGINS}/check_dummy", os.X_OK), reason="monitoring-plugins-basic not installed"
)


@pytest.fixture(scope="module")
def nrpe_cfg(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("nrpe")
    extra = tmp_path / "nrpe.d"
    extra.mkdir()
    (extra / "slow.cfg").write_text("command[check_slow]=/bin/sleep 30\n", encoding="utf-8")
    cfg = tmp_path / "nrpe.cfg"
    cfg.write_text(
        "# written by the test\n"
        "command_timeout=20\n"
        f"command[check_load]={PLUGINS}/check_load -w 1000,1000,1000 -c 2000,2000,2000\n"
        f"command[check_load_crit]={PLUGINS}/check_load -w 0,0,0 -c 0,0,0\n"
        f"command[dummy_0]={PLUGINS}/check_dummy 0 'all fine'\n"
        f"command[dummy_1]={PLUGINS}/check_dummy 1 'a bit warm'\n"
        f"command[dummy_2]={PLUGINS}/check_dummy 2 'on fire'\n"
        f"command[dummy_3]={PLUGINS}/check_dummy 3 'no idea'\n"
        "command[multi]=/usr/bin/printf 'DISK OK - fine | a=1\\n/boot 68 MB;\\n/home 9 MB; | b=2s;3;4;0;10\\nc=U\\n'\n"
        f"command[exit_7]={sys.executable} -c 'print(\"weird\"); raise SystemExit(7)'\n"
        "command[missing]=/nonexistent/check_nothing -w 1\n"
        f"include_dir={extra}\n",
        encoding="utf-8",
    )
    return cfg


@pytest.fixture(scope="module")
def loaders(nrpe_cfg, tmp_path_factory):
    # One set of loaders for the module: building them takes seconds, and the
    # nrpe module keeps no state between calls besides the retcode, which
    # call() clears.
    made = make_loaders(tmp_path_factory.mktemp("minion"), {"nrpe.config": str(nrpe_cfg)})
    try:
        yield made
    finally:
        made.reset_state()


def call(loaders, fun, *args, **kwargs):
    """(return, retcode) of one call; retcode is what `salt` would exit with."""
    loaders.context.pop("retcode", None)
    ret = loaders.modules[fun](*args, **kwargs)
    return ret, loaders.context.get("retcode", 0)


def test_list_follows_include_dir(loaders, nrpe_cfg):
    listed = loaders.modules.nrpe.list()
    assert listed["dummy_0"] == f"{PLUGINS}/check_dummy 0 'all fine'"
    assert listed["check_slow"] == "/bin/sleep 30"
    assert len(listed) == 10


def test_check_load_real_plugin(loaders):
    result, retcode = call(loaders, "nrpe.run", "check_load")
    assert (result["status"], result["code"], result["ok"], retcode) == ("OK", 0, True, 0)
    assert result["output"].startswith("LOAD OK")
    assert set(result["perfdata"]) == {"load1", "load5", "load15"}
    load1 = result["perfdata"]["load1"]
    assert load1["warn"] == "1000.000" and load1["crit"] == "2000.000" and load1["min"] == 0
    assert isinstance(load1["value"], float) and load1["value"] >= 0


def test_check_load_critical(loaders):
    result, retcode = call(loaders, "nrpe.run", "check_load_crit")
    assert (result["status"], result["ok"], retcode) == ("CRITICAL", False, 1)


@pytest.mark.parametrize(
    "code, status, text",
    [(0, "OK", "all fine"), (1, "WARNING", "a bit warm"), (2, "CRITICAL", "on fire"), (3, "UNKNOWN", "no idea")],
)
def test_check_dummy_states_and_retcode(loaders, code, status, text):
    result, retcode = call(loaders, "nrpe.run", f"dummy_{code}")
    assert result == {
        "command": f"dummy_{code}",
        "status": status,
        "code": code,
        "output": f"{status}: {text}",
        "perfdata": {},
        "long_output": "",
        "ok": code == 0,
    }
    assert retcode == (0 if code == 0 else 1)


def test_warning_allowed(loaders):
    result, retcode = call(loaders, "nrpe.run", "dummy_1", allow_warning=True)
    assert (result["status"], result["ok"], retcode) == ("WARNING", True, 0)
    result, retcode = call(loaders, "nrpe.run", "dummy_2", allow_warning=True)
    assert (result["ok"], retcode) == (False, 1)


def test_long_output_and_perfdata_from_a_real_process(loaders):
    result, _ = call(loaders, "nrpe.run", "multi")
    assert result["output"] == "DISK OK - fine"
    assert result["long_output"] == "/boot 68 MB;\n/home 9 MB;"
    assert result["perfdata"] == {
        "a": {"value": 1, "uom": "", "warn": None, "crit": None, "min": None, "max": None},
        "b": {"value": 2, "uom": "s", "warn": "3", "crit": "4", "min": 0, "max": 10},
        "c": {"value": None, "uom": "", "warn": None, "crit": None, "min": None, "max": None},
    }


def test_exit_code_above_3_is_unknown(loaders):
    result, retcode = call(loaders, "nrpe.run", "exit_7")
    assert (result["status"], result["code"], retcode) == ("UNKNOWN", 3, 1)
    assert "code 7" in result["output"] and "weird" in result["output"]


def test_missing_plugin_is_unknown(loaders):
    result, retcode = call(loaders, "nrpe.run", "missing")
    assert (result["status"], result["ok"], retcode) == ("UNKNOWN", False, 1)
    assert "/nonexistent/check_nothing" in result["output"]


def test_timeout_kills_the_check(loaders):
    # How long it took is the benchmarks' business; the verdict shows the timeout, not the plugin, ended it.
    result, retcode = call(loaders, "nrpe.run", "check_slow", timeout=1)
    assert (result["status"], result["code"], result["ok"], retcode) == ("UNKNOWN", 3, False, 1)
    assert "timed out after 1 seconds" in result["output"]


@pytest.mark.parametrize("name", ["check_nope", "../x", "a/b", "..", "/bin/sh", "dummy_0;id"])
def test_unknown_and_bad_names_are_rejected(loaders, name):
    with pytest.raises(SaltInvocationError) as err:
        loaders.modules.nrpe.run(name)
    message = str(err.value)
    if name == "check_nope":
        assert message.startswith("unknown NRPE command 'check_nope' (defined: check_load, ")
        assert "check_dummy" not in message  # names only, never command lines
    else:
        assert "invalid NRPE command name" in message


def test_run_all(loaders):
    results, retcode = call(loaders, "nrpe.run_all", timeout=2)
    assert len(results) == 10 and retcode == 1
    assert results["dummy_0"]["ok"] and not results["dummy_1"]["ok"]
    assert results["check_slow"]["status"] == "UNKNOWN"


def test_passing_state(loaders):
    ok = loaders.states.nrpe.passing(name="dummy_0")
    assert ok.result is True and ok.changes == {} and "OK: all fine" in ok.comment
    bad = loaders.states.nrpe.passing(name="dummy_2")
    assert bad.result is False and "CRITICAL" in bad.comment
    warn = loaders.states.nrpe.passing(name="dummy_1", allow_warning=True)
    assert warn.result is True


def test_passing_state_runs_under_test(loaders):
    assert loaders.states.nrpe.passing(name="dummy_0", test=True).result is True
    assert loaders.states.nrpe.passing(name="dummy_2", test=True).result is False


def test_passing_state_bad_name(loaders):
    ret = loaders.states.nrpe.passing(name="../x")
    assert ret.result is False and "invalid NRPE command name" in ret.comment
