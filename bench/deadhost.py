"""Time to notice a dead host: the runner's timeouts against Salt's defaults.

- engine, mid-run: the minion dies after discovery, before the first step (dead_engine.py);
- A at discovery: `salt-run scenario.run FEATURE timeout=T` with the minion already down (exit 3);
- Salt defaults: `salt -L <hosts> test.ping` (CLI timeout 5 s + master gather_job_timeout 10 s),
  and B's orchestration (salt.function with no timeout), the way an operator would run them.
Every measurement restarts the minion afterwards and leaves the LB unblocked.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

import fleet
from measure import last_json, timed

HERE = Path(__file__).resolve().parent


def _engine_mid_run(sandbox, host, feature, timeout):
    argv = [
        sys.executable,
        str(HERE / "dead_engine.py"),
        str(sandbox.master_conf_dir / "master"),
        feature,
        str(timeout),
    ]
    with tempfile.TemporaryFile("w+") as err:
        proc = sandbox.popen_in_master(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
        try:
            line = proc.stdout.readline().strip()
            if line != "READY":
                proc.wait(timeout=60)
                err.seek(0)
                return {"error": f"dead_engine did not get to READY: {line!r} {err.read()[-500:]}"}
            sandbox.stop(host)
            proc.stdin.write("GO\n")
            proc.stdin.flush()
            out, _ = proc.communicate(timeout=timeout + 120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    got = last_json(out) or {}
    return {"how": f"engine, minion stopped after discovery, timeout={timeout}", **got}


def _with_dead(sandbox, host, measure):
    sandbox.stop(host)
    try:
        return measure()
    finally:
        sandbox.start(host)


def _cli(sandbox, argv, label):
    sample = timed(
        lambda out, err: sandbox.popen_in_master(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err),
        label,
        timeout=300,
    )
    return {"how": label, "wall_s": round(sample.wall, 3), "rc": sample.rc}


def measure_dead_host(sandbox, feature, orch_sls, timeout):
    host = sandbox.hosts[-1]
    hosts = ",".join(sandbox.hosts)
    out = {"host": host, "hosts": len(sandbox.hosts), "timeout": timeout}
    fleet.reset(sandbox)
    out["alive_ping"] = _cli(sandbox, ["salt", "-L", hosts, "test.ping"], "salt -L <all> test.ping, all alive")
    try:
        out["engine"] = _engine_mid_run(sandbox, host, feature, timeout)
    finally:
        sandbox.start(host)
    fleet.reset(sandbox)
    out["a_discovery"] = _with_dead(
        sandbox,
        host,
        lambda: _cli(
            sandbox,
            ["salt-run", "scenario.run", feature, f"timeout={timeout}"],
            f"salt-run scenario.run {feature} timeout={timeout}, minion down before the run",
        ),
    )
    out["salt_default"] = _with_dead(
        sandbox,
        host,
        lambda: _cli(sandbox, ["salt", "-L", hosts, "test.ping"], "salt -L <all> test.ping, Salt's default timeouts"),
    )
    fleet.reset(sandbox)
    out["b_orchestrate"] = _with_dead(
        sandbox,
        host,
        lambda: _cli(
            sandbox, ["salt-run", "state.orchestrate", orch_sls], "salt-run state.orchestrate (B), minion down"
        ),
    )
    fleet.reset(sandbox)
    return out
