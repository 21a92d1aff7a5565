"""The engine's own cost per host per step: a whole run on a fleet that answers instantly.

    .venv/bin/python bench/engine_cost.py [--hosts 100,1000,5000] [--repeat 3] [--profile N]
                                          [--out bench/RESULTS.md]

No daemons. Each run goes the runner's way (`service/recorded_run.py:run`, as `salt-run
scenario.run` calls it): plan, discovery, leases, then `Executor.run` with everything a real
run attaches (ResultCollector, BusReporter, RunRecorder, the write-ahead listener WriteAhead,
ProgressReporter), then the journal record. The transport is `InstantFleet`: every host
answers every call at once with the reply a healthy host gives (lbgate, pkgcheck, service,
nrpe as simulated by saltext.scenario.testing.fake_fleet, computed once per call and shared by all
hosts). Its `fire` drops the bus events; the real one sends each to the master's event bus.

Figures: the time inside `Executor.run` divided by hosts x call steps (what the issue calls
the engine's cost per host per step), the transport's own share of it (building the replies,
subtracted), and the whole recorded run for reference. `--profile N` prints cProfile's top
functions of one run on N hosts instead. Writes its section of RESULTS.md (run.py keeps it).
"""

import argparse
import contextlib
import cProfile
import datetime
import io
import pstats
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

import machine
import parseplan
import sections

from saltext.scenario import config
from saltext.scenario.engine.parsing.source import DirSource
from saltext.scenario.engine.running.execute import Executor
from saltext.scenario.engine.running.prepare import prepare
from saltext.scenario.engine.service import recorded_run
from saltext.scenario.engine.service import run as engine
from saltext.scenario.engine.service.request import Caller, RunRequest
from saltext.scenario.testing.fake_fleet import FakeFleet, FakeHost

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


SECTION = "engine cost"
FEATURE = "update_website"
TARGET_US = 50.0  # issue 13: at most 50 µs per host per step at 5,000 simulated hosts


class InstantFleet:
    """The engine's transport interface; every host answers at once, as a healthy host does."""

    def __init__(self, hosts):
        self.hosts = list(hosts)
        self.model = FakeHost("model")  # one host's module state stands for every host's
        self.simulator = FakeFleet([self.model])
        self.busy = 0.0  # seconds spent building replies: the transport's share, not the engine's
        self.publishes = 0
        self.fired = 0

    def expected(self, target):
        return list(self.hosts)

    def ping(self, target):
        return list(self.hosts)

    def minion_data(self, hosts):
        return {}

    def _reply(self, fun, args, kwargs):
        return self.simulator._run(self.model, fun, list(args), dict(kwargs))

    def call(self, hosts, fun, args, kwargs):
        t0 = time.perf_counter()
        self.publishes += 1
        reply = self._reply(fun, args, kwargs)
        out = dict.fromkeys(hosts, reply)
        self.busy += time.perf_counter() - t0
        return f"2026{self.publishes:016d}", out

    def call_many(self, hosts, calls):
        t0 = time.perf_counter()
        self.publishes += 1
        replies = [self._reply(fun, args, kwargs) for fun, args, kwargs in calls]
        out = dict.fromkeys(hosts, replies)
        self.busy += time.perf_counter() - t0
        return f"2026{self.publishes:016d}", out

    def fire(self, data, tag):
        self.fired += 1

    def close(self):
        pass


class TimedWriteAhead(recorded_run.WriteAhead):
    """The write-ahead listener, timed: its share of Executor.run (it rewrites the record per step)."""

    spent = 0.0

    def __call__(self, event):
        t0 = time.perf_counter()
        try:
            return super().__call__(event)
        finally:
            TimedWriteAhead.spent += time.perf_counter() - t0


class TimedExecutor(Executor):
    """Executor.run, timed: the figure this benchmark is about."""

    last = None

    def run(self, pinned, batches=None, done=None):
        t0 = time.perf_counter()
        try:
            return super().run(pinned, batches, done)
        finally:
            TimedExecutor.last = time.perf_counter() - t0


def call_steps(source, feature):
    plan = prepare(config.load({}), RunRequest.from_args(feature), source)
    return sum(1 for sc in plan.scenarios for st in sc.steps if st.call is not None)


def one_run(hosts, source, feature):
    """{"executor_s", "transport_s", "write_ahead_s", "whole_s"} of one run on `hosts` simulated hosts.

    The write-ahead listener's time is all inside Executor.run (it listens to the run's events).
    """
    names = [f"web{i}" for i in range(1, hosts + 1)]
    fleet = InstantFleet(names)
    lines = []
    with tempfile.TemporaryDirectory(prefix="bench-engine-") as cachedir:
        settings = config.load({"cachedir": cachedir})
        saved = engine.Executor, recorded_run.WriteAhead
        engine.Executor, recorded_run.WriteAhead = TimedExecutor, TimedWriteAhead
        TimedWriteAhead.spent = 0.0
        try:
            t0 = time.perf_counter()
            ret = recorded_run.run(
                settings, RunRequest.from_args(feature), source, lambda: fleet, Caller(progress=lines.append)
            )
            whole = time.perf_counter() - t0
        finally:
            engine.Executor, recorded_run.WriteAhead = saved
    if ret.get("retcode") != 0:
        raise RuntimeError(f"{hosts} hosts: the run did not pass: {ret.get('error') or ret.get('summary')}")
    return {
        "executor_s": TimedExecutor.last,
        "transport_s": fleet.busy,
        "write_ahead_s": TimedWriteAhead.spent,
        "whole_s": whole,
    }


def _median(runs, key):
    return statistics.median(r[key] for r in runs)


def measure(sizes, repeat, source, feature):
    steps = call_steps(source, feature)
    one_run(10, source, feature)  # warm-up: imports and first-call costs are not what a run pays per host
    out = {}
    for hosts in sizes:
        runs = [one_run(hosts, source, feature) for _ in range(repeat)]
        per = [(r["executor_s"] - r["transport_s"]) / (hosts * steps) * 1e6 for r in runs]
        row = {key: _median(runs, key) for key in ("executor_s", "transport_s", "write_ahead_s", "whole_s")}
        row.update(runs=runs, steps=steps, engine_us=statistics.median(per), engine_us_range=(min(per), max(per)))
        row["write_ahead_us"] = row["write_ahead_s"] / (hosts * steps) * 1e6
        out[hosts] = row
        print(
            f"{hosts:>6} hosts x {steps} steps: Executor.run {row['executor_s']:.3f} s (fake transport "
            f"{row['transport_s']:.3f} s, write-ahead record {row['write_ahead_s']:.3f} s); engine "
            f"{row['engine_us']:.1f} µs per host per step, of which write-ahead {row['write_ahead_us']:.1f}; "
            f"whole recorded run {row['whole_s']:.3f} s",
            flush=True,
        )
    return out


def profile(hosts, source, feature, top=25):
    profiler = cProfile.Profile()
    profiler.enable()
    one_run(hosts, source, feature)
    profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).strip_dirs().sort_stats("cumulative")
    stats.print_stats(top)
    text.write("\n--- by own time ---\n")
    stats.sort_stats("tottime").print_stats(top)
    return text.getvalue()


def render(results, what, command, load_start, load_end):
    m = machine.describe()
    biggest = max(results)
    lines = [
        f"## The engine's own cost per host per step (no daemons): {what}",
        "",
        f"- Date (UTC): {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M')}",
        f"- Command: `{command}`",
        f"- Machine: {m['nproc']} CPU ({m.get('cpu')}), Python {m['python']}, Salt {m['salt']}; load average "
        f"at start {'/'.join(f'{v:.2f}' for v in load_start)}, at end {'/'.join(f'{v:.2f}' for v in load_end)}",
        f"- {what}, {results[biggest]['steps']} call steps, on N simulated hosts in one batch, through "
        "`recorded_run.run` as `salt-run scenario.run` calls it: ResultCollector, BusReporter, RunRecorder, "
        "WriteAhead (the write-ahead record, fsync'd after every step) and ProgressReporter all attached. The "
        "transport (`InstantFleet`) answers at once; its `fire` drops bus events, where the real one sends each "
        "to the master's event bus (that IPC is not in these figures).",
        "- Engine per host per step = (time in `Executor.run` − the fake transport's time building replies) "
        "/ (hosts × call steps), median of the repeats (range); the write-ahead listener's share of it beside. "
        "Whole recorded run: plan, discovery, leases, the run, the journal record.",
        "",
        "| hosts | Executor.run s | of which write-ahead record s | engine µs per host per step "
        "| of which write-ahead record µs | whole recorded run s |",
        "|---|---|---|---|---|---|",
    ]
    for hosts, r in sorted(results.items()):
        lo, hi = r["engine_us_range"]
        lines.append(
            f"| {hosts} | {r['executor_s']:.3f} | {r['write_ahead_s']:.3f} | "
            f"{r['engine_us']:.1f} ({lo:.1f}–{hi:.1f}) | {r['write_ahead_us']:.1f} | {r['whole_s']:.3f} |"
        )
    lines.append("")
    if 5000 in results:
        got = results[5000]["engine_us"]
        verdict = "met" if got <= TARGET_US else "**missed**"
        lines.append(f"Target ≤ {TARGET_US:.0f} µs per host per step at 5,000 hosts: {verdict} ({got:.1f} µs).")
    else:
        lines.append(f"Target ≤ {TARGET_US:.0f} µs per host per step at 5,000 hosts: not measured in this run.")
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def feature_source(steps):
    """(source, feature name, what): update_website from this checkout, or a generated feature."""
    if not steps:
        yield DirSource(str(REPO)), FEATURE, f"`{FEATURE}`"
        return
    with tempfile.TemporaryDirectory(prefix="bench-engine-feature-") as root:
        (Path(root) / "features").mkdir()
        # parseplan's cycle of block, update, verify, checks, unblock after its 4 Given steps.
        (Path(root) / "features" / "generated.feature").write_text(parseplan.feature_text(steps + 4))
        yield DirSource(root), "generated", f"a generated feature of {steps} call steps (bench/parseplan.py's cycle)"


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="bench/engine_cost.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hosts", default="100,1000,5000", help="simulated fleet sizes (default 100,1000,5000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per size, after one warm-up (default 3)")
    parser.add_argument(
        "--steps",
        type=int,
        default=0,
        help=f"a generated feature of this many call steps instead of {FEATURE} (its own section)",
    )
    parser.add_argument("--profile", type=int, metavar="N", help="print cProfile's top functions of a run on N hosts")
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"), help="report whose section to replace")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    try:
        sizes = sorted({int(x) for x in args.hosts.split(",") if x.strip()})
    except ValueError:
        parser.error(f"--hosts: comma separated whole numbers, not {args.hosts!r}")
    if not sizes or min(sizes) < 1 or args.repeat < 1 or args.steps < 0:
        parser.error("--hosts: each >= 1; --repeat >= 1; --steps >= 0")
    with feature_source(args.steps) as (source, feature, what):
        if args.profile:
            print(profile(args.profile, source, feature))
            return 0
        load_start = machine.load()
        results = measure(sizes, args.repeat, source, feature)
    command = ".venv/bin/python bench/engine_cost.py " + shlex.join(argv)
    section = SECTION + (f" {args.steps} steps" if args.steps else "")
    sections.replace(args.out, section, render(results, what, command.strip(), load_start, machine.load()))
    print(f"wrote the {section!r} section of {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
