"""An install phase: one line on the terminal, the commands' output in the log, and on failure
the log's path and last lines."""

import io
import sys

import pytest


@pytest.fixture
def phase_module():
    import phase

    return phase


def test_a_command_s_output_goes_to_the_log_not_the_terminal(phase_module, tmp_path):
    out, err = io.StringIO(), io.StringIO()
    phase = phase_module.Phase("apt", tmp_path / "logs" / "apt.log", out=out, err=err)
    phase.run([sys.executable, "-c", "print('Unpacking haproxy ...')"])
    phase.say("1 packages installed in 0.1 s")

    assert out.getvalue() == "apt: 1 packages installed in 0.1 s\n"
    assert err.getvalue() == ""
    log = (tmp_path / "logs" / "apt.log").read_text()
    assert "=== apt: " in log and f"$ {sys.executable} -c " in log and "\nUnpacking haproxy ...\n" in log


def test_a_failed_command_names_the_log_and_shows_its_last_lines(phase_module, tmp_path):
    out, err = io.StringIO(), io.StringIO()
    log = tmp_path / "python.log"
    phase = phase_module.Phase("python", log, out=out, err=err)
    script = "import sys\nfor i in range(40): print('line', i)\nsys.exit(3)"
    with pytest.raises(phase_module.PhaseFailed, match="exited 3") as failure:
        phase.run([sys.executable, "-c", script])
    assert phase.failed(str(failure.value)) == 1

    text = err.getvalue()
    assert out.getvalue() == ""
    assert text.startswith("python: FAILED after ")
    assert f"the details are in {log}; its last {phase_module.TAIL_LINES} lines:" in text
    assert "    line 39\n" in text and "    line 10\n" not in text  # the tail, not the whole log
    assert "FAILED: " in log.read_text()


def test_the_log_is_appended_to_by_every_phase(phase_module, tmp_path):
    log = tmp_path / "apt.log"
    phase_module.Phase("apt", log, out=io.StringIO()).note("demo")
    phase_module.Phase("apt", log, out=io.StringIO()).note("tests")
    assert log.read_text().count("=== apt: ") == 2 and "demo" in log.read_text()


def test_a_missing_command_and_a_timeout_are_named(phase_module, tmp_path):
    phase = phase_module.Phase("apt", tmp_path / "apt.log", out=io.StringIO(), err=io.StringIO())
    with pytest.raises(phase_module.PhaseFailed, match="no-such-tool-here: command not found"):
        phase.run(["no-such-tool-here", "install"])
    with pytest.raises(phase_module.PhaseFailed, match=r"gave no result within 0\.5 s"):
        phase.run([sys.executable, "-c", "import time; time.sleep(30)"], timeout=0.5)
