"""Unit tests of the Salt-facing functions of _modules/nrpe.py, with a fake cmd.run_all and config.get."""

import ast
import sys
import types

import pytest
from salt.exceptions import CommandExecutionError, SaltInvocationError

from tests.support.fake_dunders import Recorder, load
from tests.support.fake_nrpe import dummy_run_all, make, write_config
from tests.support.paths import REPO


@pytest.fixture
def cfg(tmp_path):
    return write_config(tmp_path)


@pytest.fixture
def run_all():
    return Recorder(dummy_run_all)


def test_virtual():
    assert load("_modules/nrpe.py").__virtual__() == "nrpe"


def test_default_config_path(run_all):
    seen = []

    def config_get(key, default=None):
        seen.append((key, default))
        return default

    mod = load("_modules/nrpe.py", salt={"config.get": config_get, "cmd.run_all": run_all})
    mod._config_path()
    assert seen == [("nrpe.config", "/etc/nagios/nrpe.cfg")]


def test_list(cfg, run_all):
    assert make(cfg, run_all).list_() == {
        "check.dotted-name_1": "/bin/echo OK",
        "check_crit": "/usr/lib/nagios/plugins/check_dummy 2 hot",
        "check_ok": "/usr/lib/nagios/plugins/check_dummy 0 'all fine'",
        "check_warn": "/usr/lib/nagios/plugins/check_dummy 1 warm",
    }
    assert run_all.calls == []


def test_list_is_exposed_as_list():
    assert load("_modules/nrpe.py").__func_alias__ == {"list_": "list"}


def test_run_splits_with_shlex_and_never_uses_a_shell(cfg, run_all):
    mod = make(cfg, run_all)
    result = mod.run("check_ok")
    (argv,), kwargs = run_all.calls[0]
    assert argv == ["/usr/lib/nagios/plugins/check_dummy", "0", "all fine"]
    assert kwargs["python_shell"] is False
    assert kwargs["timeout"] == 42  # command_timeout of nrpe.cfg
    assert result == {
        "command": "check_ok",
        "status": "OK",
        "code": 0,
        "output": "OK: all fine",
        "perfdata": {},
        "long_output": "",
        "ok": True,
    }
    assert mod.__context__["retcode"] == 0


def test_run_timeout_argument_wins(cfg, run_all):
    make(cfg, run_all).run("check_ok", timeout=5)
    assert run_all.calls[0][1]["timeout"] == 5


def test_run_default_timeout_without_command_timeout(tmp_path, run_all):
    cfg = tmp_path / "nrpe.cfg"
    cfg.write_text("command[c]=/bin/echo OK\n", encoding="utf-8")
    make(cfg, run_all).run("c")
    assert run_all.calls[0][1]["timeout"] == 60


@pytest.mark.parametrize("timeout", [0, -1, "soon", True])
def test_run_bad_timeout(cfg, run_all, timeout):
    with pytest.raises(SaltInvocationError, match="timeout"):
        make(cfg, run_all).run("check_ok", timeout=timeout)
    assert run_all.calls == []


def test_run_warning_policy(cfg, run_all):
    mod = make(cfg, run_all)
    assert mod.run("check_warn")["ok"] is False
    assert mod.__context__["retcode"] == 1
    mod = make(cfg, run_all)
    assert mod.run("check_warn", allow_warning=True)["ok"] is True
    assert mod.__context__["retcode"] == 0
    assert mod.run("check_crit", allow_warning=True)["ok"] is False


def test_allowed_warning_resets_the_retcode_cmd_run_all_left(cfg):
    def like_cmd_run_all(argv, **kwargs):
        # The real cmd.run_all stores the exit code in the shared __context__.
        mod.__context__["retcode"] = 1
        return dummy_run_all(argv, **kwargs)

    mod = make(cfg, Recorder(like_cmd_run_all))
    assert mod.run("check_warn", allow_warning=True)["ok"] is True
    assert mod.__context__["retcode"] == 0


def test_run_dotted_name(cfg, run_all):
    assert make(cfg, run_all).run("check.dotted-name_1")["perfdata"]["t"]["value"] == 1


def test_unknown_command_lists_defined_names_only(cfg, run_all):
    with pytest.raises(SaltInvocationError) as err:
        make(cfg, run_all).run("check_nope")
    assert str(err.value) == (
        "unknown NRPE command 'check_nope' (defined: check.dotted-name_1, check_crit, check_ok, check_warn)"
    )
    assert "check_dummy" not in str(err.value)
    assert run_all.calls == []


@pytest.mark.parametrize("name", ["../x", "a/b", "..", "/usr/bin/id", "-x", "", "check ok", "x;id", "$(id)", None, 3])
def test_bad_command_names_rejected_before_reading_config(tmp_path, run_all, name):
    mod = make(tmp_path / "does-not-exist.cfg", run_all)
    with pytest.raises(SaltInvocationError, match="invalid NRPE command name"):
        mod.run(name)
    with pytest.raises(SaltInvocationError, match="invalid NRPE command name"):
        mod.query(name, "198.51.100.20")
    assert run_all.calls == []


def test_plugin_that_can_not_start_is_unknown(cfg):
    mod = make(cfg, Recorder(CommandExecutionError("Unable to run command ... No such file")))
    result = mod.run("check_ok")
    assert (result["status"], result["code"], result["ok"]) == ("UNKNOWN", 3, False)
    assert "No such file" in result["output"]
    assert mod.__context__["retcode"] == 1


def test_timeout_reported_by_cmd_run_all_is_unknown(cfg, monkeypatch):
    def timed_out(argv, **kwargs):
        return {"retcode": 1, "stdout": f"{argv} : Timed out after {kwargs['timeout']} seconds", "stderr": "", "pid": 1}

    mod = make(cfg, Recorder(timed_out))
    # Pretend the call took as long as the timeout.
    clock = iter([100.0, 105.0])
    # Only the module's view of the clock: patching time.monotonic itself would also stop the
    # clock of every other thread in the test process (the iterator runs dry there).
    monkeypatch.setattr(mod, "time", types.SimpleNamespace(monotonic=lambda: next(clock)))
    result = mod.run("check_warn", timeout=5)
    assert (result["status"], result["code"]) == ("UNKNOWN", 3)
    assert "timed out after 5 seconds" in result["output"]


def test_fast_warning_mentioning_timeouts_stays_warning(cfg):
    def says_timed_out(argv, **kwargs):
        return {"retcode": 1, "stdout": "WARNING: Timed out after 5 seconds upstream", "stderr": "", "pid": 1}

    result = make(cfg, Recorder(says_timed_out)).run("check_warn", timeout=5)
    assert result["status"] == "WARNING"


def test_broken_config_is_an_error_naming_the_line(tmp_path, run_all):
    cfg = tmp_path / "nrpe.cfg"
    cfg.write_text("command[a]=/bin/true\nnonsense\n", encoding="utf-8")
    with pytest.raises(CommandExecutionError, match=r"nrpe\.cfg:2"):
        make(cfg, run_all).run("a")


def test_run_all(cfg, run_all):
    mod = make(cfg, run_all)
    results = mod.run_all()
    assert sorted(results) == ["check.dotted-name_1", "check_crit", "check_ok", "check_warn"]
    assert {name: r["status"] for name, r in results.items()} == {
        "check.dotted-name_1": "OK",
        "check_crit": "CRITICAL",
        "check_ok": "OK",
        "check_warn": "WARNING",
    }
    assert mod.__context__["retcode"] == 1


def test_run_all_passing(tmp_path, run_all):
    cfg = tmp_path / "nrpe.cfg"
    cfg.write_text("command[a]=/bin/echo OK\ncommand[w]=/usr/lib/nagios/plugins/check_dummy 1 w\n", encoding="utf-8")
    mod = make(cfg, run_all)
    assert all(r["ok"] for r in mod.run_all(allow_warning=True).values())
    assert mod.__context__["retcode"] == 0


def test_query_argv(cfg, run_all):
    def remote(argv, **kwargs):
        return {"retcode": 1, "stdout": "LOAD WARNING - load average: 9.0|load1=9.0;5;10;0;", "stderr": "", "pid": 1}

    spy = Recorder(remote)
    mod = make(cfg, spy, {"nrpe.check_nrpe": "/opt/check_nrpe"})
    result = mod.query("check_load", "198.51.100.20", port=5667, timeout=7)
    (argv,), kwargs = spy.calls[0]
    assert argv == ["/opt/check_nrpe", "-u", "-H", "198.51.100.20", "-p", "5667", "-c", "check_load", "-t", "7"]
    assert kwargs["python_shell"] is False and kwargs["timeout"] == 12
    assert result["status"] == "WARNING" and result["perfdata"]["load1"]["value"] == 9.0
    assert mod.__context__["retcode"] == 1
    mod.query("check_load", "web1.example.com", ssl=False)
    assert spy.calls[1][0][0][:2] == ["/opt/check_nrpe", "-n"]


@pytest.mark.parametrize(
    "host",
    ["", "-H", "$(id)", "a b", "host;id", "198.51.100.20 -c x", "bad_host", "-x.example", "a..b", "x" * 254, None, 5],
)
def test_query_bad_host(cfg, run_all, host):
    with pytest.raises(SaltInvocationError, match="invalid host"):
        make(cfg, run_all).query("check_load", host)
    assert run_all.calls == []


@pytest.mark.parametrize("host", ["198.51.100.20", "2001:db8::1", "web1", "web1.example.com.", "a-b.c"])
def test_query_good_hosts(cfg, run_all, host):
    make(cfg, run_all).query("check_load", host)
    assert run_all.calls[0][0][0][3] == host


@pytest.mark.parametrize(
    "port, timeout", [(0, 10), (65536, 10), ("5666", 10), (True, 10), (5666, 0), (5666, "10"), (5666, 1.5)]
)
def test_query_bad_port_or_timeout(cfg, run_all, port, timeout):
    with pytest.raises(SaltInvocationError):
        make(cfg, run_all).query("check_load", "198.51.100.20", port=port, timeout=timeout)
    assert run_all.calls == []


def test_self_contained_stdlib_and_salt_only():
    # saltutil.sync_modules is all a minion gets: nothing else may be imported.
    tree = ast.parse((REPO / "_modules/nrpe.py").read_text(encoding="utf-8"))
    roots = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    roots |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert {r for r in roots if r != "salt" and r not in sys.stdlib_module_names} == set()
