"""scenario.run's verdicts on failing runs: a host without the new version, an overloaded host,
and a failure in the second rolling batch. One sandbox whose spec differs from the default:
web2's apt source lacks 4.2.6-3 and web3's NRPE load check is CRITICAL.
"""

import copy
import os

import pytest
import yaml

from tests.support.scenario_cli import FILES, WEB, probes, reset, scenario, statuses, step, versions

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


def _spec():
    from saltext.scenario.sandbox import spec as sandbox_spec

    data = copy.deepcopy(yaml.safe_load(sandbox_spec.DEFAULT_SPEC.read_text(encoding="utf-8")))
    data["hosts"]["web2"]["repo"] = {"mywebapp": ["4.2.5-1"]}
    data["hosts"]["web3"]["nrpe"] = {"check_load": "/usr/lib/nagios/plugins/check_dummy 2 overloaded"}
    return data


@pytest.fixture(scope="module")
def sb(make_sandbox):
    return make_sandbox(_spec(), f"sf{os.getpid() % 100000}", file_roots=[str(FILES)])


@pytest.fixture
def fresh(sb):
    reset(sb)
    yield sb
    reset(sb)


def test_missing_version_halts_with_location_and_leaves_batch_blocked(fresh):
    code, ret, progress = scenario(fresh, "run", "update_website")
    assert code == 1, ret
    failed = step(ret, "features/update_website.feature:12")  # the version check
    assert failed["status"] == "failed"
    assert failed["hosts"]["web2"]["status"] == "failed"
    assert "4.2.5-1" in failed["hosts"]["web2"]["reason"]
    assert ret["failed_hosts"] == {
        "web2": {
            "step": "Then the package version for mywebapp should be 4.2.6-3",
            "location": "features/update_website.feature:12",
            "reason": failed["hosts"]["web2"]["reason"],
        }
    }
    assert statuses(ret)[8:] == ["skipped"] * 6
    assert ret["still_blocked"] == WEB
    assert probes(fresh) == dict.fromkeys(WEB, False)  # unblock never ran
    assert any(line.startswith("\u2718 Then the package version") and "web2" in line for line in progress)


def test_critical_load_check_halts_and_keeps_batch_blocked(fresh):
    code, ret, _ = scenario(fresh, "run", "nrpe_gate")
    assert code == 1, ret
    failed = step(ret, "features/nrpe_gate.feature:10")
    assert failed["status"] == "failed"
    assert {h for h, r in failed["hosts"].items() if r["status"] == "failed"} == {"web3"}
    assert "CRITICAL" in failed["hosts"]["web3"]["reason"] and "overloaded" in failed["hosts"]["web3"]["reason"]
    assert ret["failed_hosts"]["web3"]["location"] == "features/nrpe_gate.feature:10"
    assert ret["still_blocked"] == WEB
    assert probes(fresh) == dict.fromkeys(WEB, False)


def test_failure_in_batch_2_leaves_batch_3_untouched(fresh):
    code, ret, progress = scenario(fresh, "run", "rolling_update", "batch=1")
    assert code == 1, ret
    assert ret["batches"] == [["web1"], ["web2"], ["web3"]]
    update = step(ret, "features/rolling_update.feature:15")
    assert {h: r["status"] for h, r in update["hosts"].items()} == {
        "web1": "passed",
        "web2": "failed",
        "web3": "skipped",
    }
    assert ret["not_started"] == ["web3"] and ret["still_blocked"] == ["web2"]
    assert any("batch 3: not started (web3)" in line for line in progress)
    assert versions(fresh, WEB) == {"web1": "4.2.6-3", "web2": "4.2.5-1", "web3": "4.2.5-1"}
    assert probes(fresh) == {"web1": True, "web2": False, "web3": True}
