"""Is the HTML report still usable at fleet size? File size, build time and render time in Chromium.

    .venv/bin/python bench/html_report.py [--sizes 5,50,500] [--repeat 3] [--out bench/HTML_REPORT.md]

For each size N a run of `update_website` on a fake fleet of N hosts (one of them without the
new version, so the run fails there), as one batch and, from 100 hosts on, in batches of 50.
The run's return and recorder go through `html_report` (median build time of --repeat builds);
then headless Chromium (saltext.scenario.testing.chromium, the Debian package) loads the page:

- `ready ms`: the page's own `performance.now()` at the end of its script, i.e. from navigation
  until the whole page is parsed and the script has tallied the grid (body data-ready-ms);
- `screenshot s`: wall time of `chromium --headless --screenshot` (start, load, layout, paint,
  exit), median of --repeat, and the same for an empty page, whose time is Chromium's own.

No minions, no sandbox: the fake fleet answers in-process, so only the report is measured.
"""

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from saltext.scenario import config
from saltext.scenario.engine.parsing.source import DirSource
from saltext.scenario.engine.records.html_report import html_report
from saltext.scenario.engine.records.run_recorder import RunRecorder
from saltext.scenario.engine.service import run as engine
from saltext.scenario.engine.service.request import RunRequest
from saltext.scenario.testing import chromium
from saltext.scenario.testing.fake_fleet import FakeFleet, FakeHost

REPO = Path(__file__).resolve().parents[1]


def fake_run(root, size, batch):
    """(ret, recorder) of a failing run on `size` fake hosts; the middle host lacks 4.2.6-3."""
    hosts = [FakeHost(f"web{i:03d}") for i in range(1, size + 1)]
    bad = size // 2
    hosts[bad] = FakeHost(hosts[bad].name, available=("4.2.5-1",))
    recorder = RunRecorder()  # what recorded_run.run does, minus the journal
    opts = {"cachedir": str(root / "cache"), "scenario_lb_address": "198.51.100.10"}
    source = DirSource(str(REPO))  # the shipped features/update_website.feature
    ret = engine.run(
        config.load(opts),
        RunRequest.from_args("update_website", batch=batch),
        source,
        lambda: FakeFleet(hosts),
        listeners=[recorder],
        run_id=recorder.run_id,
    )
    recorder.finish()
    if ret.get("retcode") != 1:
        raise RuntimeError(f"the fake run should fail on one host, got {ret.get('retcode')}: {ret.get('error')}")
    return ret, recorder


def _median(values):
    return round(statistics.median(values), 3)


def measure(size, batch, repeat, work):
    ret, recorder = fake_run(work / f"site-{size}-{batch}", size, batch)
    builds = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        page = html_report(ret, recorder)
        builds.append(time.perf_counter() - t0)
    path = work / f"report-{size}-{batch}.html"
    path.write_bytes(page)
    ready = []
    for _ in range(repeat):
        dom = chromium.dump_dom(path)
        ready.append(float(re.search(r'data-ready-ms="(\d+)"', dom).group(1)))
    shots = [
        chromium.run(f"file://{path}", f"--screenshot={work}/shot.png", "--window-size=1400,1000")[1]
        for _ in range(repeat)
    ]
    return {
        "hosts": size,
        "batch": batch or "all",
        "cells": sum(len(s["hosts"]) for sc in ret["scenarios"] for s in sc["steps"] if s.get("call")),
        "bytes": len(page),
        "build_ms": round(_median(builds) * 1000, 1),
        "ready_ms": _median(ready),
        "screenshot_s": _median(shots),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="5,50,500")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=str(REPO / "bench" / "HTML_REPORT.md"))
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    load_before = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-html-") as tmp:
        work = Path(tmp)
        blank = work / "blank.html"
        blank.write_text("<!DOCTYPE html><title>blank</title>")
        baseline = _median(
            [chromium.run(f"file://{blank}", f"--screenshot={work}/b.png")[1] for _ in range(args.repeat)]
        )
        for size in sizes:
            for batch in [None, "50"] if size >= 100 else [None]:
                rows.append(measure(size, batch, args.repeat, work))
                print(json.dumps(rows[-1]), flush=True)
    lines = [
        "# HTML report at fleet size",
        "",
        f"- Date (UTC): {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())}",
        f"- Command: `.venv/bin/python bench/html_report.py --sizes {args.sizes} --repeat {args.repeat}`",
        f"- Machine: {os.cpu_count()} CPU, load average (1/5/15 min) at start "
        f"{'/'.join(f'{x:.2f}' for x in load_before)}, at end {'/'.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"- Chromium: an empty page's screenshot takes {baseline:.2f} s (start, load, paint, exit)",
        "",
        "| hosts | batch | host cells | file KiB | build ms | ready ms | screenshot s |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['hosts']} | {r['batch']} | {r['cells']} | {r['bytes'] / 1024:.0f} | {r['build_ms']} "
        f"| {r['ready_ms']:.0f} | {r['screenshot_s']:.2f} |"
        for r in rows
    ]
    lines += ["", "Medians of the repeats; see the docstring of bench/html_report.py for what each column is.", ""]
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
