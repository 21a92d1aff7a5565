"""What the etcd fleet store adds to a whole run: `scenario.run update_website` with
`scenario_store: etcd` against `local`, on the default sandbox (web1..web3 pinned).

    .venv/bin/python bench/store_overhead.py [--runs 9] [--name storeoh] [--json FILE]

Needs root (it brings up a scenario-sandbox and always takes it down). One sandbox: the default
spec's hosts with `store: etcd` and one master, so a real etcd-server runs in a namespace of its
own and master 1's config points at it. The `local` runs use a copy of master 1's config dir
that differs in `scenario_store: local` alone (`salt-run -c <copy>`): same master, same minions,
same cachedir and journal. Each round runs both, one after the other, in alternating order
(etcd first in odd rounds), every run preceded by a reset (hosts back to mywebapp 4.2.5-1 and
unblocked; not timed). A run is timed from fork to exit (wait4) as bench/run.py times way A.
Each etcd run is checked to have left its last word in etcd (`finished/<run_id>`) and each local
run not to have. The per-round ratio etcd/local cancels the machine's load of the moment; the
figure is the median of those ratios, next to the medians of both. Target: ≤ 5 % added. The
exit code is 0 when the median ratio meets it.

The web hosts' check_load thresholds are raised as in bench/fleet.py: a shared 2-core machine
trips the sandbox default, and the benchmark times the check, it does not judge the machine.
"""

import argparse
import base64
import datetime
import json
import shutil
import signal
import statistics
import subprocess
import sys
from pathlib import Path

import fleet
import machine
import yaml
from stats import paired_ratios, summary
from ways import run_a

from saltext.scenario.sandbox import DEFAULT_SPEC, Sandbox
from saltext.scenario.sandbox.netns import http

HERE = Path(__file__).resolve().parent
FEATURE = "update_website"
WEB = ("web1", "web2", "web3")  # update_website's target on the default hosts
TARGET = 1.05
ETCD = ("198.51.100.5", 2379)
PREFIX = "/saltext-scenario/"


def spec():
    data = yaml.safe_load(Path(DEFAULT_SPEC).read_text())
    for host in WEB:
        data["hosts"][host]["nrpe"] = dict(fleet.NRPE)
    return {**data, "store": "etcd"}


def local_conf(sandbox):
    """A copy of master 1's config dir with `scenario_store: local`: the only difference."""
    source = sandbox.master_conf_dir
    copy = source.parent / "conf-local"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(source, copy)
    config = yaml.safe_load((copy / "master").read_text())
    assert config.get("scenario_store") == "etcd", "the sandbox's master should point at etcd"
    config["scenario_store"] = "local"
    (copy / "master").write_text(yaml.safe_dump(config, default_flow_style=False))
    return copy


def in_etcd(sandbox, run_id):
    """True when etcd holds the run's last word (`finished/<run_id>`)."""
    key = base64.b64encode(f"{PREFIX}finished/{run_id}".encode()).decode()
    status, text = http(sandbox.record["master"]["netns"], *ETCD, "/v3/kv/range", 10, "POST", json.dumps({"key": key}))
    if status != 200:
        raise RuntimeError(f"etcd did not answer: {status} {text}")
    return int(json.loads(text).get("count", 0) or 0) == 1


def reset(sandbox):
    hosts = ",".join(WEB)
    proc = sandbox.salt("-L", hosts, "lbgate.unblock", fleet.LB, "--out=json", "--static", "-t", "60", timeout=120)
    if proc.returncode != 0:
        raise fleet.ResetError(f"lbgate.unblock: {proc.stdout.strip()} {proc.stderr.strip()}")
    install = ["pkg.install", fleet.APP, f"version={fleet.OLD}"]
    proc = sandbox.salt("-L", hosts, *install, "--out=json", "--static", "-t", "120", timeout=300)
    if proc.returncode != 0:
        raise fleet.ResetError(f"pkg.install: {proc.stdout.strip()} {proc.stderr.strip()}")


def one_run(sandbox, store, conf):
    reset(sandbox)
    sample = run_a(sandbox, FEATURE, "-c", str(conf))
    ret = sample.extra["result"] or {}
    if sample.rc != 0:
        raise RuntimeError(f"{store} run failed (exit {sample.rc}): {ret.get('error') or sample.stderr[-2000:]}")
    if sorted(ret.get("pinned") or ()) != list(WEB):
        raise RuntimeError(f"{store} run pinned {ret.get('pinned')}, not {WEB}")
    if in_etcd(sandbox, ret["run_id"]) != (store == "etcd"):
        raise RuntimeError(f"the {store} run {ret['run_id']} did not use the store it was given")
    return {"wall": sample.wall, "run_s": sample.extra["run_s"], "run_id": ret["run_id"]}


def store_calls(sandbox, conf):
    """One etcd run with every store request timed (bench/store_calls.py): {path: [count, s]} of the
    run's own thread, the keepalive's request count, and the process's wall time."""
    reset(sandbox)
    out = Path(sandbox.state_dir) / "store-calls.json"
    driver = [sys.executable, str(HERE / "store_calls.py"), str(out), "-c", str(conf)]
    proc = sandbox.popen_in_master([*driver, "scenario.run", FEATURE, "--out=json"], stdin=subprocess.DEVNULL)
    _, err = proc.communicate(timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"the timed etcd run failed (exit {proc.returncode}): {err[-2000:]}")
    data = json.loads(out.read_text())
    by_path, keepalive = {}, 0
    for thread, path, _start, seconds in data["rows"]:
        if thread.startswith("scenario-lease-"):
            keepalive += 1
            continue
        count, spent = by_path.get(path, (0, 0.0))
        by_path[path] = (count + 1, spent + seconds)
    return {"by_path": by_path, "keepalive_requests": keepalive, "process_s": data["process_s"]}


def log(line):
    print(f"{datetime.datetime.now():%H:%M:%S} {line}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="bench/store_overhead.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="timed rounds (one etcd and one local run each)")
    parser.add_argument("--name", default="storeoh", help="sandbox name")
    parser.add_argument("--json", help="write the samples and figures here")
    parser.add_argument(
        "--calls", action="store_true", help="then one etcd run with each store request timed (where the time goes)"
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))

    sandbox = Sandbox(name=args.name)
    rounds = []
    loads = {"start": machine.load()}
    try:
        log(f"up {args.name} (default hosts, store: etcd)")
        sandbox.up(spec=spec())
        confs = {"etcd": sandbox.master_conf_dir, "local": local_conf(sandbox)}
        for store in ("etcd", "local"):  # warm-up: caches, the first jobs, etcd's first writes
            one_run(sandbox, store, confs[store])
        for n in range(args.runs):
            order = ("etcd", "local") if n % 2 == 0 else ("local", "etcd")
            round_ = {"load": machine.load()[0]}
            for store in order:
                round_[store] = one_run(sandbox, store, confs[store])
            rounds.append(round_)
            log(
                f"round {n + 1}/{args.runs}: etcd {round_['etcd']['wall']:.2f} s, "
                f"local {round_['local']['wall']:.2f} s, load {round_['load']:.1f}"
            )
        calls = store_calls(sandbox, confs["etcd"]) if args.calls else None
    finally:
        saved = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            sandbox.down()
        finally:
            for sig, handler in saved.items():
                signal.signal(sig, handler)
    loads["end"] = machine.load()

    walls = [{"etcd": r["etcd"]["wall"], "local": r["local"]["wall"]} for r in rounds]
    ratio = paired_ratios(walls, "etcd", "local")
    figures = {
        "etcd_wall_s": summary([w["etcd"] for w in walls]),
        "local_wall_s": summary([w["local"] for w in walls]),
        "etcd_run_s": summary([r["etcd"]["run_s"] for r in rounds]),
        "local_run_s": summary([r["local"]["run_s"] for r in rounds]),
        "ratio": ratio,
        "added_ms_median": statistics.median(w["etcd"] - w["local"] for w in walls) * 1000,
        "loads": loads,
        "store_calls": calls,
        "machine": machine.describe(),
        "command": "bench/store_overhead.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    if args.json:
        Path(args.json).write_text(json.dumps({"figures": figures, "rounds": rounds}, indent=1))
    for key in ("etcd_wall_s", "local_wall_s", "etcd_run_s", "local_run_s", "ratio"):
        fig = figures[key]
        print(f"{key:13} median {fig['median']:.4f}  min {fig['min']:.4f}  max {fig['max']:.4f}  n {fig['n']}")
    print(f"added (median of per-round differences): {figures['added_ms_median']:.0f} ms")
    if calls:
        total = sum(spent for _count, spent in calls["by_path"].values())
        print(f"one etcd run ({calls['process_s']:.2f} s): {total * 1000:.0f} ms in store requests on its own thread")
        for path, (count, spent) in sorted(calls["by_path"].items(), key=lambda item: -item[1][1]):
            print(f"  {path:22} {count:3} requests  {spent * 1000:7.1f} ms")
        print(f"  (and {calls['keepalive_requests']} keepalive requests from the lease's own thread)")
    met = ratio["median"] <= TARGET
    print(f"target: etcd/local <= {TARGET}: {'met' if met else 'MISSED'} ({(ratio['median'] - 1) * 100:+.1f} %)")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
