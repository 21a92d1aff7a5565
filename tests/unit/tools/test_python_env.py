"""The python phase: nothing runs while the stamp matches, and a failure names the log."""

import io
import json

import pytest


@pytest.fixture
def pyenv():
    import python_env

    return python_env


def test_an_up_to_date_venv_runs_nothing(pyenv, tmp_path, monkeypatch):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    (venv / pyenv.STAMP).write_text(json.dumps(pyenv.wanted("3008.4", "/usr/bin/python3")))

    def refuse(*args, **kwargs):
        raise AssertionError("nothing may run for an up-to-date venv")

    monkeypatch.setattr(pyenv.Phase, "run", refuse)
    out = io.StringIO()
    assert pyenv.install(venv, "3008.4", "/usr/bin/python3", tmp_path / "python.log", out=out) == 0
    assert out.getvalue() == f"python: {venv} up to date (salt 3008.4)\n"


@pytest.mark.parametrize("change", ["salt", "python", "pins"])
def test_another_salt_interpreter_or_pin_is_not_up_to_date(pyenv, tmp_path, monkeypatch, change):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    (venv / pyenv.STAMP).write_text(json.dumps(pyenv.wanted("3008.4", "/usr/bin/python3")))
    if change == "pins":
        monkeypatch.setattr(pyenv, "UV", "uv==0.0.1")
    salt = "3007.16" if change == "salt" else "3008.4"
    python = "/opt/python3.12" if change == "python" else "/usr/bin/python3"
    assert not pyenv.up_to_date(venv, pyenv.wanted(salt, python))


def test_a_failing_step_names_the_log_and_leaves_no_stamp(pyenv, tmp_path):
    venv, log = tmp_path / "venv", tmp_path / "python.log"
    out, err = io.StringIO(), io.StringIO()
    # An interpreter that cannot make a venv: the first step fails.
    assert pyenv.install(venv, "3008.4", "/bin/false", log, out=out, err=err) == 1
    assert out.getvalue() == ""
    assert "python: FAILED after " in err.getvalue() and "false -m venv exited 1" in err.getvalue()
    assert f"the details are in {log}" in err.getvalue()
    assert not (venv / pyenv.STAMP).exists()
