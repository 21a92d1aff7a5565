"""A host dies after discovery: how long until the runner's engine reports it ("no response")?

Run inside the master's network namespace:
    python bench/dead_engine.py MASTER_CONFIG FEATURE TIMEOUT
It runs FEATURE through the same engine entry point and transport as `salt-run scenario.run`
(service/run.py:run, FileserverSource, SaltTransport with the master's settings and
timeout=TIMEOUT). Once the hosts are pinned it
prints READY and waits for a line on stdin: the caller stops a minion, then answers. It prints
one JSON line: the first call step's status, failed hosts and reasons, the engine's own step
duration, and the seconds from the answer to that step's verdict.
"""

import json
import sys
import time

import salt.config

from saltext.scenario import config
from saltext.scenario.engine.adapters import FileserverSource, SaltTransport
from saltext.scenario.engine.service import run as engine
from saltext.scenario.engine.service.request import RunRequest


def main(master_config, feature, timeout):
    opts = salt.config.master_config(master_config)
    # What the runner does with `timeout=`: the master's scenario_* options, the timeout applied.
    settings = config.load(opts).with_timeout(timeout)
    seen = {}

    def listener(event):
        if event["event"] == "run_started":
            print("READY", flush=True)
            sys.stdin.readline()
            seen["go"] = time.perf_counter()
        elif event["event"] == "step_finished" and event.get("call") and "step" not in seen:
            seen["step"] = {
                "notice_s": round(time.perf_counter() - seen["go"], 3),
                "status": event["status"],
                "duration": event["duration"],
                "text": event["text"],
                "failed": event["failed"],
                "reasons": {h: r["reason"] for h, r in event["results"].items() if not r["ok"]},
            }

    def transport():
        made = SaltTransport(opts, settings)
        seen["gather_job_timeout"] = made.gather_job_timeout
        return made

    source = FileserverSource(opts)
    try:
        result = engine.run(settings, RunRequest.from_args(feature), source, transport, listeners=[listener])
    finally:
        source.close()
    print(
        json.dumps(
            {
                "retcode": result["retcode"],
                "timeout": timeout,
                "gather_job_timeout": seen.get("gather_job_timeout"),
                **seen.get("step", {}),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
