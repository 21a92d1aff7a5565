"""prometheus.py: answers, errors and secrets, against a loopback fake (the real one is functional)."""

import base64
import json

import pytest

from saltext.scenario.engine.gates.prometheus import (
    Inconclusive,
    Observed,
    PrometheusClient,
    Rejected,
    SeveralSeries,
    parse_answer,
)
from tests.support.http_receiver import Receiver, closed_port, elapsed, silent_port


def _vector(*series):
    return {"status": "success", "data": {"resultType": "vector", "result": list(series)}}


def _series(value, **labels):
    return {"metric": labels, "value": [1700000000.1, value]}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (_vector(_series("0.02")), Observed(0.02)),
        (_vector(_series("0.3", job="web")), Observed(0.3, {"job": "web"})),
        ({"status": "success", "data": {"resultType": "scalar", "result": [1.0, "7"]}}, Observed(7.0)),
        (_vector(_series("+Inf")), Observed(float("inf"))),
    ],
)
def test_one_number(body, expected):
    assert parse_answer(json.dumps(body).encode()) == expected


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (_vector(), "empty"),
        (_vector(_series("NaN")), "nan"),
        ({"status": "success", "data": {"resultType": "scalar", "result": [1.0, "NaN"]}}, "nan"),
        ({"status": "success", "data": {"resultType": "string", "result": [1.0, "x"]}}, "malformed"),
        ({"status": "success"}, "malformed"),
    ],
)
def test_inconclusive_answers(body, kind):
    answer = parse_answer(json.dumps(body).encode())
    assert isinstance(answer, Inconclusive) and answer.kind == kind


def test_not_json_is_inconclusive():
    assert parse_answer(b"<html>").kind == "malformed"


def test_several_series_are_named():
    answer = parse_answer(json.dumps(_vector(*[_series("1", instance=f"web{i}") for i in range(5)])).encode())
    assert isinstance(answer, SeveralSeries)
    assert answer.reason.startswith(
        'the query returned 5 series ({instance="web0"}, {instance="web1"}, {instance="web2"} and 2 more)'
    )


def test_a_range_vector_is_rejected():
    body = {"status": "success", "data": {"resultType": "matrix", "result": []}}
    assert isinstance(parse_answer(json.dumps(body).encode()), Rejected)


def _answer_with(status, body):
    return lambda req: (status, {}, body)


def test_bad_query_is_rejected_with_prometheus_text():
    error = {"status": "error", "errorType": "bad_data", "error": 'invalid parameter "query": 1:5: parse error'}
    with Receiver(_answer_with(400, error)) as rx:
        answer = PrometheusClient(rx.url, timeout=2).query("sum(")
    assert answer == Rejected('bad_data: invalid parameter "query": 1:5: parse error')
    assert rx.requests[0].path == "/api/v1/query"
    form = dict(p.split("=", 1) for p in rx.requests[0].body.decode().split("&"))
    assert form["query"] == "sum%28" and form["timeout"] == "2s"


def test_bearer_token_is_sent_and_never_shown():
    with Receiver(_answer_with(401, b"Unauthorized")) as rx:
        client = PrometheusClient(rx.url + "/prom", timeout=2, token="s3cr3t-token")
        answer = client.query("up")
    assert rx.requests[0].headers["Authorization"] == "Bearer s3cr3t-token"
    assert rx.requests[0].path == "/prom/api/v1/query"
    assert isinstance(answer, Inconclusive) and answer.kind == "http" and "HTTP 401" in answer.reason
    for shown in (answer.reason, repr(client), str(client)):
        assert "s3cr3t" not in shown and "/prom" not in shown


def test_basic_auth():
    with Receiver(_answer_with(200, _vector(_series("1")))) as rx:
        client = PrometheusClient(rx.url, user="ci", password="pa55word")
        assert client.query("up") == Observed(1.0)
    assert rx.requests[0].headers["Authorization"] == "Basic " + base64.b64encode(b"ci:pa55word").decode()
    assert "pa55word" not in repr(client)


def test_redirects_are_not_followed():
    with Receiver(_answer_with(302, b"")) as rx:
        answer = PrometheusClient(rx.url, token="t0k").query("up")
    assert isinstance(answer, Inconclusive) and "HTTP 302" in answer.reason and len(rx.requests) == 1


def test_server_error_is_inconclusive():
    with Receiver(_answer_with(503, {"status": "error", "errorType": "timeout", "error": "query timed out"})) as rx:
        answer = PrometheusClient(rx.url).query("up")
    assert isinstance(answer, Inconclusive) and answer.reason.endswith(
        "HTTP 503 Service Unavailable: timeout: query timed out"
    )


def test_unreachable_and_timeout_are_inconclusive_and_bounded():
    answer = PrometheusClient(f"http://127.0.0.1:{closed_port()}").query("up")
    assert isinstance(answer, Inconclusive) and answer.kind == "unreachable"
    port, close = silent_port()
    try:
        answer, took = elapsed(lambda: PrometheusClient(f"http://127.0.0.1:{port}", timeout=0.5).query("up"))
    finally:
        close()
    assert isinstance(answer, Inconclusive) and answer.kind == "timeout", answer
    assert took < 2.0


def test_userinfo_and_query_in_the_url_are_never_shown():
    client = PrometheusClient(f"http://user:pw@127.0.0.1:{closed_port()}/x?token=abc")
    answer = client.query("up")
    assert "pw" not in answer.reason and "abc" not in answer.reason and "user" not in answer.reason
    assert "pw" not in repr(client)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"url": "ftp://x/"},
        {"url": "http://x/", "token": "t", "user": "u", "password": "p"},
        {"url": "http://x/", "user": "u"},
        {"url": "http://x/", "timeout": 0},
    ],
)
def test_bad_client_settings(kwargs):
    with pytest.raises(ValueError):
        PrometheusClient(**kwargs)


def test_https_with_a_ca_file(tmp_path):
    """The server's certificate is checked against scenario_prometheus_ca; without it, refused."""
    import subprocess

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    with Receiver(_answer_with(200, _vector(_series("0.02"))), tls=(str(cert), str(key))) as rx:
        assert PrometheusClient(rx.url, ca_file=str(cert)).query("up") == Observed(0.02)
        refused = PrometheusClient(rx.url).query("up")
    assert isinstance(refused, Inconclusive) and refused.kind == "unreachable"
    assert "certificate" in refused.reason.lower()
