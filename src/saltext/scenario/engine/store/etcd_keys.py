"""The etcd fleet store's keys under its prefix, and transaction operations as the gateway's JSON.

    <prefix>runs/<run_id>      a run's registration and live status: no lease
    <prefix>alive/<run_id>     with the run's lease: gone within the TTL once the run or its
                               master dies, so a registration without it is an interrupted run
    <prefix>claims/<host>      a run's claim (its run id), with the run's lease
    <prefix>holds/<host>       a hold: no lease, it outlives the run
    <prefix>answers/<run_id>   an approval or abort
    <prefix>finished/<run_id>  a finished run's last word
    <prefix>probe/<master>     when this master last checked that etcd is writable

Host names are quoted into keys (minion ids are untrusted text). Keys and values are bytes,
base64-encoded here (etcd3gw encodes text as Latin-1). The transactions are written as JSON
because the store needs multi-key compares that etcd3gw's helpers do not offer.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote, unquote

from ..errors import InvalidScenario


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


def range_end(prefix: bytes) -> bytes:
    """The first key after every key starting with `prefix`."""
    return prefix[:-1] + bytes([prefix[-1] + 1])


def kvs_of(response: dict[str, Any]) -> list[dict[str, Any]]:
    """The key-values of a range response (inside a transaction or not)."""
    inner = response.get("response_range", response)
    kvs = inner.get("kvs") or []
    return [kv for kv in kvs if isinstance(kv, dict)]


class Keys:
    def __init__(self, prefix: str) -> None:
        if not prefix.startswith("/") or any(ord(c) < 32 for c in prefix):
            raise InvalidScenario(f"scenario_etcd_prefix must be a key path starting with '/': {prefix!r}")
        self.prefix = (prefix if prefix.endswith("/") else prefix + "/").encode()

    def dir(self, kind: str) -> bytes:
        return self.prefix + kind.encode() + b"/"

    def key(self, kind: str, name: str) -> bytes:
        return self.dir(kind) + quote(name, safe="").encode()

    def name(self, kind: str, key_b64: str) -> str:
        return unquote(unb64(key_b64)[len(self.dir(kind)) :].decode())

    def range(self, kind: str, **extra: Any) -> dict[str, Any]:
        return {"key": b64(self.dir(kind)), "range_end": b64(range_end(self.dir(kind))), **extra}


def put(key: bytes, value: bytes, lease: str | None = None) -> dict[str, Any]:
    request: dict[str, Any] = {"key": b64(key), "value": b64(value)}
    if lease:
        request["lease"] = lease
    return {"request_put": request}


def delete(key: bytes) -> dict[str, Any]:
    return {"request_delete_range": {"key": b64(key)}}


def absent(key: bytes) -> dict[str, Any]:
    return {"key": b64(key), "result": "EQUAL", "target": "CREATE", "create_revision": "0"}


def unchanged(key: bytes, mod_revision: str) -> dict[str, Any]:
    return {"key": b64(key), "result": "EQUAL", "target": "MOD", "mod_revision": mod_revision}


def equals(key: bytes, value: bytes) -> dict[str, Any]:
    return {"key": b64(key), "result": "EQUAL", "target": "VALUE", "value": b64(value)}
