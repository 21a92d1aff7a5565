"""What a person sees of a run on a real 5-host sandbox: the text `salt-run scenario.run` prints
(each step once, then the outcome), and the HTML report as headless Chromium renders it.

One sandbox for the module: web1..web5, all targeted by update_website. The failing runs break
web2's NRPE load check for the length of one test (its nrpe.cfg), so the same sandbox also gives
the passing run; every test puts the fleet back as it found it.
"""

import os
import re
import shutil
from pathlib import Path

import pytest

from saltext.scenario.testing import chromium
from tests.support.html_grid import FAILED_CELL_RGB, counts, deploy_cells, expected_cells, read_grid
from tests.support.png_pixels import count_colour
from tests.support.scenario_cli import FILES, overloaded, probes, reset, scenario, step

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

HOSTS = [f"web{i}" for i in range(1, 6)]
LOAD_CHECK = "features/update_website.feature:16"


def _spec():
    host = {"grains": {"roles": ["dev_server"], "country": "de"}, "packages": {"mywebapp": "4.2.5-1"}}
    return {"lb": "198.51.100.10", "repo": {"mywebapp": ["4.2.5-1", "4.2.6-3"]}, "hosts": dict.fromkeys(HOSTS, host)}


@pytest.fixture(scope="module")
def sb(make_sandbox):
    return make_sandbox(_spec(), f"look{os.getpid() % 100000}", file_roots=[str(FILES)])


@pytest.fixture(scope="module")
def steps(sb):
    """The feature's steps as the engine reads them (keyword, text, location)."""
    code, ret, _ = scenario(sb, "validate", "update_website")
    assert code == 0, ret
    return ret["scenarios"][0]["steps"]


@pytest.fixture
def fresh(sb):
    reset(sb, HOSTS)
    yield sb
    reset(sb, HOSTS)


@pytest.fixture
def web2_overloaded(fresh):
    with overloaded(fresh, "web2"):
        yield fresh


def _human_run(sb, *args):
    """(exit code, stdout, stderr) of `salt-run scenario.run update_website ARGS` with its default output."""
    proc = sb.salt_run("scenario.run", "update_website", *args, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def test_passing_run_prints_each_step_once(fresh, steps):
    code, out, err = _human_run(fresh)
    assert code == 0, f"{out[-3000:]}\n{err[-3000:]}"
    for st in steps:
        assert out.count(f"{st['keyword']} {st['text']}") == 1, f"{st['keyword']} {st['text']}:\n{out}"
    assert "Feature:" not in out and "Scenario:" not in out  # the tree is not printed again
    lines = out.rstrip().splitlines()
    assert lines[-1].startswith("1 scenario (1 passed), 14 steps (14 passed), 5 hosts, ")
    run_id = re.search(r"salt-run scenario\.show (\S+) shows every step and host", out).group(1)
    # The whole tree is one command away, from the journal.
    shown = fresh.salt_run("scenario.show", run_id, timeout=120)
    assert shown.returncode == 0 and f"  run: {run_id}" in shown.stdout
    assert "    \u2714 When I block the load balancer  # features/update_website.feature:9" in shown.stdout
    assert "        passed: web1, web2, web3, web4, web5" in shown.stdout
    assert probes(fresh, HOSTS) == dict.fromkeys(HOSTS, True)


def test_failing_run_prints_the_failed_host_once_more_in_the_failure_section(web2_overloaded, steps):
    code, out, err = _human_run(web2_overloaded)
    assert code == 1, f"{out[-3000:]}\n{err[-3000:]}"
    failed_step = "Then the NRPE check check_load should pass"
    for st in steps:
        title = f"{st['keyword']} {st['text']}"
        assert out.count(title) == (2 if title == failed_step else 1), f"{title}:\n{out}"
    lines = out.splitlines()
    with_reason = [i for i, line in enumerate(lines) if "web2" in line and "overloaded" in line]
    assert len(with_reason) == 2, out
    progress, failure = (lines[i] for i in with_reason)
    assert progress.startswith(f"\u2718 {failed_step}  # {LOAD_CHECK}  4 passed, 1 failed")
    assert failure.startswith(f"  web2: {failed_step}  # {LOAD_CHECK}: CRITICAL")
    assert lines[with_reason[1] - 1] == "Failed hosts:"
    assert "Still blocked at the load balancer: web1, web2, web3, web4, web5" in lines
    assert lines[-1].startswith("1 scenario (1 failed), 14 steps (11 passed, 1 failed, 2 skipped), 5 hosts")


def _artifacts(*paths):
    target = os.environ.get("SCENARIO_ARTIFACTS")
    if target:
        os.makedirs(target, exist_ok=True)
        for path in paths:
            shutil.copy(path, target)


def test_html_report_of_a_failing_run_in_chromium(web2_overloaded, tmp_path):
    assert chromium.executable(), "chromium is not installed: `make test` (make sysdeps) installs the Debian package"
    code, ret, _ = scenario(web2_overloaded, "run", "update_website", f"report_dir={tmp_path / 'reports'}")
    assert code == 1, ret
    page = Path(ret["reports"]["html"])
    assert page == tmp_path / "reports" / f"update_website-{ret['run_id']}.html"
    expected = expected_cells(ret)
    assert counts(expected) == {"passed": 5 * 7 + 4, "failed": 1, "interrupted": 0, "skipped": 5 * 2}

    # The DOM after the page's script ran: every cell where the return puts it, and the page's own tally.
    grid = read_grid(chromium.dump_dom(page))
    assert grid.body.get("data-ready") == "1"
    cells = deploy_cells(grid)
    assert cells == expected
    assert [k for k, v in cells.items() if v == "failed"] == [("web2", LOAD_CHECK)]
    # The page counts every status it knows, and so does counts(): the ones this run has none of read 0.
    assert grid.tally == {s: str(n) for s, n in counts(expected).items()}
    load = step(ret, LOAD_CHECK)
    reason = load["hosts"]["web2"]["reason"]
    (failed,) = [c for c in grid.cells if c.status == "failed"]
    assert failed.reason == reason and failed.title == f"web2: failed: {reason}\njid {', '.join(load['jids'])}"
    assert grid.groups[0].rows[0] == "web2"  # failed rows first

    # Following the summary's link to web2 opens the panel on its failed cell.
    row = re.search(r'<a href="#(h\d+)">web2</a>', page.read_text(encoding="utf-8")).group(1)
    panel = read_grid(chromium.dump_dom(page, fragment=row)).panel
    assert panel["hidden"] is False
    assert (panel["host"], panel["status"], panel["reason"], panel["location"]) == (
        "web2",
        "failed",
        reason,
        LOAD_CHECK,
    )
    assert panel["step"] == "Then the NRPE check check_load should pass" and panel["jids"] == ", ".join(load["jids"])

    # The picture: the failed cell is on screen.
    png = chromium.screenshot(page, tmp_path / "failing-5-hosts.png", width=1400, height=1000)
    _artifacts(png, page)
    assert count_colour(png, FAILED_CELL_RGB) >= 200, f"no failed cell in {png}"
