"""Claiming 1,000 hosts in one transaction on a real etcd on loopback: median of N runs.

    .venv/bin/python bench/store_claims.py [--hosts 1000] [--runs 21] [--json FILE]

Starts etcd-server like the tests do (tests/support/etcd_server.py: free loopback ports, a
temporary data dir, `--max-txn-ops` raised, stopped by pid at the end). Each run opens a run
(lease grant and registration, not timed), then times `RunHandle.claim(hosts)`: one etcd
transaction comparing every host key's create_revision with 0 and putting it with the run's
lease (plus the registration and a read of the holds). The time is split into the HTTP call
(`Gateway.post`: requests' JSON encoding, loopback, etcd applying the transaction through its
raft log and WAL fsync, the JSON answer) and the rest (building the request in Python). For
comparison, the same claim on the local store (one flock per host) and a claim refused on all
hosts (the failure branch reads the claims back). Target: ≤ 100 ms for 1,000 hosts.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

# the repository root: the tests start etcd-server the same way (tests/support/etcd_server.py)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from saltext.scenario.engine.errors import LockHeld
from saltext.scenario.engine.store import RunInfo
from saltext.scenario.engine.store.etcd import EtcdStore
from saltext.scenario.engine.store.local import LocalStore
from saltext.scenario.testing.etcd_server import EtcdServer

TARGET_MS = 100.0


def run_ids():
    n = 0
    while True:
        n += 1
        yield f"20261204120000-{n:08x}"


class TimedGateway:
    """Wraps Gateway.post to add up the time spent in HTTP calls."""

    def __init__(self, gateway):
        self.gateway = gateway
        self.spent = 0.0
        self.calls = 0
        self.original = gateway.post

        def post(path, payload, before_change=True):
            started = time.perf_counter()
            try:
                return self.original(path, payload, before_change)
            finally:
                self.spent += time.perf_counter() - started
                self.calls += 1

        gateway.post = post


def measure(store, hosts, runs, ids, timed=None):
    totals, http, calls = [], [], []
    for _ in range(runs):
        with store.open_run(RunInfo(next(ids), "bench", "update_website", "bench", os.getpid())) as run:
            if timed:
                timed.spent, timed.calls = 0.0, 0
            started = time.perf_counter()
            run.claim(hosts)
            totals.append(time.perf_counter() - started)
            if timed:
                http.append(timed.spent)
                calls.append(timed.calls)
            assert len(run.hosts) == len(hosts)
    return {
        "median_ms": statistics.median(totals) * 1000,
        "min_ms": min(totals) * 1000,
        "max_ms": max(totals) * 1000,
        "http_median_ms": statistics.median(http) * 1000 if http else None,
        "http_calls": max(calls) if calls else None,
        "runs": runs,
    }


def measure_refused(store, hosts, runs, ids):
    totals = []
    with store.open_run(RunInfo(next(ids), "bench", "holder", "bench", os.getpid())) as holder:
        holder.claim(hosts)
        for _ in range(runs):
            with store.open_run(RunInfo(next(ids), "bench", "update_website", "bench", os.getpid())) as run:
                started = time.perf_counter()
                try:
                    run.claim(hosts)
                except LockHeld:
                    pass
                else:
                    raise AssertionError("the claim was not refused")
                totals.append(time.perf_counter() - started)
    return {"median_ms": statistics.median(totals) * 1000, "runs": runs}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--json", help="write the figures to this file too")
    args = parser.parse_args(argv)
    hosts = [f"web{i:04d}.example.net" for i in range(args.hosts)]
    ids = run_ids()
    figures = {"hosts": args.hosts, "load_at_start": os.getloadavg(), "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="store-bench-") as tmp:
        with EtcdServer(Path(tmp) / "etcd", max_txn_ops=max(4096, args.hosts + 2)) as server:
            store = EtcdStore([server.url], "bench", ttl=30)
            store.check()
            timed = TimedGateway(store.gateway)
            measure(store, hosts, 3, ids)  # warm-up: connections, etcd's first compactions
            figures["etcd_claim"] = measure(store, hosts, args.runs, ids, timed)
            figures["etcd_refused"] = measure_refused(store, hosts, max(5, args.runs // 3), ids)
        local = LocalStore(str(Path(tmp) / "local" / "scenario"), "bench")
        local.check()
        measure(local, hosts, 3, ids)
        figures["local_claim"] = measure(local, hosts, args.runs, ids)
    claim = figures["etcd_claim"]
    figures["target_ms"] = TARGET_MS
    figures["met"] = claim["median_ms"] <= TARGET_MS
    print(json.dumps(figures, indent=2))
    print(
        f"etcd: claim of {args.hosts} hosts in one transaction: median {claim['median_ms']:.1f} ms "
        f"(min {claim['min_ms']:.1f}, max {claim['max_ms']:.1f}, {claim['runs']} runs), of which "
        f"{claim['http_median_ms']:.1f} ms in {claim['http_calls']} HTTP call(s); refused claim "
        f"{figures['etcd_refused']['median_ms']:.1f} ms; local store {figures['local_claim']['median_ms']:.1f} ms; "
        f"target <= {TARGET_MS:.0f} ms: {'met' if figures['met'] else 'MISSED'}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if figures["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
