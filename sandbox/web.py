"""A host's web service: GET / answers with the installed version of the app.

Standalone (stdlib only) because it is started as a script inside the host's namespaces:
    python -I web.py --address 198.51.100.11 [--address 2001:db8:100::11] --port 80 --package mywebapp
The version is read on every request, so an upgrade shows at once.
"""
import argparse
import http.server
import socket
import threading
from pathlib import Path


def installed_version(package):
    try:
        return Path("/opt", package, "VERSION").read_text(encoding="utf-8").strip()
    except OSError:
        return None


def make_handler(package):
    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "scenario-sandbox-web/1"

        def do_GET(self):  # noqa: N802 - http.server naming
            if self.path not in ("/", "/version"):
                self.send_error(404)
                return
            version = installed_version(package)
            body = f"{package} {version or 'not installed'}\n".encode()
            self.send_response(200 if version else 503)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # quiet: probes would flood the log
            pass

    return Handler


class Server6(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--address", action="append", required=True, help="repeatable; IPv4 or IPv6")
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--package", required=True)
    args = parser.parse_args()
    handler = make_handler(args.package)
    servers = [
        (Server6 if ":" in address else http.server.ThreadingHTTPServer)((address, args.port), handler)
        for address in args.address
    ]
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    servers[0].serve_forever()


if __name__ == "__main__":
    main()
