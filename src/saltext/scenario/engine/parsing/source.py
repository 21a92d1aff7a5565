"""Feature files from a plain directory (tests, bench), and the size limit every source applies.

A source offers read(path) -> bytes and list(prefix) -> [paths], paths relative to the root
(``ports.FeatureSource``); the master's Salt fileserver source is in ``adapters.py``.
"""

from __future__ import annotations

import os

from ..errors import InvalidScenario
from .names import MAX_FEATURE_BYTES


def read_limited(local: str, path: str, limit: int) -> bytes:
    """The file's bytes, or InvalidScenario when it is over `limit` bytes (named by `path`)."""
    size = os.path.getsize(local)
    if size > limit:
        raise InvalidScenario(f"file is too large ({size} bytes, limit {limit})", path)
    with open(local, "rb") as fh:
        return fh.read(limit + 1)


class DirSource:
    def __init__(self, root: str | os.PathLike[str], limit: int = MAX_FEATURE_BYTES) -> None:
        self.root = os.path.realpath(root)
        self.limit = limit

    def _local(self, path: str) -> str:
        local = os.path.realpath(os.path.join(self.root, path))
        if not local.startswith(self.root + os.sep):
            raise InvalidScenario("path leaves the file root", path)
        return local

    def read(self, path: str) -> bytes:
        local = self._local(path)
        if not os.path.isfile(local):
            raise InvalidScenario("no such file", path)
        return read_limited(local, path, self.limit)

    def list(self, prefix: str) -> list[str]:
        base = self._local(prefix.rstrip("/") or ".") if prefix.strip("/") else self.root
        out = []
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                out.append(os.path.relpath(os.path.join(dirpath, name), self.root))
        return sorted(out)

    def close(self) -> None:
        pass
