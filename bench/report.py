"""RESULTS.md out of the raw results dict that run.py collects (also saved beside it as JSON)."""

from stats import paired_ratios, slope, summary

# A dead host is noticed within timeout + gather_job_timeout + 1 s (timeout + 3 s at the default 2 s).
TARGETS = {"dead_slack_s": 1.0, "parse_ms": 100.0}
WAYS = ("A", "B", "C", "C2")
# Issue 13 (fewer round trips): (ratio, smallest fleet it applies to, largest or None, limit).
RATIO_TARGETS = (
    ("A/B", 1, 1, 0.75),
    ("A/B", 5, None, 0.65),
    ("A/C", 5, None, 0.75),
    ("A/C2", 1, None, 1.10),
)


def _applies(size, low, high):
    return size >= low and (high is None or size <= high)


def _where(low, high):
    return f"at {low} host(s)" if high == low else f"from {low} host(s)" if low > 1 else "at every size"


def ratio_target(ratio, size):
    """The limit for `ratio` at `size` hosts, or None where the issue sets none."""
    for name, low, high, limit in RATIO_TARGETS:
        if name == ratio and _applies(size, low, high):
            return limit
    return None


def _fmt(s, unit="s", digits=2):
    if not s:
        return "–"
    return f"{s['median']:.{digits}f} {unit} ({s['min']:.{digits}f}–{s['max']:.{digits}f})"


def _ratio(s):
    return "–" if not s else f"{s['median']:.2f} ({s['min']:.2f}–{s['max']:.2f})"


def _ok_walls(rounds, way):
    return [r[way]["wall"] for r in rounds if way in r and r[way]["rc"] == 0]


def _paired(rounds, ways):
    return [{w: r[w]["wall"] for w in ways} for r in rounds if all(r.get(w, {}).get("rc") == 0 for w in ways)]


def _mean(values):
    return sum(values) / len(values) if values else None


def _verdict(ok):
    return "met" if ok else "**missed**"


def _ok(round_, way):
    return round_.get(way, {}).get("rc") == 0


def size_rows(results):
    rows, ratios, steps = [], {}, {}
    for size, data in sorted(results["sizes"].items(), key=lambda kv: int(kv[0])):
        rounds = data["rounds"]
        for way in WAYS:
            if not any(way in r for r in rounds):
                continue  # a report of an older run, before C2
            walls = _ok_walls(rounds, way)
            rss = summary([r[way]["rss_mib"] for r in rounds if way in r])
            rows.append(f"| {size} | {way} | {len(walls)}/{len(rounds)} | {_fmt(summary(walls))} | {_rss(rss)} |")
        ways = [w for w in WAYS if any(w in r for r in rounds)]
        both = _paired(rounds, ways)
        ratios[size] = {f"A/{w}": paired_ratios(both, "A", w) for w in ways if w != "A"}
        ratios[size]["n"] = len(both)
        publishes = len(results.get("publishes") or []) or None
        steps[size] = {
            # The engine's step durations add up to its time in publishes (a fused step adds 0).
            "a_publish": summary(
                [sum(r["A"]["step_s"]) / publishes for r in rounds if _ok(r, "A") and r["A"].get("step_s")]
                if publishes
                else []
            ),
            "c_call": _floor_per_call(rounds, "C"),
            "c2_publish": _floor_per_call(rounds, "C2"),
            "c_start": summary(
                [r["C"]["wall"] - r["C"]["calls_s"] for r in rounds if _ok(r, "C") and r["C"].get("calls_s")]
            ),
            "a_outside": summary(
                [r["A"]["wall"] - r["A"]["run_s"] for r in rounds if _ok(r, "A") and r["A"].get("run_s")]
            ),
        }
    return rows, ratios, steps


def _floor_per_call(rounds, way):
    """Mean in-process seconds per job of C or C2 (the discovery ping left out)."""
    return summary(
        [_mean(r[way]["per_call_s"][1:]) for r in rounds if _ok(r, way) and len(r[way].get("per_call_s") or []) > 1]
    )


def render(results):
    out = []
    add = out.append
    m = results["machine"]
    add("# Benchmark results: scenario.run (A) against orchestrate (B) and the raw floors (C, C2)")
    add("")
    if results.get("interrupted"):
        add("**Interrupted: partial results.**")
        add("")
    if results.get("smoke"):
        add("**Smoke run (1 host, 1 run each): proves the script works; these are not the figures.**")
        add("")
    add(f"- Date (UTC): {results['date']}")
    add(f"- Command: `{results['command']}`")
    add(
        f"- Machine: {m['nproc']} CPU ({m.get('cpu')}), {m['memory_mib']} MiB RAM, kernel {m['kernel']}, "
        f"{m.get('os')}, Python {m['python']}, Salt {m['salt']}"
    )
    add(
        f"- Load average (1/5/15 min) at start {_load(results.get('load_start'))}, "
        f"at end {_load(results.get('load_end'))}{_load_per_size(results)}"
    )
    add(
        f"- Feature: `{results['feature']}` (target `{results['target']}`), {len(results['calls'])} Salt calls per "
        "host: " + ", ".join(f"`{c}`" for c in results["calls"])
    )
    publishes = results.get("publishes") or []
    if publishes:
        add(
            f"- A's publishes per batch (the engine's plan; C2 makes the same): {len(publishes)}: "
            + "; ".join("`" + " + ".join(p) + "`" for p in publishes)
        )
    gjt = results.get("gather_job_timeout")
    if gjt:
        add(
            f"- gather_job_timeout: {gjt} s for every way (the sandbox master's `gather_job_timeout`, which B and C "
            f"use, and `scenario_gather_job_timeout`, which A and C2 use; by default 3 s and 2 s)"
        )
    add(
        f"- Runs: {_runs_text(results)} after one warm-up round, each round {' '.join(_ways(results))} back to "
        "back; every run starts at 4.2.5-1 and unblocked and must leave every host at 4.2.6-3 (checked by the "
        "next reset)."
    )
    add("")
    add("What each way is (each one process started in the master's network namespace; wall time from fork to exit):")
    add("")
    add(
        "- **A** `salt-run scenario.run <feature>`: read from the fileserver, parse, match, plan, lock, discovery "
        "(grains-cache lookup + one compound `test.ping`), then one publish per When and the read-only Then "
        "steps after it (a compound job on the pinned list), with assertions, progress and bus events, the "
        "write-ahead record and the journal."
    )
    add(
        "- **B** `salt-run state.orchestrate benchorch.update`: one `salt.function` per step on the same list, "
        "`tgt_type: list`, `expect_minions`, `failhard`, `require` chain; verification = the modules' retcodes. "
        f"{_orch_note(results)}"
    )
    add(
        "- **C** `python bench/floor.py`: one LocalClient, the same compound `test.ping` and the same calls "
        "back to back, one job per step, checking retcodes only."
    )
    add(
        "- **C2** `python bench/fused_floor.py`: one LocalClient, the same compound `test.ping`, then exactly "
        "A's publishes (`cmd_iter` with `fun=[...]`, `arg=[[...], ...]`, keyword arguments as a `__kwarg__` "
        "dict, `expect_minions`, `full_return`, A's timeout and gather_job_timeout), checking retcodes only: "
        "the floor for A's round trips."
    )
    add("")

    rows, ratios, steps = size_rows(results)
    add("## Wall time per run")
    add("")
    add("| hosts | way | ok/runs | median (min–max) | peak RSS MiB median (max) |")
    add("|---|---|---|---|---|")
    out += rows
    add("")
    add("## Ratios from the same interleaved rounds")
    add("")
    add(
        "Median of the per-round ratios (range), from the rounds in which every way passed. Targets (issue 13): "
        + "; ".join(f"{name} ≤ {limit:.2f} {_where(low, high)}" for name, low, high, limit in RATIO_TARGETS)
        + "."
    )
    add("")
    add("| hosts | rounds | A/B | A/C | A/C2 | A/B target | A/C target | A/C2 target |")
    add("|---|---|---|---|---|---|---|---|")
    for size, r in ratios.items():
        cells = [_ratio(r.get(name)) for name in ("A/B", "A/C", "A/C2")]
        marks = [_against(r.get(name), ratio_target(name, int(size))) for name in ("A/B", "A/C", "A/C2")]
        add(f"| {size} | {r['n']} | {' | '.join(cells)} | {' | '.join(marks)} |")
    add("")
    add("## Per publish, by fleet size")
    add("")
    add(
        "A per publish: the engine's own step durations of a run (a fused step adds nothing: its publish is "
        "counted once), divided by its publishes. C per call and C2 per publish: mean in-process time per job "
        "(the discovery ping left out). A outside the steps: wall time minus the engine's run duration (process "
        "start, runner loading, fileserver read, parse, plan, lock, discovery, journal, return output). C's "
        "process start (interpreter + `import salt`) is shown because every way pays one."
    )
    add("")
    add("| hosts | A per publish | C2 per publish | C per call | A outside the steps | C process start |")
    add("|---|---|---|---|---|---|")
    for size, st in steps.items():
        add(
            f"| {size} | {_fmt(st['a_publish'], 's', 3)} | {_fmt(st['c2_publish'], 's', 3)} | "
            f"{_fmt(st['c_call'], 's', 3)} | {_fmt(st['a_outside'])} | {_fmt(st['c_start'])} |"
        )
    add("")
    add(_slopes(steps))
    add("")
    _dead(add, results.get("dead"))
    _parse(add, results.get("parse"))
    _batch(add, results.get("batch"))
    add("## Targets")
    add("")
    for line in _targets(ratios, results):
        add(f"- {line}")
    add("")
    if results.get("failures"):
        add("## Failed runs (not in the timings)")
        add("")
        add("| hosts | run | way | rc | upgraded | wall s | detail |")
        add("|---|---|---|---|---|---|---|")
        for f in results["failures"]:
            detail = str(f["detail"]).replace("|", "/").replace("\n", " ")[:300]
            add(f"| {f['size']} | {f['run']} | {f['way']} | {f['rc']} | {f['upgraded']} | {f['wall_s']} | {detail} |")
        add("")
    for note in results.get("notes", []):
        add(f"Note: {note}")
        add("")
    return "\n".join(out).rstrip() + "\n"


def _orch_note(results):
    sources = sorted({src for per_size in results.get("orch_source", {}).values() for src in per_size.values()})
    if not sources:
        return results.get("compile_note", "")
    how = {
        "scenario.compile": "`salt-run scenario.compile <feature>` (batch=1: `... batch=1`) on the sandbox",
        "bench/orchgen.py": "bench/orchgen.py, by hand from the engine's validate of the feature",
    }
    return "The SLS came from " + " and ".join(how.get(s, s) for s in sources) + "."


def _rss(s):
    return "–" if not s else f"{s['median']:.0f} ({s['max']:.0f})"


def _load(values):
    return "–" if not values else "/".join(f"{v:.2f}" for v in values)


def _dead(add, dead):
    add("## Time to notice a dead host")
    add("")
    if not dead:
        add("Not measured.")
        add("")
        return
    add(
        f"On {dead['hosts']} host(s), `{dead['host']}`'s minion stopped with `Sandbox.stop`. "
        f"Runner timeout={dead['timeout']} s."
    )
    add("")
    add("| what | seconds | exit | notes |")
    add("|---|---|---|---|")
    eng = dead.get("engine") or {}
    if "notice_s" in eng:
        add(
            f"| {eng['how']} (gather_job_timeout={eng.get('gather_job_timeout')}) | {eng['notice_s']:.2f} "
            f"(step {eng.get('duration')}) | {eng.get('retcode')} | "
            f"first step `{eng.get('text')}` {eng.get('status')}: "
            f"{eng.get('reasons')} |"
        )
    else:
        add(f"| engine mid-run | – | – | {eng.get('error', 'no result')} |")
    for key in ("a_discovery", "salt_default", "b_orchestrate", "alive_ping"):
        item = dead.get(key)
        if item:
            add(f"| {item['how']} | {item['wall_s']:.2f} | {item['rc']} | whole process, incl. its start |")
    add("")


def _parse(add, parse):
    add("## Parse + match + plan, 500 steps, no execution")
    add("")
    if not parse:
        add("Not measured.")
        add("")
        return
    med, lo, hi = parse["prepare_ms"]
    pmed, plo, phi = parse["parse_only_ms"]
    add(
        f"`running/prepare.py:prepare` (read, gherkin parse, registry, match, plan) of a generated "
        f"{parse['steps']}-step "
        f"feature, in-process: median **{med} ms** ({lo}–{hi}) over {parse['repeat']} repetitions; "
        f"of which gherkin parsing alone {pmed} ms ({plo}–{phi}). Target < {TARGETS['parse_ms']:.0f} ms: "
        f"{_verdict(med < TARGETS['parse_ms'])}."
    )
    add("")


def _batch(add, batch):
    add("## Rolling update, batch=1")
    add("")
    if not batch:
        add("Not measured.")
        add("")
        return
    rounds = batch["rounds"]
    a, b = summary(_ok_walls(rounds, "A")), summary(_ok_walls(rounds, "B"))
    ratio = paired_ratios(_paired(rounds, ("A", "B")), "A", "B")
    add(
        f"{batch['hosts']} hosts. A: `salt-run scenario.run {batch['feature']} batch=1`. B: a generated per-host "
        "orchestration (each host: block, verify, update, verify, checks, unblock, verify, then the next host; "
        "not orchestrate's per-step `batch:`)."
    )
    add("")
    add("| way | ok/runs | median (min–max) | peak RSS MiB (max) |")
    add("|---|---|---|---|")
    for way, s in (("A", a), ("B", b)):
        rss = [r[way]["rss_mib"] for r in rounds if way in r]
        add(f"| {way} | {len(_ok_walls(rounds, way))}/{len(rounds)} | {_fmt(s)} | {max(rss) if rss else '–'} |")
    add("")
    add(f"A/B per round: {_ratio(ratio)}.")
    add("")


def _targets(ratios, results):
    lines = []
    for name, low, high, limit in RATIO_TARGETS:
        got = {size: r[name]["median"] for size, r in ratios.items() if r.get(name) and _applies(int(size), low, high)}
        if not got:
            continue
        lines.append(
            f"{name} ≤ {limit:.2f} {_where(low, high)}: {_verdict(all(v <= limit for v in got.values()))} "
            f"({', '.join(f'{k}: {v:.2f}' for k, v in got.items())})"
        )
    eng = (results.get("dead") or {}).get("engine") or {}
    if "notice_s" in eng:
        limit = eng["timeout"] + (eng.get("gather_job_timeout") or 2) + TARGETS["dead_slack_s"]
        lines.append(
            f"dead host noticed in ≤ timeout + gather_job_timeout + 1 s = {limit:.0f} s: "
            f"{_verdict(eng['notice_s'] <= limit)} ({eng['notice_s']:.2f} s)"
        )
    parse = results.get("parse")
    if parse:
        lines.append(
            f"500-step parse + plan < 100 ms: {_verdict(parse['prepare_ms'][0] < TARGETS['parse_ms'])} "
            f"({parse['prepare_ms'][0]} ms)"
        )
    lines.append("engine cost per host per step: see its own section below (bench/engine_cost.py)")
    return lines


def _against(ratio, limit):
    if limit is None:
        return "–"
    if not ratio:
        return "not measured"
    return f"≤ {limit:.2f}: {_verdict(ratio['median'] <= limit)}"


def _ways(results):
    seen = [w for w in WAYS if any(w in r for d in results["sizes"].values() for r in d["rounds"])]
    return seen or list(WAYS)


def _runs_text(results):
    runs_at = {int(k): v for k, v in (results.get("runs_at") or {}).items()}
    text = f"{results['runs']} timed rounds per size"
    if runs_at:
        text += " (" + ", ".join(f"{n} at {size} hosts" for size, n in sorted(runs_at.items())) + ")"
    return text


def _load_per_size(results):
    parts = [
        f"{size} hosts {_load(data['load'][0])} → {_load(data['load'][1])}"
        for size, data in sorted(results["sizes"].items(), key=lambda kv: int(kv[0]))
        if data.get("load")
    ]
    return "; per size, before its warm-up and after its last round: " + ", ".join(parts) if parts else ""


def _slopes(steps):
    """How the time per job grows with the fleet: least squares over the sizes measured."""
    texts = []
    for key, label in (("a_publish", "A per publish"), ("c2_publish", "C2 per publish"), ("c_call", "C per call")):
        points = [(int(k), v[key]["median"]) for k, v in steps.items() if v.get(key)]
        slope_s = slope(points)
        if slope_s is not None:
            texts.append(f"{label} {slope_s * 1000:.1f} ms")
    if not texts:
        return "Slope: needs at least two sizes."
    sizes = ", ".join(str(k) for k in steps)
    return f"Slope per added host (least squares over sizes {sizes}): " + ", ".join(texts) + "."
