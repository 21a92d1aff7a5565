"""A loopback HTTP server for tests: an ephemeral port, a thread, a bounded life.

``with Receiver(respond) as rx:`` serves ``respond(request) -> (status, headers, body)``
(body bytes or a JSON-able value) on ``rx.url`` and records every request in ``rx.requests``.
It stops when the block ends, and by itself after ``lifetime`` seconds at the latest.
"""

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Request:
    method: str
    path: str
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Receiver:
    respond: object = None  # callable(Request) -> (status, headers, body); default 200 {}
    lifetime: float = 60.0
    tls: tuple = None  # (cert file, key file): serve https
    requests: list = field(default_factory=list)

    def __enter__(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                req = Request(self.command, self.path, dict(self.headers), self.rfile.read(length))
                receiver.requests.append(req)
                status, headers, body = receiver.respond(req) if receiver.respond else (200, {}, {})
                if not isinstance(body, bytes):
                    body = json.dumps(body).encode()
                    headers = {"Content-Type": "application/json", **headers}
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _serve

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        if self.tls:
            import ssl

            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.url = f"https://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.timer = threading.Timer(self.lifetime, self.server.shutdown)
        self.timer.daemon = True
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self.timer.cancel()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def silent_port():
    """A loopback port that accepts connections and never answers (a black hole), and its closer."""
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    return sock.getsockname()[1], sock.close


def closed_port():
    """A loopback port nobody listens on (connection refused)."""
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def elapsed(fn):
    start = time.monotonic()
    value = fn()
    return value, time.monotonic() - start
