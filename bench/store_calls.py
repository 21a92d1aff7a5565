"""`salt-run` with every etcd request of the fleet store timed: where a run's store time goes.

    python bench/store_calls.py OUT.json -c CONF_DIR scenario.run update_website --out=json

Run in the master's network namespace (bench/store_overhead.py --calls does). It wraps
`Gateway.post` (engine/store/etcd_client.py), then runs salt-run's own entry point with the rest of
the arguments; at exit it writes one row per request: [thread name, API path, start, seconds],
the start relative to the process start.
"""

import atexit
import json
import sys
import threading
import time

STARTED = time.perf_counter()


def main():
    out, argv = sys.argv[1], sys.argv[2:]
    from saltext.scenario.engine.store import etcd_client as etcd

    rows = []
    original = etcd.Gateway.post

    def post(self, path, payload, before_change=True):
        started = time.perf_counter()
        try:
            return original(self, path, payload, before_change)
        finally:
            rows.append([threading.current_thread().name, path, started - STARTED, time.perf_counter() - started])

    etcd.Gateway.post = post

    def dump():
        with open(out, "w", encoding="utf-8") as handle:
            json.dump({"rows": rows, "process_s": time.perf_counter() - STARTED}, handle)

    atexit.register(dump)
    from salt.scripts import salt_run

    sys.argv = ["salt-run", *argv]
    salt_run()


if __name__ == "__main__":
    main()
