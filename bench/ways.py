"""The four ways of running update_website, each one timed process in the master's netns.

A   salt-run scenario.run <feature> [batch=..]
B   salt-run state.orchestrate benchorch.<sls>
C   python floor.py (one LocalClient issuing the same calls, one job per step)
C2  python fused_floor.py (one LocalClient making the same publishes as A)
"""

import json
import subprocess
import sys
from pathlib import Path

from measure import last_json, timed

HERE = Path(__file__).resolve().parent


def _start(sandbox, argv):
    return lambda out, err: sandbox.popen_in_master(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err)


def run_a(sandbox, feature, *extra, timeout=900):
    sample = timed(_start(sandbox, ["salt-run", "scenario.run", feature, *extra, "--out=json"]), "A", timeout)
    ret = last_json(sample.stdout)
    steps = []
    if isinstance(ret, dict):
        for scenario in ret.get("scenarios", []):
            steps += [s for s in scenario.get("steps", []) if s.get("call")]
        if ret.get("retcode") not in (None, 0) and sample.rc == 0:
            sample.rc = ret["retcode"]  # never time a failed run as a pass
    sample.extra = {
        "result": ret if isinstance(ret, dict) else None,
        "step_s": [s.get("duration", 0.0) for s in steps],
        "pinned": (ret or {}).get("pinned") if isinstance(ret, dict) else None,
        "run_s": (ret or {}).get("duration") if isinstance(ret, dict) else None,
    }
    return sample


def run_b(sandbox, sls, timeout=900):
    sample = timed(_start(sandbox, ["salt-run", "state.orchestrate", sls, "--out=json"]), "B", timeout)
    ret = last_json(sample.stdout)
    states = _orch_states(ret)
    bad = [sid for sid, st in states.items() if st.get("result") is not True]
    if sample.rc == 0 and (bad or not states):
        sample.rc = 1  # an orchestration that did not run every state cleanly is a failed run
    sample.extra = {"states": len(states), "failed_states": bad}
    return sample


def _orch_states(ret):
    """{state id: state result} out of salt-run state.orchestrate's return."""
    if not isinstance(ret, dict):
        return {}
    data = ret.get("data", ret)
    for value in data.values() if isinstance(data, dict) else ():
        if isinstance(value, dict) and all(isinstance(v, dict) and "result" in v for v in value.values()):
            return value
    return {}


def write_calls(path, target, hosts, calls):
    Path(path).write_text(json.dumps({"target": target, "hosts": list(hosts), "calls": calls}))


def write_publishes(path, target, hosts, publishes, settings):
    """C2's input: A's publishes and A's timeouts (`settings`: the sandbox master's, config.load)."""
    Path(path).write_text(
        json.dumps(
            {
                "target": target,
                "hosts": list(hosts),
                "timeout": settings.timeout,
                "discovery_timeout": settings.discovery_timeout,
                "gather_job_timeout": settings.gather_job_timeout,
                "publishes": publishes,
            }
        )
    )


def _floor(sandbox, script, way, input_file, timeout):
    """C or C2: the script's one JSON line says ok (retcodes only) and where its time went."""
    master_config = str(sandbox.master_conf_dir / "master")
    sample = timed(_start(sandbox, [sys.executable, str(HERE / script), master_config, str(input_file)]), way, timeout)
    ret = last_json(sample.stdout)
    sample.extra = ret if isinstance(ret, dict) else {}
    if sample.rc == 0 and not sample.extra.get("ok"):
        sample.rc = 1
    return sample


def run_c(sandbox, calls_file, timeout=900):
    return _floor(sandbox, "floor.py", "C", calls_file, timeout)


def run_c2(sandbox, publishes_file, timeout=900):
    return _floor(sandbox, "fused_floor.py", "C2", publishes_file, timeout)
