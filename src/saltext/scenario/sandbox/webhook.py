"""A bounded webhook receiver: `scenario-sandbox webhook` runs this inside a sandbox namespace.

Standalone (stdlib only), because it runs as a script in its own network namespace:
    python -I webhook.py --address 198.51.100.7 --port 8080 --seconds 60 --out /tmp/hooks.jsonl
It records every POST as one JSON line in --out: {"time", "path", "headers", "json"} (the body
parsed as JSON, or null with the raw text in "body" when it is not JSON), answers 200, answers
GET /health with 200, and ends by itself after --seconds.
"""

import argparse
import http.server
import json
import threading
import time
from pathlib import Path

SCRIPT = Path(__file__)
PORT = 8080
MAX_SECONDS = 3600
MAX_BODY = 1 << 20


def make_handler(out, lock):
    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "scenario-sandbox-webhook/1"

        def _answer(self, status, text):
            body = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            self._answer(200 if self.path == "/health" else 404, "webhook receiver\n")

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._answer(413, "too large\n")
                return
            raw = self.rfile.read(length).decode("utf-8", "replace")
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = None
            entry = {"time": time.time(), "path": self.path, "headers": dict(self.headers.items()), "json": parsed}
            if parsed is None:
                entry["body"] = raw
            with lock, open(out, "a", encoding="utf-8") as sink:
                sink.write(json.dumps(entry) + "\n")
            self._answer(200, "ok\n")

        def log_message(self, *args):
            pass

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--address", required=True)
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    if not 0 < args.seconds <= MAX_SECONDS:
        parser.error(f"--seconds must be more than 0 and at most {MAX_SECONDS}")
    server = http.server.ThreadingHTTPServer((args.address, args.port), make_handler(args.out, threading.Lock()))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    time.sleep(args.seconds)  # the receiver's lifetime, not a wait for a condition
    server.shutdown()
    server.server_close()


if __name__ == "__main__":
    main()
