"""records/notify.py: webhooks hear the run's events; a dead one costs at most timeout x tries,
never a verdict; secrets in URLs are never shown. Against a loopback receiver (ephemeral port)."""

import json

import pytest

from saltext.scenario import config
from saltext.scenario.engine.records.notify import TRIES, Notifier, Webhook, webhooks
from tests.support.http_receiver import Receiver, closed_port, elapsed, silent_port

RUN = "20261204180000-1a2b3c4d"


def _events(retcode=0, failed=None, reports=None):
    failed = failed or []
    yield {
        "event": "run_started",
        "run_id": RUN,
        "name": "update_website",
        "feature": "Update the website",
        "pinned": ["web1", "web2", "web3"],
        "batches": [["web1"], ["web2", "web3"]],
    }
    yield {"event": "batch_started", "run_id": RUN, "batch": 0, "count": 2, "hosts": ["web1"]}
    yield {
        "event": "step_finished",
        "run_id": RUN,
        "batch": 0,
        "keyword": "Then",
        "text": 'the metric "x" should stay below 0.05 for 20 seconds',
        "location": "features/canary.feature:12",
        "failed": failed,
        "results": {h: {"ok": False, "reason": "0.31 is not below 0.05 (check 3 of 10)"} for h in failed},
    }
    yield {
        "event": "approval_wanted",
        "run_id": RUN,
        "batch": 0,
        "hosts": ["web1"],
        "timeout": 3600,
        "approve": f"salt-run scenario.approve {RUN}",
        "abort": f"salt-run scenario.abort {RUN} reason='...'",
    }
    if failed:
        yield {"event": "batch_skipped", "run_id": RUN, "batch": 1, "hosts": ["web2", "web3"], "reason": "halted"}
    else:
        yield {"event": "batch_started", "run_id": RUN, "batch": 1, "count": 2, "hosts": ["web2", "web3"]}
    yield {
        "event": "run_finished",
        "run_id": RUN,
        "retcode": retcode,
        "still_blocked": failed,
        "reports": reports or {},
    }


def _hook(url, events=("started", "batch", "approval", "halted", "finished"), fmt="json", number=1):
    return Webhook(number, url, tuple(events), fmt)


def test_json_payloads_for_every_kind():
    with Receiver() as rx:
        notifier = Notifier([_hook(rx.url + "/hook")], timeout=2)
        for event in _events(reports={"junit_xml": "/srv/reports/update_website.junit.xml"}):
            notifier(event)
    kinds = [r.json()["event"] for r in rx.requests]
    assert kinds == ["started", "batch", "approval", "batch", "finished"]
    started, batch, approval, batch2, finished = (r.json() for r in rx.requests)
    assert all(r.headers["Content-Type"] == "application/json" and r.path == "/hook" for r in rx.requests)
    assert started["run_id"] == RUN and started["state"] == "running" and started["feature"] == "Update the website"
    assert batch["batch"] == [1, 2] and batch["hosts"] == ["web1"]
    assert approval["approve"] == f"salt-run scenario.approve {RUN}" and approval["timeout"] == 3600
    assert batch2["batch"] == [2, 2]
    assert finished["state"] == "passed" and finished["exit_code"] == 0
    assert finished["failed"] == [] and finished["held"] == []
    assert finished["reports"] == {"junit_xml": "/srv/reports/update_website.junit.xml"}
    assert notifier.warnings == []


def test_halted_is_sent_once_at_the_first_sign_and_names_the_failure():
    with Receiver() as rx:
        notifier = Notifier([_hook(rx.url, fmt="slack", events=("halted", "finished"))])
        for event in _events(retcode=1, failed=["web1"]):
            notifier(event)
    texts = [r.json()["text"] for r in rx.requests]
    assert len(texts) == 2
    assert texts[0] == (
        f'update_website (run {RUN}): halted at batch 1/2; web1 failed at Then the metric "x" should stay '
        "below 0.05 for 20 seconds (features/canary.feature:12): web1: 0.31 is not below 0.05 (check 3 of 10)"
    )
    assert texts[1].startswith(f"update_website (run {RUN}): failed (exit 1); web1 failed at")
    assert texts[1].endswith("; still held: web1")
    assert set(rx.requests[0].json()) == {"text"}


def test_only_the_events_asked_for():
    with Receiver() as rx:
        notifier = Notifier([_hook(rx.url, events=("approval",))])
        for event in _events():
            notifier(event)
    assert [r.json()["event"] for r in rx.requests] == ["approval"]


def test_slack_text_escapes_what_slack_would_read_as_markup():
    with Receiver() as rx:
        notifier = Notifier([_hook(rx.url, fmt="slack", events=("batch",))])
        notifier({"event": "run_started", "run_id": RUN, "name": "n", "pinned": [], "batches": []})
        notifier({"event": "batch_started", "run_id": RUN, "batch": 0, "count": 1, "hosts": ["<!channel>&x"]})
    assert rx.requests[0].json()["text"].endswith("&lt;!channel&gt;&amp;x")


def test_a_failing_receiver_is_retried_then_a_warning():
    with Receiver(lambda req: (500, {}, b"no")) as rx:
        notifier = Notifier([_hook(rx.url + "/T000/B000/XXXX?token=abc")], timeout=2, pause=lambda s: None)
        for event in _events():
            notifier(event)
    # started: TRIES tries, then the webhook is given up on for the rest of the run.
    assert len(rx.requests) == TRIES
    assert notifier.warnings == [
        f"webhook 1 (http://127.0.0.1:{rx.port}/…): 'started' not delivered after 2 tries (HTTP 500); "
        "no more notifications to it in this run"
    ]


def test_a_receiver_that_recovers_on_the_second_try():
    answers = iter([(503, {}, b""), (200, {}, b"ok")])
    with Receiver(lambda req: next(answers, (200, {}, b"ok"))) as rx:
        notifier = Notifier([_hook(rx.url, events=("started",))], pause=lambda s: None)
        notifier(next(_events()))
    assert len(rx.requests) == 2 and notifier.warnings == [] and notifier.sent == [(1, "started")]


@pytest.mark.parametrize("dead", ["refused", "silent"])
def test_a_dead_receiver_costs_at_most_timeout_times_tries(dead):
    timeout = 0.5
    if dead == "refused":
        port, close = closed_port(), lambda: None
    else:
        port, close = silent_port()
    try:
        notifier = Notifier([_hook(f"http://127.0.0.1:{port}/")], timeout=timeout)
        _, took = elapsed(lambda: [notifier(e) for e in _events(retcode=1, failed=["web1"])])
    finally:
        close()
    assert took <= timeout * TRIES + 0.2 * (TRIES - 1) + 0.5, took
    assert len(notifier.warnings) == 1 and "not delivered" in notifier.warnings[0]


def test_references_are_resolved_once_by_the_callable_and_never_shown():
    asked = []
    with Receiver() as rx:

        def resolve(ref):
            asked.append(ref)
            return rx.url + "/secret-path"

        notifier = Notifier([_hook("sdb://vault/chat", events=("started", "finished"))], resolve=resolve)
        for event in _events():
            notifier(event)
    assert asked == ["sdb://vault/chat"]
    assert [r.path for r in rx.requests] == ["/secret-path", "/secret-path"]


def test_a_reference_that_does_not_resolve_is_a_warning():
    def boom(ref):
        raise KeyError("vault/chat")

    notifier = Notifier([_hook("sdb://vault/chat"), _hook("pillar:notify:url", number=2)], resolve=boom)
    for event in _events():
        notifier(event)
    assert notifier.warnings == [
        "webhook 1 (sdb:…): its URL could not be resolved (KeyError); not notified",
        "webhook 2 (pillar:…): its URL could not be resolved (KeyError); not notified",
    ]
    assert Notifier([_hook("sdb://x/y")], resolve=lambda r: "ftp://x")._url(_hook("sdb://x/y")) is None


def test_a_broken_post_function_never_raises_into_the_run():
    def post(url, body, timeout):
        raise RuntimeError("anything")

    notifier = Notifier([_hook("http://127.0.0.1:1/")], post=post, pause=lambda s: None)
    for event in _events():
        notifier(event)  # no exception
    assert len(notifier.warnings) == 1 and "RuntimeError" in notifier.warnings[0]


def test_the_option_is_checked_naming_the_bad_entry_never_its_url():
    hooks = webhooks(
        [
            {"url": "https://hooks.slack.com/services/T/B/X", "events": ["started", "halted"], "format": "slack"},
            {"url": "sdb://vault/ci_hook"},
        ]
    )
    assert hooks[0].kinds == ("started", "halted") and hooks[1].format == "json"
    assert hooks[1].kinds == ("started", "batch", "approval", "halted", "finished")
    assert "services" not in repr(hooks) and "ci_hook" not in repr(hooks)
    bad = [
        (
            {"url": "https://x.example/T/B/SECRET", "events": ["halt"]},
            "webhook 2 (https://x.example/…): unknown event 'halt'",
        ),
        ({"url": "https://x.example/SECRET", "format": "teams"}, "format must be slack or json"),
        ({"url": "ftp://x.example/SECRET"}, "webhook 2: url must be"),
        ({"url": "https://x.example/SECRET", "events": []}, "events must be a non-empty list"),
        ({"url": "https://x.example/SECRET", "colour": "red"}, "unknown key 'colour'"),
        ("https://x.example/SECRET", "webhook 2 must be a mapping"),
    ]
    for entry, why in bad:
        with pytest.raises(config.InvalidOption) as err:
            config.load({"scenario_notify": [{"url": "https://ok.example/"}, entry]})
        assert why in str(err.value) and "SECRET" not in str(err.value), str(err.value)


def test_secret_options_never_appear_in_errors_or_reprs():
    settings = config.load(
        {
            "scenario_prometheus_url": "https://prom.example:9090",
            "scenario_prometheus_token": "tok-SECRET",
            "scenario_prometheus_password": "pw-SECRET",
            "scenario_notify": [{"url": "https://hooks.example/T/B/SECRET"}],
        }
    )
    assert settings.prometheus_token == "tok-SECRET" and settings.notify_timeout == 3
    assert settings.prometheus_timeout == 5
    assert "SECRET" not in repr(settings)
    with pytest.raises(config.InvalidOption) as err:
        config.load({"scenario_prometheus_url": "prom.example/SECRET"})
    assert "SECRET" not in str(err.value) and "scenario_prometheus_url" in str(err.value)
    assert json.dumps(webhooks([{"url": "https://a.example/"}])[0].kinds)
