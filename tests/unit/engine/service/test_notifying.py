"""scenario_notify wired into the recorded run: what the webhooks hear, in order; the finished
notice after the reports (their paths, the held hosts); references resolved by the caller's
resolver; a dead webhook is a warning in the return and the journal, never a changed verdict."""

import functools
import json

import pytest

from saltext.scenario import config
from saltext.scenario.engine.records import journal, notify
from saltext.scenario.engine.service import notifying
from tests.unit.engine.records.test_write_ahead_and_resume import FEATURE, fleet, run

HOOK = "http://hooks.example/T000/B000/secret"


@pytest.fixture
def site(tmp_path):
    """The write-ahead tests' rolling feature (web1..web3, one host per batch)."""
    (tmp_path / "site" / "features").mkdir(parents=True)
    (tmp_path / "site" / "features" / "rolling.feature").write_text(FEATURE)
    return tmp_path / "site"


@pytest.fixture
def opts(tmp_path):
    return {"cachedir": str(tmp_path / "cache"), "scenario_lb_address": "198.51.100.10"}


@pytest.fixture
def posts(monkeypatch):
    """Every POST the run's notifier makes: (url, payload); `posts.fail` makes them raise."""
    sent = []

    def post(url, body, timeout):
        if post.fail:
            raise TimeoutError("timed out")
        sent.append((url, json.loads(body)))

    post.fail = False
    post.sent = sent
    monkeypatch.setattr(notifying, "Notifier", functools.partial(notify.Notifier, post=post, pause=lambda _s: None))
    return post


def _with_hooks(opts, url=HOOK, events=("started", "batch", "halted", "finished")):
    return {**opts, "scenario_notify": [{"url": url, "events": list(events), "format": "json"}]}


def test_the_webhook_hears_the_run_and_the_finished_notice_carries_reports_and_held_hosts(
    opts,
    site,
    tmp_path,
    posts,
):
    ret = run(_with_hooks(opts), site, fleet(broken={"web2"}), report_dir=str(tmp_path / "reports"))
    assert ret["retcode"] == 1 and not ret.get("warnings")
    kinds = [payload["event"] for _url, payload in posts.sent]
    assert kinds == ["started", "batch", "batch", "halted", "finished"]
    assert {url for url, _p in posts.sent} == {HOOK}
    assert all(payload["run_id"] == ret["run_id"] for _u, payload in posts.sent)
    final = posts.sent[-1][1]
    assert (final["state"], final["exit_code"], final["failed"], final["held"]) == ("failed", 1, ["web2"], ["web2"])
    assert final["reports"] == ret["reports"] and final["reports"]["junit_xml"].endswith(".junit.xml")
    assert final["batch"] == [2, 3]


def test_a_reference_is_resolved_by_the_callers_resolver(opts, site, posts):
    asked = []

    def resolve(reference):
        asked.append(reference)
        return HOOK

    ret = run(_with_hooks(opts, url="sdb://vault/chat", events=["finished"]), site, fleet(), resolve=resolve)
    assert ret["retcode"] == 0 and asked == ["sdb://vault/chat"]
    assert [(url, p["event"], p["state"]) for url, p in posts.sent] == [(HOOK, "finished", "passed")]


def test_a_dead_webhook_is_a_warning_in_the_return_and_the_journal_and_changes_no_verdict(
    opts,
    site,
    posts,
):
    posts.fail = True
    ret = run(_with_hooks(opts), site, fleet())
    assert ret["retcode"] == 0 and ret["result"] == "passed"
    (warning,) = ret["warnings"]
    assert "webhook 1 (http://hooks.example/…)" in warning and "'started' not delivered after 2 tries" in warning
    assert "secret" not in warning
    record, _ = journal.find(journal.journal_path(config.load(opts)), ret["run_id"])
    assert record["warnings"] == [warning] and record["retcode"] == 0


def test_an_unresolvable_reference_is_a_warning(opts, site, posts):
    ret = run(_with_hooks(opts, url="pillar:chat:url"), site, fleet())
    assert ret["retcode"] == 0 and posts.sent == []
    assert ret["warnings"] == ["webhook 1 (pillar:…): no resolver for its URL reference; not notified"]


def test_no_webhooks_no_listener(opts):
    from saltext.scenario import config

    assert notifying.notice_for(config.load(opts), None) is None
