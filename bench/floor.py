"""C, the floor: the same Salt calls as update_website, back to back, one LocalClient, one process.

Run inside the master's network namespace:
    python bench/floor.py MASTER_CONFIG CALLS_JSON
CALLS_JSON: {"target": compound, "hosts": [...], "calls": [{"fun", "args", "kwargs", "within"}]}.
Checks nothing but that every host returned retcode 0. Prints one JSON line:
{"ok", "failed", "import_s", "calls_s", "per_call_s": [...]}; exit 0 when ok, 1 otherwise.
"""

import json
import sys
import time

T0 = time.perf_counter()
import salt.client  # noqa: E402
import salt.config  # noqa: E402

IMPORTED = time.perf_counter()

from floor_result import finish  # noqa: E402


def failing(client, hosts, call):
    got = client.cmd(
        hosts,
        call["fun"],
        arg=list(call["args"]),
        kwarg=dict(call["kwargs"]) or None,
        tgt_type="list",
        full_return=True,
    )
    return [h for h in hosts if not isinstance(got.get(h), dict) or got[h].get("retcode", 0) != 0]


def main(master_config, calls_file):
    with open(calls_file, encoding="utf-8") as fh:
        job = json.load(fh)
    hosts = list(job["hosts"])
    per_call, failed = [], None
    started = time.perf_counter()
    client = salt.client.LocalClient(mopts=salt.config.client_config(master_config))
    try:
        # The one call the runner makes before the steps: discovery of the same target.
        t = time.perf_counter()
        answered = client.cmd(job["target"], "test.ping", tgt_type="compound")
        per_call.append(time.perf_counter() - t)
        if sorted(h for h, r in answered.items() if r is True) != sorted(hosts):
            failed = {"call": "test.ping", "hosts": sorted(set(hosts) - set(answered))}
        for call in job["calls"] if failed is None else ():
            t = time.perf_counter()
            deadline = t + (call.get("within") or 0)
            todo = failing(client, hosts, call)
            while todo and time.perf_counter() < deadline:  # "pass within N seconds"
                time.sleep(1.0)
                todo = failing(client, todo, call)
            per_call.append(time.perf_counter() - t)
            if todo:
                failed = {"call": call["fun"], "hosts": todo}
                break
    finally:
        client.destroy()
    return finish(failed, IMPORTED - T0, started, per_call)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
