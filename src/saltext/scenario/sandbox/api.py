"""`api: true`: salt-api (rest_cherrypy) in master 1's namespace, with `file` eauth test users.

It listens on master 1's address, port 8000, without TLS (the namespace is private), and
enables the runner_async, runner and local clients. Two users, passwords random per sandbox
and kept in <state>/api/users.txt (`user:password` lines, the file eauth's text format):

- deployer: `@runner: ['scenario\\..*']` and `@jobs`, what a CI pipeline needs;
- watcher: `@runner: ['scenario\\.status']` only, to show a refusal.
"""

import os
import secrets
import sys
from pathlib import Path

from .errors import SandboxError
from .master import root_of
from .services import Service
from .spec import MASTER_ADDRESS

PORT = 8000
USERS = {
    "deployer": [{"@runner": [r"scenario\..*"]}, "@jobs"],
    "watcher": [{"@runner": [r"scenario\.status"]}],
}


class Api(Service):
    name = "api"
    kind = "ma"  # master 1's namespace
    own_netns = False
    after_masters = True
    address = MASTER_ADDRESS
    port = PORT
    health_path = "/"

    @property
    def users_file(self):
        return self.root / "users.txt"

    def write_files(self):
        super().write_files()
        lines = [f"{user}:{secrets.token_urlsafe(18)}" for user in USERS]
        fd = os.open(self.users_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as users:
            users.write("\n".join(lines) + "\n")

    def users(self):
        """{user: password} of the test users."""
        try:
            text = self.users_file.read_text()
        except OSError as exc:
            raise SandboxError(f"salt-api users file {self.users_file}: {exc.strerror}") from exc
        return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)

    def argv(self):
        return [str(Path(sys.executable).with_name("salt-api")), "-c", str(root_of(self.root.parent, 1) / "conf")]

    def master_config(self):
        """Master 1's options for salt-api (salt-api reads the master's config)."""
        return {
            "rest_cherrypy": {"host": self.address, "port": self.port, "disable_ssl": True},
            "netapi_enable_clients": ["runner_async", "runner", "local"],
            "external_auth": {"file": {"^filename": str(self.users_file), "^filetype": "text", **USERS}},
        }
