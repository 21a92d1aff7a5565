"""How fast a metric gate catches a bad build at the canary, and what the bad build costs meanwhile.

    .venv/bin/python bench/metric_gate.py [--name metricsbench] [--runs 5] [--rate 20] [--out bench/metric_gate.json]

On one sandbox of the metrics spec (sandbox/metrics-spec.yaml: web1-web4 behind a real HAProxy,
Prometheus scraping its exporter every second, build 4.2.7-1 answering HTTP 500 to 3 requests
in 10), each run:

- resets every web host to mywebapp 4.2.6-3, READY in HAProxy and UP;
- starts `load --rate R` through the frontend, then `salt-run scenario.run canary_bad`: the
  shipped features/canary_metrics.feature with the bad build (a 5xx-ratio gate below 0.05 for
  20 s, checked every 2 s, K = 0; an @on-failure rollback);
- stops the load once the run has ended, and reads:
  - rejoin -> halt: from HAProxy first reporting the canary UP on the bad build (its `show
    stat`, sampled every 0.2 s) to the progress line of the failed gate;
  - gate -> halt: from the progress line of the step before the gate (the hosts are up) to
    the gate's line: the gate's own time to detect;
  - the bad build's exposure (the canary UP on it, until the rollback drained it) and the
    failed requests.

The target for gate -> halt is interval x (K + 1) + 2 scrape intervals + 2 s = 2 x 1 + 2 x 1 + 2 = 6 s;
rejoin -> halt adds HAProxy's health checks and the "report the hosts as up" step. It prints a
Markdown section and writes the raw figures as JSON. Exit 0 when every run halted at the canary
(exit 1) and met the target.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import machine

from saltext.scenario.sandbox import METRICS_SPEC, Sandbox
from saltext.scenario.sandbox.balancer import Balancer
from saltext.scenario.testing.live_run import LiveRun, ServerWatch, first_line

REPO = Path(__file__).resolve().parent.parent
WEB = ["web1", "web2", "web3", "web4"]
GOOD, BAD = "4.2.6-3", "4.2.7-1"
INTERVAL, K, SCRAPE = 2, 0, 1
TARGET = INTERVAL * (K + 1) + 2 * SCRAPE + 2
LOAD_LIMIT = 180


def reset(sb):
    sb.salt("-L", ",".join(WEB), "pkgcheck.update", "mywebapp", f"version={GOOD}", "--out=json", timeout=180)
    sb.salt("lb", "lbhaproxy.ready", "web", f"hosts={json.dumps(WEB)}", "--out=json", timeout=60)
    Balancer(sb.state_dir, sb.record["lb"]["netns"], sb.bin_dir, sb.spec).wait_all_up(60, lambda: True)


def measure(sb, rate):
    _proc, stop_load = sb.start_load(rate, LOAD_LIMIT)
    watch = ServerWatch(sb)
    try:
        returncode, ret, lines = LiveRun(sb, "canary_bad").finish(timeout=LOAD_LIMIT)
    finally:
        watch.stop()
        load = stop_load()
    rejoined = first_line(lines, "[batch 1/", "I return the hosts to the load balancer")
    up_checked = first_line(lines, "[batch 1/", "report the hosts as up")
    halted = first_line(lines, "[batch 1/", "the metric should stay below 0.05")
    spans = [(a, b) for a, b in watch.up_spans("web1") if b >= rejoined - 1.0]
    seen_up, drained = spans[0] if spans else (rejoined, halted)
    gate = next(st for st in ret["scenarios"][0]["steps"] if st["text"].startswith("the metric"))
    return {
        "retcode": returncode,
        "reason": gate["hosts"]["web1"]["reason"],
        "rejoin_to_halt_s": round(halted - seen_up, 2),
        "gate_to_halt_s": round(halted - up_checked, 2),
        "exposure_s": round(drained - seen_up, 2),
        "sent": load["sent"],
        "failed": load["failed"],
        "failures": load["failures"],
    }


def render(command, rate, runs, date):
    m = machine.describe()
    detect = [r["rejoin_to_halt_s"] for r in runs]
    gate = [r["gate_to_halt_s"] for r in runs]
    failed = [r["failed"] for r in runs]
    lines = [
        "## Metric gate: a bad build caught at the canary (`metric_gate.py`)",
        "",
        f"- Date (UTC): {date}",
        f"- Command: `.venv/bin/python {command}`",
        f"- Machine: {m['nproc']} CPU ({m['cpu']}), {m['memory_mib']} MiB RAM, kernel {m['kernel']}, "
        f"Python {m['python']}, Salt {m['salt']}",
        "- Fleet: `metrics-spec.yaml`: web1-web4 behind HAProxy 2.6 (checks every second), Prometheus scraping "
        "its exporter every second; the canary gets 4.2.7-1, which answers 500 to 3 requests in 10.",
        f"- Load: {rate:g} req/s through the frontend (round robin: the canary gets {rate / len(WEB):g} req/s).",
        f"- Gate: 5xx ratio of the batch's servers (`[5s]` rate window) below 0.05 for 20 s, checked every "
        f"{INTERVAL} s, K = {K}. Target gate -> halt: interval x (K + 1) + 2 scrape intervals + 2 s = {TARGET} s.",
        "",
        "| run | exit | rejoin -> halt s | gate -> halt s | bad build exposed s | requests sent | failed | reason |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n, r in enumerate(runs, 1):
        lines.append(
            f"| {n} | {r['retcode']} | {r['rejoin_to_halt_s']} | {r['gate_to_halt_s']} | {r['exposure_s']} "
            f"| {r['sent']} | {r['failed']} | {r['reason']} |"
        )
    lines += [
        "",
        f"Rejoin -> halt: median {statistics.median(detect):.2f} s, max {max(detect):.2f} s; gate -> halt: "
        f"median {statistics.median(gate):.2f} s, max {max(gate):.2f} s (target {TARGET} s); failed requests: "
        f"median {statistics.median(failed):g}, max {max(failed)} "
        f"(bound: {rate / len(WEB):g} req/s x 0.3 x the exposure, + 2).",
        "",
    ]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", default="metricsbench")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--out", default=str(Path(__file__).with_name("metric_gate.json")), help="raw figures (JSON)")
    parser.add_argument("--results", default=str(Path(__file__).with_name("METRICS.md")), help="the report file")
    args = parser.parse_args()
    shipped = (REPO / "features" / "canary_metrics.feature").read_text(encoding="utf-8")
    runs = []
    with tempfile.TemporaryDirectory(prefix="metric-gate-") as root:
        (Path(root) / "features").mkdir()
        (Path(root) / "features" / "canary_bad.feature").write_text(
            shipped.replace(f"to version {GOOD}", f"to version {BAD}"), encoding="utf-8"
        )
        sb = Sandbox(args.name)
        try:
            sb.up(spec=METRICS_SPEC, file_roots=[root])
            for _ in range(args.runs):
                reset(sb)
                runs.append(measure(sb, args.rate))
                print(json.dumps(runs[-1]), flush=True)
        finally:
            sb.down()
    command = f"bench/metric_gate.py --runs {args.runs} --rate {args.rate:g}"
    date = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    Path(args.out).write_text(json.dumps({"command": command, "date": date, "runs": runs}, indent=1) + "\n")
    text = render(command, args.rate, runs, date)
    Path(args.results).write_text("# Metric gates\n\n" + text, encoding="utf-8")
    print(text)
    ok = all(r["retcode"] == 1 and r["gate_to_halt_s"] <= TARGET for r in runs)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
