"""One sandbox size: warm-up, then A B C C2 interleaved; optionally the batch=1 and dead-host runs.

Every run starts from the reset state (4.2.5-1, unblocked) and is followed by the next reset,
whose report proves the run upgraded every host to 4.2.6-3. A run that exits non-zero or
upgrades less than every host is a failure: kept in the results, never in the timings.
"""

from pathlib import Path

import fleet
import orchgen
import publishes
import salt.config
import ways
from measure import last_json

from saltext.scenario import config

REPO = Path(__file__).resolve().parent.parent  # the features A reads come from this checkout

LINEAR_SLS = "update"
PER_HOST_SLS = "update_per_host"


class Bench:
    def __init__(self, sandbox, root, feature, target, calls, log, use_compile=True):
        self.sb = sandbox
        self.feature = feature
        self.log = log
        self.hosts = sandbox.hosts
        self.orch_source = {}
        for sls, batch, by_hand in ((LINEAR_SLS, None, orchgen.linear), (PER_HOST_SLS, 1, orchgen.per_host)):
            text = self._compiled(batch) if use_compile else None
            self.orch_source[sls] = "scenario.compile" if text else "bench/orchgen.py"
            (root / fleet.ORCH_DIR / f"{sls}.sls").write_text(text or by_hand(calls, self.hosts))
        self.calls_file = root / "calls.json"
        ways.write_calls(self.calls_file, target, self.hosts, calls)
        # C2 gets A's publishes and timeouts from the engine's plan under this master's options.
        settings = config.load(salt.config.client_config(str(sandbox.master_conf_dir / "master")))
        _target, self.publishes = publishes.feature_publishes(str(REPO), feature, settings)
        self.publishes_file = root / "publishes.json"
        ways.write_publishes(self.publishes_file, target, self.hosts, self.publishes, settings)
        self.failures = []

    def _compiled(self, batch):
        """B's SLS from `salt-run scenario.compile` (batch=1: host after host), or None if it cannot."""
        argv = ["scenario.compile", self.feature, "--out=json"] + ([f"batch={batch}"] if batch else [])
        proc = self.sb.salt_run(*argv, timeout=300)
        ret = last_json(proc.stdout)
        if proc.returncode != 0 or not isinstance(ret, dict) or not isinstance(ret.get("sls"), str):
            self.log(
                f"  scenario.compile {' '.join(argv[1:])} failed (rc {proc.returncode}); "
                f"B uses bench/orchgen.py: {proc.stderr.strip()[-300:]}"
            )
            return None
        if sorted(ret.get("pinned") or []) != sorted(self.hosts):
            self.log(f"  scenario.compile pinned {ret.get('pinned')}, not every host; B uses bench/orchgen.py")
            return None
        return ret["sls"]

    def sls(self, name):
        return f"{fleet.ORCH_DIR}.{name}"

    def _one(self, way, label, batch=None):
        if way == "A":
            sample = ways.run_a(self.sb, self.feature, *([f"batch={batch}"] if batch else []))
        elif way == "B":
            sample = ways.run_b(self.sb, self.sls(PER_HOST_SLS if batch else LINEAR_SLS))
        elif way == "C":
            sample = ways.run_c(self.sb, self.calls_file)
        else:
            sample = ways.run_c2(self.sb, self.publishes_file)
        upgraded = fleet.reset(self.sb)  # also the next run's starting point
        sample.extra = dict(sample.extra or {}, upgraded=len(upgraded))
        if sample.ok and sorted(upgraded) != sorted(self.hosts):
            sample.rc = 99  # exited 0, but did not do the work
        if not sample.ok:
            self.failures.append(
                {
                    "size": len(self.hosts),
                    "run": label,
                    "way": way,
                    "rc": sample.rc,
                    "upgraded": f"{len(upgraded)}/{len(self.hosts)}",
                    "wall_s": round(sample.wall, 3),
                    "detail": _detail(sample),
                }
            )
        self.log(
            f"  {len(self.hosts):>3} hosts {label:<8} {way}{' batch=1' if batch else ''}: "
            f"{sample.wall:6.2f} s rc {sample.rc} rss {sample.peak_rss_kib // 1024} MiB"
        )
        return sample

    def interleaved(self, runs, ways_order=("A", "B", "C", "C2"), batch=None):
        """[{way: Sample}] per timed round, after one untimed warm-up round."""
        fleet.reset(self.sb)
        for way in ways_order:
            self._one(way, "warm-up", batch)
        rounds = []
        for index in range(runs):
            rounds.append({way: self._one(way, f"run {index + 1}", batch) for way in ways_order})
        return rounds


def _detail(sample):
    text = (sample.stderr.strip() or sample.stdout.strip())[-600:]
    extra = {k: v for k, v in (sample.extra or {}).items() if k not in ("result",)}
    return f"{extra} {text}"
