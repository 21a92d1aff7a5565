"""Benchmark: scenario.run (A) against orchestrate (B), the raw LocalClient floor (C) and its fused form (C2).

    .venv/bin/python bench/run.py [--sizes 1,5,10,20,40:3] [--runs 5] [--smoke] [--out bench/RESULTS.md]

Needs root (it brings up scenario-sandbox clusters). See bench/README.md.
"""

import argparse
import datetime
import json
import os
import shlex
import signal
import sys
import time
from pathlib import Path

import deadhost
import fleet
import machine
import orchgen
import parseplan
import report
import sections
from suite import LINEAR_SLS, Bench

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="bench/run.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes",
        default="1,5,10,20",
        help="fleet sizes, comma separated, each SIZE or SIZE:RUNS for its own number of rounds "
        "(default 1,5,10,20; e.g. 1,5,10,20,40:3)",
    )
    parser.add_argument("--runs", type=int, default=5, help="timed rounds per size after the warm-up (default 5)")
    parser.add_argument(
        "--smoke", action="store_true", help="1 host, 1 run of everything: proves the script works (CI)"
    )
    parser.add_argument(
        "--out", default=str(HERE / "RESULTS.md"), help="where to write the report (raw data goes beside it as .json)"
    )
    parser.add_argument(
        "--feature",
        default="update_website",
        help="feature to run (its target must match every generated host: grains roles [dev_server], country de)",
    )
    parser.add_argument("--prefix", default="bench", help="sandbox name prefix (sandbox = PREFIX<size>)")
    parser.add_argument(
        "--batch-hosts",
        type=int,
        default=10,
        help="size whose sandbox also runs the batch=1 and dead-host measurements (default 10; "
        "the largest size asked for when it is not among --sizes)",
    )
    parser.add_argument("--batch-runs", type=int, default=3, help="timed rounds of the batch=1 comparison")
    parser.add_argument("--dead-timeout", type=int, default=5, help="the runner's timeout= for the dead host")
    parser.add_argument(
        "--no-dead",
        action="store_true",
        help="skip the dead-host measurement (--smoke skips it too: a minute of timeouts)",
    )
    parser.add_argument(
        "--hand-written",
        action="store_true",
        help="B runs bench/orchgen.py's SLS instead of `salt-run scenario.compile`'s",
    )
    parser.add_argument(
        "--gather-job-timeout",
        type=int,
        help="seconds every way waits for find_job answers: sets the sandbox master's gather_job_timeout (B, C) "
        "and scenario_gather_job_timeout (A, C2) alike (default: the sandbox's 3 and the runner's 2)",
    )
    parser.add_argument("--parse-repeat", type=int, default=200, help="repetitions of the 500-step parse + plan")
    args = parser.parse_args(argv)
    try:
        args.sizes, args.runs_at = _sizes(args.sizes)
    except ValueError:
        parser.error(f"--sizes: comma separated SIZE or SIZE:RUNS, whole numbers, not {args.sizes!r}")
    if not args.sizes or min(args.sizes) < 1 or min(args.runs_at.values(), default=1) < 1:
        parser.error("--sizes: at least one size, each >= 1, and RUNS >= 1")
    if args.smoke:
        args.sizes, args.runs_at, args.runs, args.batch_runs, args.parse_repeat, args.no_dead = [1], {}, 1, 1, 10, True
    if args.runs < 1 or args.batch_runs < 0:
        parser.error("--runs must be >= 1, --batch-runs >= 0")
    if args.gather_job_timeout is not None and args.gather_job_timeout < 1:
        parser.error("--gather-job-timeout must be >= 1")
    args.extras_size = args.batch_hosts if args.batch_hosts in args.sizes else max(args.sizes)
    return args


def _sizes(text):
    """ "1,5,40:3" -> ([1, 5, 40], {40: 3}): the sizes, and those with their own number of rounds."""
    sizes, runs_at = set(), {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        size, _, runs = item.partition(":")
        sizes.add(int(size))
        if runs:
            runs_at[int(size)] = int(runs)
    return sorted(sizes), runs_at


def log(line):
    print(line, flush=True)


def _sample_dict(sample):
    extra = sample.extra or {}
    data = {
        "wall": round(sample.wall, 4),
        "rc": sample.rc,
        "rss_mib": round(sample.peak_rss_kib / 1024, 1),
        "upgraded": extra.get("upgraded"),
    }
    if sample.way == "A":
        data["step_s"] = extra.get("step_s") or []
        data["run_s"] = extra.get("run_s")
    if sample.way in ("C", "C2"):
        data.update({k: extra.get(k) for k in ("calls_s", "import_s", "per_call_s")})
    return data


def _rounds(rounds):
    return [{way: _sample_dict(s) for way, s in r.items()} for r in rounds]


def _master_config(args):
    if args.gather_job_timeout is None:
        return None
    return {"gather_job_timeout": args.gather_job_timeout, "scenario_gather_job_timeout": args.gather_job_timeout}


def run_size(args, size, target, calls, results):
    runs = args.runs_at.get(size, args.runs)
    log(f"== {size} host(s): bringing up sandbox {args.prefix}{size}, {runs} round(s)")
    t0 = time.monotonic()
    with fleet.fleet(size, args.prefix, _master_config(args)) as (sandbox, root):
        up_s = round(time.monotonic() - t0, 1)
        bench = Bench(sandbox, root, args.feature, target, calls, log, use_compile=not args.hand_written)
        results["orch_source"][str(size)] = bench.orch_source
        results["publishes"] = [[c["publish_fun"] for c in p] for p in bench.publishes]
        try:
            load_before = machine.load()
            rounds = bench.interleaved(runs)
            load = [load_before, machine.load()]
            results["sizes"][str(size)] = {"up_s": up_s, "load": load, "rounds": _rounds(rounds)}
            if size == args.extras_size and args.batch_runs:
                log(f"== batch=1 over {size} host(s): A vs per-host orchestration")
                batch_rounds = bench.interleaved(args.batch_runs, ways_order=("A", "B"), batch=1)
                results["batch"] = {"hosts": size, "feature": args.feature, "rounds": _rounds(batch_rounds)}
            if size == args.extras_size and not args.no_dead:
                log(f"== dead host on {size} host(s)")
                results["dead"] = deadhost.measure_dead_host(
                    sandbox, args.feature, bench.sls(LINEAR_SLS), args.dead_timeout
                )
        finally:
            results["failures"] += bench.failures
        log(f"== {size} host(s): taking sandbox down")


def _terminate(signum, frame):
    raise KeyboardInterrupt  # so every sandbox is taken down by its finally


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if os.geteuid() != 0:
        print("bench/run.py: needs root (it brings up scenario-sandbox clusters)", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    target, calls = orchgen.feature_calls(str(REPO), args.feature)
    results = {
        "command": ".venv/bin/python bench/run.py " + shlex.join(argv),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
        "machine": machine.describe(),
        "load_start": machine.load(),
        "smoke": args.smoke,
        "feature": args.feature,
        "target": target,
        "runs": args.runs,
        "runs_at": {str(k): v for k, v in args.runs_at.items()},
        "gather_job_timeout": args.gather_job_timeout,
        "calls": [f"{c['fun']} {' '.join(map(str, c['args']))}".strip() for c in calls],
        "publishes": [],
        "sizes": {},
        "batch": None,
        "dead": None,
        "parse": None,
        "failures": [],
        "orch_source": {},
        "notes": [],
    }
    status = 0
    try:
        log("== parse + match + plan of 500 steps")
        results["parse"] = parseplan.measure(500, args.parse_repeat)
        for size in args.sizes:
            run_size(args, size, target, calls, results)
    except KeyboardInterrupt:
        results["interrupted"] = True
        status = 130
    except Exception as exc:  # noqa: BLE001 - keep what was measured
        # Keep what was measured; the report says what broke.
        results["notes"].append(f"the benchmark stopped early: {type(exc).__name__}: {exc}")
        log(f"bench/run.py: {type(exc).__name__}: {exc}")
        status = 1
    finally:
        results["load_end"] = machine.load()
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        # Sections other benchmarks wrote (e.g. lb_drain.py's) survive a new report.
        out.write_text(report.render(results) + sections.kept(out))
        out.with_suffix(".json").write_text(json.dumps(results, indent=1))
        log(f"wrote {out} and {out.with_suffix('.json')}")
    if status == 0 and results["failures"]:
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
