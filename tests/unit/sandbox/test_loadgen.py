"""The load generator against a throwaway HTTP server on an ephemeral loopback port."""

import http.server
import socket
import threading

import pytest

from saltext.scenario.sandbox import loadgen


@pytest.fixture
def server():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.server.paths.append(self.path)
            body = b"mywebapp 1.0\n"
            self.send_response(200 if self.server.healthy else 503)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.healthy = True
    httpd.paths = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_sends_rate_times_seconds_and_counts_versions(server):
    summary = loadgen.generate("127.0.0.1", server.server_address[1], rate=50, seconds=0.2, timeout=5)
    assert (summary["sent"], summary["ok"], summary["failed"]) == (10, 10, 0)
    assert summary["versions"] == {"mywebapp 1.0": 10}
    assert summary["latency"]["max"] >= summary["latency"]["p50"] >= 0


def test_non_200_answers_and_refused_connections_are_failures(server):
    server.healthy = False
    summary = loadgen.generate("127.0.0.1", server.server_address[1], rate=50, seconds=0.1, timeout=5)
    assert summary["failed"] == 5 and summary["failures"] == {"status 503": 5}
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]  # bound, not listening: connections are refused
        summary = loadgen.generate("127.0.0.1", closed, rate=50, seconds=0.1, timeout=5)
    assert summary["failures"] == {"ConnectionRefusedError": 5} and summary["latency"] is None


@pytest.mark.parametrize(
    "rate,seconds,timeout,word",
    [(0, 1, 1, "--rate"), (5000, 1, 1, "--rate"), (1, 0, 1, "--seconds"), (1, 1, 0, "--timeout")],
)
def test_bounds(rate, seconds, timeout, word):
    assert word in loadgen.check_bounds(rate, seconds, timeout)
    assert loadgen.check_bounds(20, 60, 30) is None


def test_every_kth_request_is_a_slow_one(server):
    summary = loadgen.generate("127.0.0.1", server.server_address[1], rate=50, seconds=0.2, timeout=5, slow_every=5)
    assert summary["ok"] == 10 and summary["slow_every"] == 5
    assert sorted(server.paths) == ["/"] * 8 + ["/slow"] * 2
    assert "--slow-every" in loadgen.check_bounds(1, 1, 1, -1)


def test_a_stop_ends_the_stream_early_and_the_summary_counts_what_was_sent(server):
    sent = []

    def stopped():
        sent.append(1)
        return len(sent) > 4  # asked before each request: the 5th is never sent

    summary = loadgen.generate("127.0.0.1", server.server_address[1], rate=50, seconds=10, timeout=5, stopped=stopped)
    assert (summary["sent"], summary["ok"], summary["failed"]) == (4, 4, 0)
    assert "unanswered" not in summary["failures"]
