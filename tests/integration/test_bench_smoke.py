"""bench/run.py --smoke keeps working: one host, one run of A, B, C and C2, a report written."""

import json
import os
import subprocess
import sys

import pytest

from tests.support.paths import REPO

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


def test_bench_smoke_writes_a_report_and_every_way_passes(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("the benchmark brings up a sandbox: needs root")
    out = tmp_path / "RESULTS.md"
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "run.py"),
            "--smoke",
            "--out",
            str(out),
            "--prefix",
            f"bs{os.getpid() % 100000}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"

    text = out.read_text()
    assert "## Wall time per run" in text
    assert "## Ratios from the same interleaved rounds" in text
    assert "Salt 3008" in text and "bench/run.py --smoke" in text
    assert "| A/B | A/C | A/C2 |" in text

    raw = json.loads(out.with_suffix(".json").read_text())
    assert raw["failures"] == []
    (round_,) = raw["sizes"]["1"]["rounds"]
    ways = ("A", "B", "C", "C2")
    assert {way: round_[way]["rc"] for way in ways} == dict.fromkeys(ways, 0)
    assert all(round_[way]["upgraded"] == 1 and round_[way]["wall"] > 0 for way in ways)
    # C2 made A's publishes: the discovery ping, then one job per publish of the engine's plan.
    assert raw["publishes"] and len(round_["C2"]["per_call_s"]) == 1 + len(raw["publishes"])
    assert raw["parse"]["steps"] == 500
    assert set(raw["orch_source"]["1"].values()) <= {"scenario.compile", "bench/orchgen.py"}
    assert raw["batch"]["rounds"][0]["A"]["rc"] == 0 and raw["batch"]["rounds"][0]["B"]["rc"] == 0
