"""Where feature files come from: the Salt fileserver (master side) or a plain directory (tests).

Both offer read(path) -> bytes and list(prefix) -> [paths], paths relative to the root.
"""

import os

from ..errors import InvalidScenario
from .names import MAX_FEATURE_BYTES


def _read_limited(local, path, limit):
    size = os.path.getsize(local)
    if size > limit:
        raise InvalidScenario(f"file is too large ({size} bytes, limit {limit})", path)
    with open(local, "rb") as fh:
        return fh.read(limit + 1)


class DirSource:
    def __init__(self, root, limit=MAX_FEATURE_BYTES):
        self.root = os.path.realpath(root)
        self.limit = limit

    def _local(self, path):
        local = os.path.realpath(os.path.join(self.root, path))
        if not local.startswith(self.root + os.sep):
            raise InvalidScenario("path leaves the file root", path)
        return local

    def read(self, path):
        local = self._local(path)
        if not os.path.isfile(local):
            raise InvalidScenario("no such file", path)
        return _read_limited(local, path, self.limit)

    def list(self, prefix):
        base = self._local(prefix.rstrip("/") or ".") if prefix.strip("/") else self.root
        out = []
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                out.append(os.path.relpath(os.path.join(dirpath, name), self.root))
        return sorted(out)

    def close(self):
        pass


class FileserverSource:
    """salt://<path> in one saltenv through the master's own fileserver (no minion involved)."""

    def __init__(self, opts, saltenv="base", limit=MAX_FEATURE_BYTES):
        import salt.fileclient

        self.client = salt.fileclient.FSClient(opts)
        self.saltenv = saltenv
        self.limit = limit

    def read(self, path):
        local = self.client.cache_file(f"salt://{path}", self.saltenv)
        if not local or not os.path.isfile(local):
            raise InvalidScenario(f"not found in the fileserver (saltenv {self.saltenv})", f"salt://{path}")
        return _read_limited(local, path, self.limit)

    def list(self, prefix):
        return sorted(p for p in self.client.file_list(self.saltenv, prefix=prefix) if p.startswith(prefix))

    def close(self):
        destroy = getattr(self.client, "destroy", None)
        if destroy:
            destroy()
