"""A host's web service: GET / answers with the installed version of the app.

Standalone (stdlib only) because it is started as a script inside the host's namespaces:
    python -I web.py --address 198.51.100.11 --port 80 --package mywebapp
The version is read on every request, so an upgrade shows at once.
"""
import argparse
import http.server
import socket
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


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--address", required=True)
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--package", required=True)
    args = parser.parse_args()
    server_class = http.server.ThreadingHTTPServer
    if ":" in args.address:
        server_class.address_family = socket.AF_INET6
    server = server_class((args.address, args.port), make_handler(args.package))
    server.serve_forever()


if __name__ == "__main__":
    main()
