"""The apt phase asks apt nothing when every package is there, and says what is missing when it
cannot install (not root) without running apt-get."""

import io

import pytest


@pytest.fixture
def apt():
    import apt_packages

    return apt_packages


def test_missing_keeps_the_order_and_knows_installed_packages(apt):
    assert apt.missing(["no-such-package-4711", "dpkg", "coreutils", "also-not-there-4711"]) == [
        "no-such-package-4711",
        "also-not-there-4711",
    ]


def test_nothing_missing_runs_no_apt_and_prints_one_line(apt, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("apt-get must not run when nothing is missing")

    monkeypatch.setattr(apt.PolicyPhase, "run", refuse)
    monkeypatch.setattr(apt.PolicyPhase, "run_without_services", refuse)
    out = io.StringIO()
    assert apt.install(["dpkg", "coreutils"], "the demo", tmp_path / "apt.log", out=out) == 0
    line = out.getvalue()
    assert line.startswith("apt: the 2 packages for the demo are installed (") and line.count("\n") == 1


def test_not_root_names_the_missing_packages_and_the_command_and_touches_nothing(apt, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("apt-get must not run without root")

    monkeypatch.setattr(apt.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(apt.PolicyPhase, "run", refuse)
    monkeypatch.setattr(apt.PolicyPhase, "run_without_services", refuse)
    out, err = io.StringIO(), io.StringIO()
    log = tmp_path / "apt.log"
    assert apt.install(["dpkg", "no-such-package-4711"], "the tests", log, out=out, err=err) == 1
    assert out.getvalue() == ""
    text = err.getvalue()
    assert "1 packages are missing (no-such-package-4711): run make as root" in text
    assert "apt-get install --no-install-recommends no-such-package-4711" in text
    assert f"the details are in {log}" in text


def test_the_policy_denies_every_action(apt):
    # invoke-rc.d and deb-systemd-invoke read exit 101 as "action forbidden by policy".
    import subprocess

    assert subprocess.run([str(apt.POLICY), "haproxy", "start"], check=False).returncode == 101
