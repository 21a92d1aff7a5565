"""Requests lost during a rolling deploy: today's block, the firewall drain, the HAProxy drain.

    .venv/bin/python bench/lb_drain.py [--name lbbench] [--rate 20] [--seconds 45] [--out bench/lb_drain.json]

On one sandbox of the HAProxy spec (sandbox/haproxy-spec.yaml: web1-web3 behind a real HAProxy
with HTTP checks every second), in one session, for each way in turn:

  (a) block    salt-run scenario.run update_website batch=1          (lbgate.block / unblock)
  (b) drain    salt-run scenario.run update_website_drain batch=1    (lbdrain.drain / lbgate.unblock)
  (c) haproxy  salt-run scenario.run update_website_haproxy batch=1  (HAProxy drain/maint/ready)

every web host is reset to mywebapp 4.2.5-1 and HAProxy must report them all UP; then
`load --rate R --seconds S` runs through the frontend from the client namespace, the deploy
starts once the load has, and the load must outlast the deploy. It prints one Markdown table
and writes the raw figures as JSON. Exit 0 when every deploy passed and outlasted by the load.
"""

import argparse
import json
import sys
import threading
import time
from pathlib import Path

import machine
import sections

from saltext.scenario.sandbox import HAPROXY_SPEC, Sandbox
from saltext.scenario.sandbox.balancer import Balancer

WAYS = [
    ("a", "block", "update_website"),
    ("b", "firewall drain", "update_website_drain"),
    ("c", "HAProxy drain", "update_website_haproxy"),
]
LEAD = 2.0  # seconds of load before the deploy starts


def reset(sb):
    proc = sb.salt("-L", ",".join(sb.hosts), "pkgcheck.update", "mywebapp", "version=4.2.5-1", "--out=json")
    if proc.returncode != 0:
        raise SystemExit(f"reset failed: {proc.stdout} {proc.stderr}")
    balancer = Balancer(sb.state_dir, sb.record["lb"]["netns"], sb.bin_dir, sb.spec)
    balancer.wait_all_up(60, lambda: True)


def measure(sb, feature, rate, seconds, slow_every):
    box = {}

    def loader():
        box["load"] = sb.load(rate, seconds, slow_every=slow_every)

    thread = threading.Thread(target=loader)
    thread.start()
    time.sleep(LEAD)
    started = time.monotonic()
    proc = sb.salt_run("scenario.run", feature, "batch=1")
    deploy = time.monotonic() - started
    thread.join(seconds + 120)
    load = box.get("load") or {}
    return {
        "feature": feature,
        "retcode": proc.returncode,
        "deploy_seconds": round(deploy, 2),
        "outlasted": deploy + LEAD < seconds,
        **{k: load.get(k) for k in ("sent", "ok", "failed", "failures", "versions", "latency")},
    }


def _machine():
    m = machine.describe()
    return (
        f"{m['nproc']} CPU ({m['cpu']}), {m['memory_mib']} MiB RAM, kernel {m['kernel']}, {m['os']}, "
        f"Python {m['python']}, Salt {m['salt']}"
    )


def render(command, args, results, date=None):
    if args.slow_every:
        kind = f"every {args.slow_every}th request slow"
        slow = f"every {args.slow_every}th request is GET /slow (answered after 2 s), so some are always in flight"
    else:
        kind = "instant requests"
        slow = "every request is GET / (answered at once)"
    lines = [
        f"## Requests lost during a rolling deploy: block, firewall drain, HAProxy drain ({kind})",
        "",
        f"- Date (UTC): {date or time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())}",
        f"- Command: `.venv/bin/python {command}` (one session: one sandbox, the three ways in turn)",
        f"- Machine: {_machine()}",
        "- Fleet: `haproxy-spec.yaml`: web1-web3 behind a real HAProxy 2.6 (HTTP check every second, fall 2 "
        "rise 2, timeout connect 5 s, retries 3, no redispatch); `scenario.run <feature> batch=1` on each.",
        f"- Load: `load --rate {args.rate:g} --seconds {args.seconds:g}` from the client namespace through the "
        f"frontend, started {LEAD:g} s before the deploy and outlasting it; {slow}; a request fails when it is "
        "not answered 200 within 30 s.",
        "",
        "| way | feature | deploy exit | deploy s | requests sent | answered 200 | failed | failures "
        "| latency median / p99 / max s | versions seen |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        failures = ", ".join(f"{k} {v}" for k, v in sorted((r["failures"] or {}).items())) or "-"
        versions = ", ".join(f"{k} ({v})" for k, v in sorted((r["versions"] or {}).items()))
        lat = r["latency"] or {}
        latency = f"{lat.get('p50')} / {lat.get('p99')} / {lat.get('max')}"
        lines.append(
            f"| {r['way']} | `{r['feature']}` | {r['retcode']} | {r['deploy_seconds']} | {r['sent']} | {r['ok']} "
            f"| {r['failed']} | {failures} | {latency} | {versions} |"
        )
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", default="lbbench")
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--seconds", type=float, default=45)
    parser.add_argument("--slow-every", type=int, default=0, help="every K-th request is GET /slow (2 s)")
    parser.add_argument("--out", default=str(Path(__file__).with_name("lb_drain.json")), help="raw figures (JSON)")
    parser.add_argument(
        "--results", default=str(Path(__file__).with_name("RESULTS.md")), help="report file: its section is replaced"
    )
    args = parser.parse_args()
    sb = Sandbox(args.name)
    results = []
    try:
        sb.up(spec=HAPROXY_SPEC)
        for key, way, feature in WAYS:
            reset(sb)
            result = {"way": f"({key}) {way}", **measure(sb, feature, args.rate, args.seconds, args.slow_every)}
            results.append(result)
            print(json.dumps(result), flush=True)
    finally:
        sb.down()
    command = f"bench/lb_drain.py --rate {args.rate:g} --seconds {args.seconds:g} --slow-every {args.slow_every}"
    raw = Path(args.out)
    if args.slow_every:
        raw = raw.with_name(f"{raw.stem}-slow{args.slow_every}{raw.suffix}")
    date = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    raw.write_text(json.dumps({"command": command, "date": date, "results": results}, indent=1) + "\n")
    text = render(command, args, results, date)
    sections.replace(args.results, f"lb_drain slow-every {args.slow_every}", text)
    print(text)
    return 0 if all(r["retcode"] == 0 and r["outlasted"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
