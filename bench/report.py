"""RESULTS.md out of the raw results dict that run.py collects (also saved beside it as JSON)."""

from stats import paired_ratios, slope, summary

TARGETS = {"A/C": 1.15, "A/B": 0.8, "dead_extra_s": 3.0, "parse_ms": 100.0}


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


def size_rows(results):
    rows, ratios, steps = [], {}, {}
    for size, data in sorted(results["sizes"].items(), key=lambda kv: int(kv[0])):
        rounds = data["rounds"]
        for way in ("A", "B", "C"):
            walls = _ok_walls(rounds, way)
            rss = summary([r[way]["rss_mib"] for r in rounds if way in r])
            rows.append(f"| {size} | {way} | {len(walls)}/{len(rounds)} | {_fmt(summary(walls))} | {_rss(rss)} |")
        both = _paired(rounds, ("A", "B", "C"))
        ratios[size] = {"A/C": paired_ratios(both, "A", "C"), "A/B": paired_ratios(both, "A", "B"), "n": len(both)}
        a_step = summary(
            [_mean(r["A"]["step_s"]) for r in rounds if r.get("A", {}).get("rc") == 0 and r["A"].get("step_s")]
        )
        c_call = summary(
            [
                _mean(r["C"]["per_call_s"][1:])
                for r in rounds
                if r.get("C", {}).get("rc") == 0 and len(r["C"].get("per_call_s") or []) > 1
            ]
        )
        c_start = summary(
            [
                r["C"]["wall"] - r["C"]["calls_s"]
                for r in rounds
                if r.get("C", {}).get("rc") == 0 and r["C"].get("calls_s")
            ]
        )
        c_calls = summary(
            [r["C"]["calls_s"] for r in rounds if r.get("C", {}).get("rc") == 0 and r["C"].get("calls_s")]
        )
        a_outside = summary(
            [r["A"]["wall"] - r["A"]["run_s"] for r in rounds if r.get("A", {}).get("rc") == 0 and r["A"].get("run_s")]
        )
        steps[size] = {
            "a_step": a_step,
            "c_call": c_call,
            "c_start": c_start,
            "c_calls": c_calls,
            "a_outside": a_outside,
        }
    return rows, ratios, steps


def render(results):
    out = []
    add = out.append
    m = results["machine"]
    add("# Benchmark results: scenario.run (A) against hand-written orchestrate (B) and the raw floor (C)")
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
        f"at end {_load(results.get('load_end'))}"
    )
    add(
        f"- Feature: `{results['feature']}` (target `{results['target']}`), {len(results['calls'])} Salt calls per "
        "host: " + ", ".join(f"`{c}`" for c in results["calls"])
    )
    add(
        f"- Runs: {results['runs']} timed rounds per size after one warm-up round, each round A B C back to back; "
        "every run starts at 4.2.5-1 and unblocked and must leave every host at 4.2.6-3 (checked by the next reset)."
    )
    add("")
    add(
        "What each way is (all three are one process started in the master's network namespace; wall time "
        "from fork to exit):"
    )
    add("")
    add(
        "- **A** `salt-run scenario.run <feature>`: read from the fileserver, parse, match, plan, lock, discovery "
        "(grains-cache lookup + one compound `test.ping`), then one call per step on the pinned list, "
        "with assertions, progress and bus events."
    )
    add(
        "- **B** `salt-run state.orchestrate benchorch.update`: one `salt.function` per step on the same list, "
        "`tgt_type: list`, `expect_minions`, `failhard`, `require` chain; verification = the modules' retcodes. "
        f"{_orch_note(results)}"
    )
    add(
        "- **C** `python bench/floor.py`: one LocalClient, the same compound `test.ping` and the same calls "
        "back to back, checking retcodes only."
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
    add(f"Median of the per-round ratios (range). Targets: A/C ≤ {TARGETS['A/C']}, A/B ≤ {TARGETS['A/B']}.")
    add("")
    add("| hosts | rounds | A/C | A/B | A/C target | A/B target |")
    add("|---|---|---|---|---|---|")
    for size, r in ratios.items():
        ac, ab = r["A/C"], r["A/B"]
        add(
            f"| {size} | {r['n']} | {_ratio(ac)} | {_ratio(ab)} | "
            f"{_verdict(ac and ac['median'] <= TARGETS['A/C']) if ac else '–'} | "
            f"{_verdict(ab and ab['median'] <= TARGETS['A/B']) if ab else '–'} |"
        )
    add("")
    add("## Per step, by fleet size")
    add("")
    add(
        "A per step: mean of the engine's own step durations (call steps) per run. A outside the steps: "
        "wall time minus the engine's run duration (process start, runner loading, fileserver read, parse, "
        "plan, lock, discovery, return output). C per call: mean in-process time per call (discovery ping "
        "left out). C's process start (interpreter + `import salt`) and its in-process total are split out "
        "because a process start is part of every way."
    )
    add("")
    add("| hosts | A per step | A outside the steps | C per call | C process start | C in-process total |")
    add("|---|---|---|---|---|---|")
    for size, s in steps.items():
        add(
            f"| {size} | {_fmt(s['a_step'], 's', 3)} | {_fmt(s['a_outside'])} | {_fmt(s['c_call'], 's', 3)} | "
            f"{_fmt(s['c_start'])} | {_fmt(s['c_calls'])} |"
        )
    points_a = [(int(k), v["a_step"]["median"]) for k, v in steps.items() if v["a_step"]]
    points_c = [(int(k), v["c_call"]["median"]) for k, v in steps.items() if v["c_call"]]
    sa, sc = slope(points_a), slope(points_c)
    add("")
    if sa is not None:
        lo, hi = min(points_a), max(points_a)
        text = (
            f"Slope (least squares over sizes {', '.join(str(x) for x, _ in points_a)}): A {sa * 1000:.1f} ms "
            "per added host per step"
        )
        if sc is not None:
            text += f", C {sc * 1000:.1f} ms"
        add(text + f"; A per step at {hi[0]} hosts is {hi[1] / lo[1]:.2f}× that at {lo[0]} host(s).")
    else:
        add("Slope: needs at least two sizes.")
    add("")
    _dead(add, results.get("dead"))
    _parse(add, results.get("parse"))
    _batch(add, results.get("batch"))
    add("## Targets")
    add("")
    for line in _targets(ratios, steps, results, sa):
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
        f"`engine.api.prepare` (read, gherkin parse, registry, match, plan) of a generated {parse['steps']}-step "
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


def _targets(ratios, steps, results, sa):
    lines = []
    ac = {k: v["A/C"]["median"] for k, v in ratios.items() if v["A/C"]}
    ab = {k: v["A/B"]["median"] for k, v in ratios.items() if v["A/B"]}
    if ac:
        lines.append(
            f"A/C ≤ {TARGETS['A/C']} at every size: {_verdict(all(x <= TARGETS['A/C'] for x in ac.values()))}"
            f" ({', '.join(f'{k}: {v:.2f}' for k, v in ac.items())})"
        )
    if ab:
        lines.append(
            f"A/B ≤ {TARGETS['A/B']}: {_verdict(all(x <= TARGETS['A/B'] for x in ab.values()))}"
            f" ({', '.join(f'{k}: {v:.2f}' for k, v in ab.items())})"
        )
    if sa is not None:
        lines.append(f"per-step time roughly flat: slope {sa * 1000:.1f} ms per added host per step (see above)")
    eng = (results.get("dead") or {}).get("engine") or {}
    if "notice_s" in eng:
        limit = eng["timeout"] + TARGETS["dead_extra_s"]
        lines.append(
            f"dead host noticed in ≤ timeout + 3 s = {limit:.0f} s: {_verdict(eng['notice_s'] <= limit)} "
            f"({eng['notice_s']:.2f} s)"
        )
    parse = results.get("parse")
    if parse:
        lines.append(
            f"500-step parse + plan < 100 ms: {_verdict(parse['prepare_ms'][0] < TARGETS['parse_ms'])} "
            f"({parse['prepare_ms'][0]} ms)"
        )
    return lines
