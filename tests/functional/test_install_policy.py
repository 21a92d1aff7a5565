"""make's apt phase installs without starting services: its apt-get runs in a mount namespace of
its own where tools/policy-rc.d (exit 101) is /usr/sbin/policy-rc.d, and nothing else sees it.

Real unshare and bind mounts, and the machine's real deb-systemd-invoke reading that policy;
no package is installed (the command under the policy is a harmless one).
"""

import io
import os
import shutil
import sys

import pytest

from tests.support.paths import REPO

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mount namespaces need root")


@pytest.fixture
def apt(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "tools"))
    import apt_packages

    return apt_packages


def _phase(apt, tmp_path):
    return apt.PolicyPhase("apt", tmp_path / "apt.log", out=io.StringIO(), err=io.StringIO())


def test_the_command_sees_the_policy_and_the_machine_keeps_its_own(apt, tmp_path):
    before = apt.POLICY_PATH.read_bytes() if apt.POLICY_PATH.exists() else None
    phase = _phase(apt, tmp_path)
    phase.run_without_services(["cat", str(apt.POLICY_PATH)], env=dict(os.environ))

    log = phase.log.read_text()
    assert apt.POLICY.read_text() in log  # what apt-get's children would read
    after = apt.POLICY_PATH.read_bytes() if apt.POLICY_PATH.exists() else None
    assert after == before  # what everybody else reads


def test_an_absent_policy_file_gets_a_placeholder_only_for_the_call(apt, tmp_path):
    target = tmp_path / "sbin" / "policy-rc.d"
    target.parent.mkdir()
    phase = _phase(apt, tmp_path)
    phase.run_without_services(["cat", str(target)], env=dict(os.environ), target=target)
    assert apt.POLICY.read_text() in phase.log.read_text()
    assert not target.exists()


@pytest.mark.skipif(not shutil.which("deb-systemd-invoke"), reason="no deb-systemd-invoke (init-system-helpers)")
def test_deb_systemd_invoke_asks_the_policy_and_starts_nothing(apt, tmp_path):
    # The systemd path of a maintainer script: `deb-systemd-invoke start haproxy.service` asks
    # policy-rc.d first and stops at its 101, before any systemctl call. A policy that also
    # writes down what it was asked proves it is ours that answered.
    policy, asked = _recording_policy(tmp_path)
    phase = _phase(apt, tmp_path)
    phase.run_without_services(["deb-systemd-invoke", "start", "haproxy.service"], env=dict(os.environ), policy=policy)
    assert asked.read_text() == "haproxy.service start\n"
    assert "policy-rc.d returned 101, not running 'start haproxy.service'" in phase.log.read_text()


@pytest.mark.skipif(not shutil.which("invoke-rc.d"), reason="no invoke-rc.d (init-system-helpers)")
def test_invoke_rc_d_asks_the_policy_and_is_denied(apt, tmp_path):
    # The sysvinit path, as a query: --query only reports the verdict (101: denied by policy)
    # and never runs the init script.
    policy, asked = _recording_policy(tmp_path)
    phase = _phase(apt, tmp_path)
    with pytest.raises(apt.PhaseFailed, match="exited 101"):
        phase.run_without_services(["invoke-rc.d", "--query", "haproxy", "start"], env=dict(os.environ), policy=policy)
    assert asked.read_text().startswith("haproxy ") and "start" in asked.read_text()
    assert "policy-rc.d denied execution of start" in phase.log.read_text()


def test_a_failing_command_under_the_policy_is_a_phase_failure(apt, tmp_path):
    phase = _phase(apt, tmp_path)
    with pytest.raises(apt.PhaseFailed, match="exited 3"):
        phase.run_without_services([sys.executable, "-c", "raise SystemExit(3)"], env=dict(os.environ))


def _recording_policy(tmp_path):
    """(policy, asked): a policy-rc.d that says no (101) and writes down what it was asked."""
    asked = tmp_path / "asked"
    policy = tmp_path / "policy-rc.d"
    policy.write_text(f'#!/bin/sh\necho "$@" >> {asked}\nexit 101\n')
    policy.chmod(0o755)
    return policy, asked
