"""nrpe.query against a real nrpe daemon: /usr/sbin/nrpe runs in the foreground in
a network namespace made by the test, on 198.51.100.20; the Salt loaders (and so
check_nrpe) run inside the same namespace."""

import os
import signal
import subprocess
import time

import pytest
from salt.exceptions import SaltInvocationError

NRPE = "/usr/sbin/nrpe"
PLUGINS = "/usr/lib/nagios/plugins"
ADDRESS = "198.51.100.20"

pytestmark = pytest.mark.skipif(
    not (os.access(NRPE, os.X_OK) and os.access(f"{PLUGINS}/check_nrpe", os.X_OK)),
    reason="nagios-nrpe-server / nagios-nrpe-plugin not installed",
)

DAEMON_COMMANDS = {
    "dummy_ok": f"{PLUGINS}/check_dummy 0 'remote fine'",
    "dummy_warn": f"{PLUGINS}/check_dummy 1 'remote warm'",
    "dummy_crit": f"{PLUGINS}/check_dummy 2 'remote on fire'",
    "load": f"{PLUGINS}/check_load -w 1000,1000,1000 -c 2000,2000,2000",
    "slow": "/bin/sleep 30",
}


def _wait_listening(ns, ssl, proc, deadline=15.0):
    # check_nrpe without -c asks the daemon for its version: the cheapest "are you up".
    argv = ["ip", "netns", "exec", ns, f"{PLUGINS}/check_nrpe", "-H", ADDRESS, "-t", "2"]
    if not ssl:
        argv.insert(5, "-n")
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"nrpe exited with {proc.returncode} before listening")
        if subprocess.run(argv, capture_output=True, check=False).returncode == 0:
            return
        time.sleep(0.2)
    raise RuntimeError("nrpe did not start listening in time")


@pytest.fixture
def nrpe_daemon(request, netns, tmp_path):
    """A real nrpe daemon in `netns` on ADDRESS:5666; yields (netns, ssl). SSL
    unless parametrized indirectly with False."""
    ssl = getattr(request, "param", True)
    subprocess.run(["ip", "-n", netns, "addr", "add", f"{ADDRESS}/32", "dev", "lo"], check=True)
    workdir = tmp_path / "nrpe"
    workdir.mkdir()
    workdir.chmod(0o755)  # the daemon drops to the nagios user
    cfg = workdir / "nrpe.cfg"
    lines = [
        f"pid_file={workdir}/nrpe.pid",
        f"log_file={workdir}/nrpe.log",
        f"server_address={ADDRESS}",
        "server_port=5666",  # a fixed port is fine: the namespace is ours alone
        "nrpe_user=nagios",
        "nrpe_group=nagios",
        f"allowed_hosts={ADDRESS},127.0.0.1",
        "dont_blame_nrpe=0",
        "allow_bash_command_substitution=0",
        "command_timeout=10",
        "connection_timeout=20",
    ] + [f"command[{name}]={line}" for name, line in DAEMON_COMMANDS.items()]
    cfg.write_text("\n".join(lines) + "\n", encoding="utf-8")
    argv = ["ip", "netns", "exec", netns, NRPE, "-c", str(cfg), "-f"]
    if not ssl:
        argv.append("-n")
    # Own session: the daemon and the children it forks per connection form a
    # process group that is ours to stop.
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_listening(netns, ssl, proc)
        yield netns, ssl
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        # Per-connection children that outlived the daemon (the slow check).
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture
def remote(nrpe_daemon, netns_minion, tmp_path):
    netns, ssl = nrpe_daemon
    # The querying minion has an nrpe.cfg of its own that defines none of the
    # remote commands: query must not look at it.
    local = tmp_path / "local-nrpe.cfg"
    local.write_text("command[local_only]=/bin/true\n", encoding="utf-8")
    minion = netns_minion(netns, {"nrpe.config": str(local)})
    return minion, ssl


@pytest.mark.parametrize("nrpe_daemon", [True, False], ids=["ssl", "no-ssl"], indirect=True)
def test_query_ok(remote):
    minion, ssl = remote
    result, retcode = minion.call_full("nrpe.query", "dummy_ok", ADDRESS, ssl=ssl)
    assert result == {
        "command": "dummy_ok",
        "status": "OK",
        "code": 0,
        "output": "OK: remote fine",
        "perfdata": {},
        "long_output": "",
        "ok": True,
    }
    assert retcode == 0


def test_query_perfdata_over_the_wire(remote):
    minion, ssl = remote
    result = minion.call("nrpe.query", "load", ADDRESS, port=5666, timeout=5, ssl=ssl)
    assert result["status"] == "OK" and result["output"].startswith("LOAD OK")
    assert set(result["perfdata"]) == {"load1", "load5", "load15"}
    assert result["perfdata"]["load15"]["crit"] == "2000.000"


def test_query_states_and_retcode(remote):
    minion, ssl = remote
    seen = []
    for command, allow_warning in [("dummy_warn", False), ("dummy_warn", True), ("dummy_crit", True)]:
        result, retcode = minion.call_full("nrpe.query", command, ADDRESS, ssl=ssl, allow_warning=allow_warning)
        seen.append((command, allow_warning, result["status"], result["ok"], retcode))
    assert seen == [
        ("dummy_warn", False, "WARNING", False, 1),
        ("dummy_warn", True, "WARNING", True, 0),
        ("dummy_crit", True, "CRITICAL", False, 1),
    ]


def test_query_command_the_daemon_does_not_define(remote):
    minion, ssl = remote
    result, retcode = minion.call_full("nrpe.query", "local_only", ADDRESS, ssl=ssl)
    assert (result["status"], result["code"], retcode) == ("UNKNOWN", 3, 1)
    assert "not defined" in result["output"]
    closed, retcode = minion.call_full("nrpe.query", "dummy_ok", ADDRESS, port=5667, ssl=ssl)
    assert (closed["status"], closed["ok"], retcode) == ("UNKNOWN", False, 1)
    assert "refused" in closed["output"].lower()


def test_query_timeout_is_unknown(remote):
    minion, ssl = remote
    result, retcode = minion.call_full("nrpe.query", "slow", ADDRESS, timeout=2, ssl=ssl)
    assert (result["status"], result["ok"], retcode) == ("UNKNOWN", False, 1)
    assert "timeout" in result["output"].lower(), result
    assert "2 seconds" in result["output"], result  # our timeout ended it, not the plugin's 30 s


def test_query_bad_input_rejected(remote):
    minion, _ = remote
    for host in [f"{ADDRESS}; id", "-H", "$(id)", ""]:
        with pytest.raises(SaltInvocationError, match="invalid host"):
            minion.call("nrpe.query", "dummy_ok", host)
    for command in ["../x", "a/b", "x;id"]:
        with pytest.raises(SaltInvocationError, match="invalid NRPE command name"):
            minion.call("nrpe.query", command, ADDRESS)
