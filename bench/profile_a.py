"""Where does A's time go? py-spy (wall clock, idle included) over `salt-run scenario.run`.

    .venv/bin/pip install py-spy       # profiling only; not a dependency of the project
    .venv/bin/python bench/profile_a.py [--hosts 1] [--runs 3] [--way A|B|C] [--top 30]

Brings up its own sandbox (<prefix>p<hosts>), records each run with py-spy, resets between
runs, takes the sandbox down, and prints the inclusive share of the samples per
file:function (what a run spends inside it, waiting included), plus the raw stacks' path.
"""

import argparse
import collections
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import fleet
import orchgen
from suite import LINEAR_SLS, Bench

REPO = Path(__file__).resolve().parent.parent
FRAME = re.compile(r"^(?P<fun>.*?) \((?P<file>[^:()]+)(?::\d+)?\)$")


def _argv(sandbox, way, bench, out):
    # py-spy is argv[0], so the salt tool needs its full path and -c here.
    salt_run = [str(Path(sys.executable).with_name("salt-run")), "-c", str(sandbox.master_conf_dir)]
    if way == "A":
        return [*salt_run, "scenario.run", "update_website", f"--out={out}"]
    if way == "B":
        return [*salt_run, "state.orchestrate", bench.sls(LINEAR_SLS), f"--out={out}"]
    return [
        sys.executable,
        str(Path(__file__).with_name("floor.py")),
        str(sandbox.master_conf_dir / "master"),
        str(bench.calls_file),
    ]


def _short(path):
    for marker in ("site-packages/", f"{REPO}/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def aggregate(raw_files):
    inclusive, leaf, total = collections.Counter(), collections.Counter(), 0
    for raw in raw_files:
        for line in Path(raw).read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            count = int(count)
            total += count
            names = []
            for frame in stack.split(";"):
                m = FRAME.match(frame.strip())
                names.append(f"{_short(m['file'])}:{m['fun']}" if m else frame.strip())
            for name in set(names):
                inclusive[name] += count
            leaf[names[-1]] += count
    return total, inclusive, leaf


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hosts", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--way", choices="ABC", default="A")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--prefix", default="bench")
    parser.add_argument("--out", default="json", help="salt-run outputter for A and B (run.py uses json)")
    args = parser.parse_args(argv)
    py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if not py_spy:
        print("py-spy is not installed: .venv/bin/pip install py-spy", file=sys.stderr)
        return 2
    target, calls = orchgen.feature_calls(str(REPO), "update_website")
    out_dir = Path(tempfile.mkdtemp(prefix="bench-profile-"))
    raws = []
    with fleet.fleet(args.hosts, f"{args.prefix}p") as (sandbox, root):
        bench = Bench(sandbox, root, "update_website", target, calls, print)
        fleet.reset(sandbox)
        for index in range(args.runs):
            raw = out_dir / f"{args.way}{index}.txt"
            argv = [py_spy, "record", "--idle", "--rate", "250", "--format", "raw", "-o", str(raw), "--"]
            proc = sandbox.popen_in_master(
                argv + _argv(sandbox, args.way, bench, args.out), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            _, err = proc.communicate(timeout=600)
            upgraded = fleet.reset(sandbox)
            print(f"run {index + 1}: rc {proc.returncode}, upgraded {len(upgraded)}/{args.hosts}")
            if proc.returncode != 0:
                print(err[-2000:], file=sys.stderr)
            if raw.exists():
                raws.append(raw)
    total, inclusive, leaf = aggregate(raws)
    print(
        f"\n{args.way}, {args.hosts} host(s), {args.runs} run(s), {total} samples at 250 Hz "
        f"(~{total / 250 / args.runs:.2f} s per run); raw stacks in {out_dir}"
    )
    print("\ninclusive share (waiting included):")
    for name, count in inclusive.most_common(args.top):
        print(f"  {100 * count / total:5.1f}%  {count / 250 / args.runs:6.3f} s/run  {name}")
    print("\nleaf (self) share:")
    for name, count in leaf.most_common(15):
        print(f"  {100 * count / total:5.1f}%  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
