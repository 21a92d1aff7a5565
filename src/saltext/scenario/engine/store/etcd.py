"""The `etcd` fleet store: etcd v3, shared by every master (`scenario_store: etcd`).

The client is etcd3gw (the optional extra `saltext-scenario[etcd]`): it speaks etcd's v3 JSON
gateway (`/v3/...`, served by etcd itself since 3.4; Debian 12 ships 3.4) over `requests`, in
pure Python, and is maintained (OpenStack's tooling uses it). The gRPC clients need grpcio, a
large native build on the master for no gain here, and the `etcd3` package is unmaintained.
etcd3gw gives the HTTP session (TLS CA, client certificate and key) and the error types; the
transactions below are written as the gateway's JSON, because this store needs multi-key
compares that etcd3gw's helpers do not offer.

etcd's own primitives, not a home-made lock:

    <prefix>runs/<run_id>      a run's registration and live status: no lease
    <prefix>alive/<run_id>     with the run's lease: gone within the TTL once the run or its
                               master dies, so a registration without it is an interrupted run
    <prefix>claims/<host>      a run's claim (its run id), with the run's lease; a whole set of hosts is
                               claimed in ONE transaction: every key's create_revision == 0,
                               then a put with the lease; all or nothing, one round trip
    <prefix>holds/<host>       a hold: no lease, it outlives the run
    <prefix>answers/<run_id>   an approval or abort, written by the master the operator asked,
                               taken (deleted as read) by the master running the run
    <prefix>finished/<run_id>  a finished run's last word, for `scenario.history` on every master

One lease per run, with a TTL (`scenario_store_ttl`, 30 s) and a keepalive thread sending every
TTL/3. A keepalive that fails for longer than the TTL, or a lease etcd no longer knows, makes
`RunHandle.lost()` say why, and the run stops at its next step boundary. The run's live status
(`update`, at every step's start and end) is written by a thread of its own too, newest first, so
no step waits on etcd for it; a status write that fails is `lost()` as well. Claims, holds and
the last word are written before the call returns.

etcd refuses a transaction with more than `--max-txn-ops` operations in one of its lists
(default 128). Claiming N hosts puts N keys (plus the registration and a read of the holds), so
a fleet store for 1,000 hosts per run needs `--max-txn-ops` of at least 1,002 (and
`--max-request-bytes` above the default 1.5 MiB for several thousand hosts). A claim that does
not fit is refused before anything changes, naming the option.

Host names are quoted into keys (minion ids are untrusted text). Keys and values are bytes,
base64-encoded by this module (etcd3gw encodes text as Latin-1).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict
from types import TracebackType
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from ..errors import InvalidScenario, LockHeld
from . import base
from .base import (
    HISTORY_KEEP,
    Answer,
    FinishedRun,
    Hold,
    LiveRun,
    RunInfo,
    RunStatus,
    StoreUnavailable,
    answer_of,
    check_hosts,
    check_reason,
    check_run_id,
    decode,
    encode,
    finished_of,
    hold_of,
    interrupted_summary,
    live_run,
    refused_claim,
    registration,
    utc_now,
)

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "/saltext-scenario/"
DEFAULT_TTL = 30
REQUEST_TIMEOUT = 10.0  # seconds one HTTP request to etcd may take


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)


def _range_end(prefix: bytes) -> bytes:
    """The first key after every key starting with `prefix`."""
    return prefix[:-1] + bytes([prefix[-1] + 1])


_ERRNO = re.compile(r"\[Errno (-?[0-9]+)\] ([^'\")]+)")


def _error_text(exc: Exception) -> str:
    """What etcd or the connection said, without a traceback (or requests' wrapping of it)."""
    detail = getattr(exc, "detail_text", None)
    if isinstance(detail, str) and detail:
        errno = _ERRNO.search(detail)
        if errno:
            return f"{errno.group(2).strip()} (errno {errno.group(1)})"
        if "timed out" in detail:
            return "timed out"
        if "RemoteDisconnected" in detail or "Connection aborted" in detail:
            # requests' wording when etcd closed the connection (stopped mid-request, or a
            # pooled connection it had dropped)
            return "the connection was closed without an answer"
        try:
            body = json.loads(detail)
        except ValueError:
            return detail.strip()[:300]
        if isinstance(body, dict):
            return str(body.get("message") or body.get("error") or detail)[:300]
        return detail[:300]
    return str(exc) or type(exc).__name__


class Gateway:
    """HTTP calls to etcd's v3 JSON gateway, trying each endpoint in turn."""

    def __init__(
        self,
        endpoints: Iterable[str],
        *,
        ca: str | None = None,
        cert: str | None = None,
        key: str | None = None,
        user: str | None = None,
        password: str | None = None,
        timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        try:
            from etcd3gw.client import Etcd3Client
        except ImportError:
            raise StoreUnavailable(
                "scenario_store: etcd", "the etcd client is not installed: pip install 'saltext-scenario[etcd]'"
            ) from None
        self.endpoints = tuple(endpoints)
        if not self.endpoints:
            raise InvalidScenario("scenario_store is etcd, but scenario_etcd_endpoints is empty")
        self.user = user
        self._password = password
        self.clients = []
        for endpoint in self.endpoints:
            url = urlsplit(endpoint)
            if url.scheme not in ("http", "https") or not url.hostname:
                raise InvalidScenario(f"scenario_etcd_endpoints: not an http(s) URL: {endpoint!r}")
            self.clients.append(
                Etcd3Client(
                    host=url.hostname,
                    port=url.port or 2379,
                    protocol=url.scheme,
                    ca_cert=ca,
                    cert_cert=cert,
                    cert_key=key,
                    timeout=timeout,
                    api_path="/v3/",  # etcd >= 3.4; saves a /version round trip per client
                )
            )
            # requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE in the environment override the
            # session's CA, and would send etcd's traffic through an HTTP(S)_PROXY: the options
            # alone say how to reach etcd.
            self.clients[-1].session.trust_env = False
        self.current = 0
        self.tokens: dict[int, str] = {}

    def copy(self, timeout: float) -> Gateway:
        """A gateway with sessions of its own and its own request timeout (for the keepalive thread)."""
        other = Gateway.__new__(Gateway)
        other.__dict__.update(self.__dict__)
        other.clients = []
        from etcd3gw.client import Etcd3Client

        for client in self.clients:
            twin = Etcd3Client(
                host=client.host,
                port=client.port,
                protocol=client.protocol,
                timeout=timeout,
                api_path="/v3/",
            )
            twin.session.verify = client.session.verify
            twin.session.cert = client.session.cert
            twin.session.trust_env = False
            other.clients.append(twin)
        other.tokens = {}
        return other

    @property
    def where(self) -> str:
        return ", ".join(self.endpoints)

    def _authenticate(self, index: int) -> None:
        client = self.clients[index]
        client.session.headers.pop("Authorization", None)
        body = client.post(client.get_url("/auth/authenticate"), json={"name": self.user, "password": self._password})
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str):
            raise StoreUnavailable(self.endpoints[index], f"etcd gave no token for user {self.user!r}")
        client.session.headers["Authorization"] = token
        self.tokens[index] = token

    def post(self, path: str, payload: dict[str, Any], before_change: bool = True) -> dict[str, Any]:
        """One call; a connection failure moves on to the next endpoint. StoreUnavailable names
        the endpoint(s) and etcd's own words."""
        from etcd3gw import exceptions

        last: Exception | None = None
        for step in range(len(self.clients)):
            index = (self.current + step) % len(self.clients)
            client = self.clients[index]
            for attempt in (1, 2):
                try:
                    if self.user and index not in self.tokens:
                        self._authenticate(index)
                    body = client.post(client.get_url(path), json=payload)
                except (exceptions.ConnectionFailedError, exceptions.ConnectionTimeoutError, OSError) as exc:
                    last = exc
                    break  # the next endpoint
                except exceptions.Etcd3Exception as exc:
                    text = _error_text(exc)
                    if self.user and "auth token" in text and attempt == 1:
                        self.tokens.pop(index, None)  # expired: authenticate again, once
                        continue
                    if "too many operations" in text:
                        ops = max(len(payload.get(k) or ()) for k in ("compare", "success", "failure"))
                        text = (
                            f"{text}: this request has {ops} operations; start etcd with "
                            f"--max-txn-ops of at least {ops} (the default is 128)"
                        )
                    raise StoreUnavailable(self.endpoints[index], text, before_change=before_change) from None
                except ValueError as exc:
                    raise StoreUnavailable(
                        self.endpoints[index], f"not a JSON answer: {exc}", before_change=before_change
                    ) from None
                self.current = index
                if not isinstance(body, dict):
                    raise StoreUnavailable(self.endpoints[index], "not a JSON object", before_change=before_change)
                return body
        raise StoreUnavailable(
            self.where, _error_text(last) if last else "no endpoint", before_change=before_change
        ) from None


def _kvs(response: dict[str, Any]) -> list[dict[str, Any]]:
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
        return unquote(_unb64(key_b64)[len(self.dir(kind)) :].decode())

    def range(self, kind: str, **extra: Any) -> dict[str, Any]:
        return {"key": _b64(self.dir(kind)), "range_end": _b64(_range_end(self.dir(kind))), **extra}


def _put(key: bytes, value: bytes, lease: str | None = None) -> dict[str, Any]:
    request: dict[str, Any] = {"key": _b64(key), "value": _b64(value)}
    if lease:
        request["lease"] = lease
    return {"request_put": request}


def _delete(key: bytes) -> dict[str, Any]:
    return {"request_delete_range": {"key": _b64(key)}}


def _absent(key: bytes) -> dict[str, Any]:
    return {"key": _b64(key), "result": "EQUAL", "target": "CREATE", "create_revision": "0"}


def _unchanged(key: bytes, mod_revision: str) -> dict[str, Any]:
    return {"key": _b64(key), "result": "EQUAL", "target": "MOD", "mod_revision": mod_revision}


def _equals(key: bytes, value: bytes) -> dict[str, Any]:
    return {"key": _b64(key), "result": "EQUAL", "target": "VALUE", "value": _b64(value)}


class EtcdStore:
    """The FleetStore on etcd v3."""

    def __init__(
        self,
        endpoints: Iterable[str],
        master: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        ttl: int = DEFAULT_TTL,
        ca: str | None = None,
        cert: str | None = None,
        key: str | None = None,
        user: str | None = None,
        password: str | None = None,
        timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        self.gateway = Gateway(endpoints, ca=ca, cert=cert, key=key, user=user, password=password, timeout=timeout)
        self.keys = Keys(prefix)
        self.master = master
        self.ttl = int(ttl)

    @property
    def where(self) -> str:
        return self.gateway.where

    def txn(
        self,
        compare: list[dict[str, Any]],
        success: list[dict[str, Any]],
        failure: list[dict[str, Any]] | None = None,
        before_change: bool = True,
    ) -> tuple[bool, list[dict[str, Any]]]:
        body = self.gateway.post(
            "/kv/txn", {"compare": compare, "success": success, "failure": failure or []}, before_change
        )
        return bool(body.get("succeeded")), list(body.get("responses") or [])

    def read(self, *ranges: dict[str, Any]) -> list[list[dict[str, Any]]]:
        """Several ranges at one revision, in one round trip."""
        _, responses = self.txn([], [{"request_range": r} for r in ranges])
        return [_kvs(r) for r in responses]

    def check(self) -> None:
        # One write proves etcd reachable and writable: `probe/<master>` says when this master
        # last checked (one small key per master; a put and a delete would be two proposals).
        probe = self.keys.key("probe", self.master)
        self.gateway.post("/kv/put", {"key": _b64(probe), "value": _b64(utc_now().encode())})

    def open_run(self, info: RunInfo) -> EtcdRun:
        check_run_id(info.run_id)
        for run_id in info.resumes:
            check_run_id(run_id)
        return EtcdRun(self, info)

    # --- holds -------------------------------------------------------------------------

    def _holds(self, kvs: list[dict[str, Any]]) -> list[tuple[Hold, str]]:
        found = []
        for kv in kvs:
            where = f"{self.where} key {_unb64(kv['key']).decode(errors='replace')}"
            found.append((hold_of(decode(_unb64(kv.get("value", "")), where)), str(kv.get("mod_revision"))))
        return found

    def holds(self) -> list[Hold]:
        (kvs,) = self.read(self.keys.range("holds"))
        return [hold for hold, _ in self._holds(kvs)]

    def release(self, run_id: str, hosts: Iterable[str] | None = None, *, user: str, reason: str) -> list[Hold]:
        check_run_id(run_id)
        reason = check_reason(reason)
        wanted = None if hosts is None else set(check_hosts(hosts))
        run_key, alive_key = self.keys.key("runs", run_id), self.keys.key("alive", run_id)
        for _attempt in range(5):
            runs, alive, holds = self.read({"key": _b64(run_key)}, {"key": _b64(alive_key)}, self.keys.range("holds"))
            if alive:
                info = decode(_unb64(runs[0]["value"]), self.where).get("info", {}) if runs else {}
                raise LockHeld(
                    f"run {run_id} is still running (master {info.get('master', '?')}, pid {info.get('pid', '?')}); "
                    "its holds stay while it runs"
                )
            mine = [(h, rev) for h, rev in self._holds(holds) if h.run_id == run_id]
            mine = [(h, rev) for h, rev in mine if wanted is None or h.host in wanted]
            compare = [_unchanged(self.keys.key("holds", h.host), rev) for h, rev in mine]
            success = [_delete(self.keys.key("holds", h.host)) for h, _ in mine]
            compare.append(_absent(alive_key))
            if runs and wanted is None:
                data = decode(_unb64(runs[0]["value"]), self.where)
                summary = interrupted_summary(f"its process is gone; holds released by {user}: {reason}")
                record = {"info": data.get("info"), "exit_code": 6, "summary": summary, "finished": utc_now()}
                compare.append(_unchanged(run_key, str(runs[0]["mod_revision"])))
                success += [_put(self.keys.key("finished", run_id), encode(record)), _delete(run_key)]
            ok, _ = self.txn(compare, success)
            if ok:
                return [h for h, _ in mine]
        raise StoreUnavailable(self.where, f"the holds of run {run_id} kept changing; try again")

    # --- live runs ---------------------------------------------------------------------

    def live_runs(self) -> list[LiveRun]:
        runs, alive, holds = self.read(
            self.keys.range("runs"), self.keys.range("alive", keys_only=True), self.keys.range("holds")
        )
        living = {self.keys.name("alive", kv["key"]) for kv in alive}
        held = [h for h, _ in self._holds(holds)]
        found = []
        for kv in runs:
            data = decode(_unb64(kv.get("value", "")), self.where)
            found.append(live_run(data, self.keys.name("runs", kv["key"]) in living, held))
        return found

    def bury_resumed(self, run_ids: Iterable[str], by: str) -> None:
        for run_id in run_ids:
            run_key, alive_key = self.keys.key("runs", run_id), self.keys.key("alive", run_id)
            runs, alive = self.read({"key": _b64(run_key)}, {"key": _b64(alive_key)})
            if not runs or alive:
                continue
            data = decode(_unb64(runs[0]["value"]), self.where)
            summary = interrupted_summary(f"its process is gone; resumed by run {by}")
            record = {"info": data.get("info"), "exit_code": 6, "summary": summary, "finished": utc_now()}
            self.txn(
                [_unchanged(run_key, str(runs[0]["mod_revision"])), _absent(alive_key)],
                [_put(self.keys.key("finished", run_id), encode(record)), _delete(run_key)],
                before_change=False,
            )

    # --- approvals ---------------------------------------------------------------------

    def answer(
        self, run_id: str, approved: bool, user: str, reason: str | None = None, batch: int | None = None
    ) -> Answer:
        check_run_id(run_id)
        text = check_reason(reason, required=False)
        answer = Answer(run_id, bool(approved), str(user), text, self.master, utc_now(), batch)
        run_key, alive_key = self.keys.key("runs", run_id), self.keys.key("alive", run_id)
        # Written only while the run lives: both keys exist (create_revision > 0).
        exists = [
            {"key": _b64(k), "result": "GREATER", "target": "CREATE", "create_revision": "0"}
            for k in (run_key, alive_key)
        ]
        ok, responses = self.txn(
            exists,
            [_put(self.keys.key("answers", run_id), encode(answer))],
            [{"request_range": {"key": _b64(run_key), "count_only": True}}],
        )
        if not ok:
            known = int(responses[0].get("response_range", {}).get("count", 0) or 0) if responses else 0
            if known:
                raise InvalidScenario(f"run {run_id} is not running any more (interrupted); nothing to answer")
            raise InvalidScenario(f"run {run_id} is not running (see scenario.history); nothing to answer")
        return answer

    def answer_for(self, run_id: str) -> Answer | None:
        check_run_id(run_id)
        (kvs,) = self.read({"key": _b64(self.keys.key("answers", run_id))})
        return answer_of(decode(_unb64(kvs[0]["value"]), self.where)) if kvs else None

    def take_answer(self, run_id: str) -> Answer | None:
        # An approval gate polls this several times a second. A read is served without a raft
        # proposal (and its WAL fsync), a delete is not even when nothing matches: read first,
        # delete only the answer that was read (unchanged since), so a newer answer is not lost.
        key = self.keys.key("answers", run_id)
        for _attempt in range(3):
            (kvs,) = self.read({"key": _b64(key)})
            if not kvs:
                return None
            ok, _ = self.txn([_unchanged(key, str(kvs[0]["mod_revision"]))], [_delete(key)], before_change=False)
            if ok:
                return answer_of(decode(_unb64(kvs[0]["value"]), self.where))
        return None  # answered again while this read: the next poll takes the newest

    # --- history -----------------------------------------------------------------------

    def finished_runs(self, limit: int = 20) -> list[FinishedRun]:
        limit = base.check_limit(limit)
        finished, holds = self.read(
            self.keys.range("finished", sort_order="DESCEND", sort_target="CREATE", limit=int(limit)),
            self.keys.range("holds"),
        )
        held = [h for h, _ in self._holds(holds)]
        return [finished_of(decode(_unb64(kv.get("value", "")), self.where), held) for kv in finished]

    def prune(self, count: int | None = None) -> None:
        """Keep the newest HISTORY_KEEP finished runs (checked once there are 10% more);
        `count`: the number of finished runs, when the caller read it already."""
        if count is None:
            body = self.gateway.post("/kv/range", self.keys.range("finished", count_only=True), before_change=False)
            count = int(body.get("count", 0) or 0)
        extra = count - HISTORY_KEEP
        if extra <= HISTORY_KEEP // 10:
            return
        (oldest,) = self.read(
            self.keys.range("finished", sort_order="ASCEND", sort_target="CREATE", keys_only=True, limit=extra)
        )
        for start in range(0, len(oldest), 100):
            self.txn(
                [], [{"request_delete_range": {"key": kv["key"]}} for kv in oldest[start : start + 100]], None, False
            )

    def close(self) -> None:
        pass


class EtcdRun:
    """One live run on etcd: its lease (kept alive by a thread), registration and claims."""

    def __init__(self, store: EtcdStore, info: RunInfo) -> None:
        self.store = store
        self._info = info
        self.status = RunStatus()
        self.claimed: set[str] = set()
        self.ever_claimed = False
        self.finished = False
        self._lost: str | None = None
        self._stop = threading.Event()
        keys = store.keys
        self.run_key, self.alive_key = keys.key("runs", info.run_id), keys.key("alive", info.run_id)
        # A claim's value is the run id alone (its registration says the rest): 1,000 claims
        # in one request cost etcd's JSON gateway time per byte.
        self.claim_value = info.run_id.encode()
        grant = store.gateway.post("/lease/grant", {"TTL": store.ttl, "ID": 0})
        if grant.get("error") or not grant.get("ID"):
            raise StoreUnavailable(store.where, f"no lease granted: {grant.get('error') or grant}")
        self.lease = str(grant["ID"])
        try:
            ok, _ = store.txn(
                [_absent(self.run_key)],
                [_put(self.run_key, self._registration()), _put(self.alive_key, b"", self.lease)],
            )
        except StoreUnavailable:
            self._revoke()
            raise
        if not ok:
            self._revoke()
            raise LockHeld(f"run {info.run_id} is already registered in the fleet store ({store.where})")
        # A keepalive that hangs (etcd stopped, not refusing) gives up after TTL/3, so a lost
        # lease is known within the TTL plus that.
        self._keepalive = store.gateway.copy(timeout=min(REQUEST_TIMEOUT, max(1.0, store.ttl / 3.0)))
        self._thread = threading.Thread(target=self._keep, name=f"scenario-lease-{info.run_id}", daemon=True)
        self._thread.start()
        # The live status (`update`, two per step) is written by a thread of its own, so no step
        # waits on etcd for it; a newer status replaces one not yet written. A write that fails
        # is `lost()`: the run stops at its next step boundary, as for a lost lease.
        self._status = threading.Condition()
        self._pending: bytes | None = None
        self._writing = False
        self._closing = False
        self._write_failed: str | None = None
        self._status_gateway = store.gateway.copy(timeout=REQUEST_TIMEOUT)
        self._writer = threading.Thread(target=self._write_status, name=f"scenario-status-{info.run_id}", daemon=True)
        self._writer.start()

    @property
    def info(self) -> RunInfo:
        return self._info

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(sorted(self.claimed))

    def _registration(self) -> bytes:
        return encode(registration(self._info, self.status, self.claimed))

    def _keep(self) -> None:
        """Refresh the lease every TTL/3; after a failure, every second until the TTL is past."""
        ttl = self.store.ttl
        last_ok = time.monotonic()
        interval = max(ttl / 3.0, 0.2)
        wait = interval
        while not self._stop.wait(wait):
            try:
                body = self._keepalive.post("/lease/keepalive", {"ID": self.lease}, before_change=False)
            except StoreUnavailable as exc:
                failing = time.monotonic() - last_ok
                if failing > ttl:
                    self._lost = (
                        f"the keepalive of the run's etcd lease failed for {failing:.0f} s, past its TTL of "
                        f"{ttl} s: {exc.where}: {exc.error}"
                    )
                    return
                wait = min(1.0, interval)
                continue
            left = int((body.get("result") or {}).get("TTL", -1) or -1)
            if left <= 0:
                self._lost = (
                    f"the run's etcd lease {self.lease} expired or was revoked ({self.store.where}, TTL {ttl} s); "
                    "its claims are gone"
                )
                return
            last_ok = time.monotonic()
            wait = interval

    def lost(self) -> str | None:
        return self._lost or self._write_failed

    def _write_status(self) -> None:
        while True:
            with self._status:
                while self._pending is None and not self._closing:
                    self._status.wait()
                if self._pending is None:
                    return  # closing, and everything written
                data, self._pending = self._pending, None
                self._writing = True
            try:
                self._status_gateway.post(
                    "/kv/put", {"key": _b64(self.run_key), "value": _b64(data)}, before_change=False
                )
            except StoreUnavailable as exc:
                self._write_failed = f"the run's live status could not be written: {exc.where}: {exc.error}"
            except Exception as exc:  # noqa: BLE001 - the thread must not die silently: the run stops
                self._write_failed = f"the run's live status could not be written: {exc!r}"
            finally:
                with self._status:
                    self._writing = False
                    self._status.notify_all()

    def _flush_status(self) -> None:
        """Wait until the status written last is in etcd (or its write failed)."""
        with self._status:
            self._status.wait_for(lambda: self._pending is None and not self._writing, timeout=REQUEST_TIMEOUT + 1)

    def _stop_status_writer(self) -> None:
        with self._status:
            self._closing = True
            self._status.notify_all()
        self._writer.join(timeout=REQUEST_TIMEOUT + 1)

    def _check_lease(self, before_change: bool) -> None:
        if self._lost:
            raise StoreUnavailable(self.store.where, self._lost, before_change=before_change)

    def claim(self, hosts: Iterable[str]) -> None:
        self._check_lease(before_change=True)
        self._flush_status()  # the claim rewrites the registration: no older status after it
        keys, store = self.store.keys, self.store
        owners = {self._info.run_id, *self._info.resumes}
        value, lease = _b64(self.claim_value), self.lease  # the same for every host: encoded once
        for _attempt in range(3):
            wanted = [h for h in check_hosts(hosts) if h not in self.claimed]
            if not wanted:
                return
            wanted_set = set(wanted)
            claim_keys = [_b64(keys.key("claims", h)) for h in wanted]
            registration_after = encode(registration(self._info, self.status, self.claimed | wanted_set))
            ok, responses = store.txn(
                [{"key": k, "result": "EQUAL", "target": "CREATE", "create_revision": "0"} for k in claim_keys],
                [{"request_put": {"key": k, "value": value, "lease": lease}} for k in claim_keys]
                + [_put(self.run_key, registration_after), {"request_range": keys.range("holds")}],
                # refused: who holds what, read at the same revision, to name them
                [{"request_range": keys.range(kind)} for kind in ("claims", "runs", "holds")],
            )
            held = {
                h.host: h
                for h, _ in store._holds(_kvs(responses[-1]))
                if h.host in wanted_set and h.run_id not in owners
            }
            if ok:
                if not held:
                    self.claimed.update(wanted)
                    self.ever_claimed = True
                    return
                # Taken, but held by another run: give the claims back, all or nothing.
                store.txn(
                    [],
                    [{"request_delete_range": {"key": k}} for k in claim_keys]
                    + [_put(self.run_key, self._registration())],
                )
                raise refused_claim(wanted, {}, held)
            runs = {}
            for kv in _kvs(responses[1]):
                info = decode(_unb64(kv.get("value", "")), store.where).get("info") or {}
                runs[str(info.get("run_id"))] = info
            claims = {}
            for kv in _kvs(responses[0]):
                host = keys.name("claims", kv["key"])
                if host in wanted_set:
                    holder = _unb64(kv.get("value", "")).decode(errors="replace")
                    claims[host] = runs.get(holder) or {"run_id": holder}
            ours = {h for h, holder in claims.items() if holder.get("run_id") == self._info.run_id}
            if ours and len(ours) == len(claims) and not held:
                # A retried request that etcd had applied: the keys are ours already.
                self.claimed.update(ours)
                continue
            if not claims and not held:
                continue  # the other run let go between the two reads: try again
            raise refused_claim(wanted, {h: c for h, c in claims.items() if h not in ours}, held)
        raise StoreUnavailable(store.where, "the claimed hosts kept changing; try again")

    def update(self, status: RunStatus) -> None:
        self.status = status
        if self._write_failed:
            raise StoreUnavailable(self.store.where, self._write_failed, before_change=False)
        with self._status:
            if self._closing:
                return
            self._pending = self._registration()
            self._status.notify_all()

    def _mine(self, hosts: tuple[str, ...]) -> list[dict[str, Any]]:
        """Compares that this run still holds the claim on every host: its lease lives."""
        return [_equals(self.store.keys.key("claims", h), self.claim_value) for h in hosts]

    def hold(self, hosts: Iterable[str], step: str, reason: str) -> list[Hold]:
        wanted = check_hosts(hosts)
        unclaimed = [h for h in wanted if h not in self.claimed]
        if unclaimed:
            raise base.unclaimed(self._info.run_id, unclaimed)
        since = utc_now()
        made = [Hold(h, self._info.run_id, self._info.feature, step, reason, self._info.master, since) for h in wanted]
        ok, _ = self.store.txn(
            self._mine(wanted),
            [_put(self.store.keys.key("holds", hold.host), encode(hold)) for hold in made],
            before_change=False,
        )
        if not ok:
            raise StoreUnavailable(
                self.store.where, self._lost or "the run's claims are gone (its lease expired)", before_change=False
            )
        return made

    def clear_own(self, hosts: Iterable[str]) -> list[Hold]:
        wanted = tuple(h for h in check_hosts(hosts) if h in self.claimed)
        owners = {self._info.run_id, *self._info.resumes}
        keys = self.store.keys
        for _attempt in range(3):
            (kvs,) = self.store.read(keys.range("holds"))
            mine = [(h, rev) for h, rev in self.store._holds(kvs) if h.host in set(wanted) and h.run_id in owners]
            if not mine:
                return []
            ok, _ = self.store.txn(
                self._mine(tuple(h.host for h, _ in mine))
                + [_unchanged(keys.key("holds", h.host), rev) for h, rev in mine],
                [_delete(keys.key("holds", h.host)) for h, _ in mine],
                before_change=False,
            )
            if ok:
                return [h for h, _ in mine]
            self._check_lease(before_change=False)
        raise StoreUnavailable(self.store.where, "the run's claims or holds kept changing", before_change=False)

    def take_answer(self) -> Answer | None:
        return self.store.take_answer(self._info.run_id)

    def finish(self, exit_code: int, summary: str) -> FinishedRun:
        self._stop_status_writer()  # its last status lands before the registration goes
        record = {"info": asdict(self._info), "exit_code": exit_code, "summary": summary, "finished": utc_now()}
        keys = self.store.keys
        # One round trip: the last word, the registration gone, and (read at that revision) the
        # holds the run keeps and the number of finished runs, for the pruning.
        _, responses = self.store.txn(
            [],
            [
                _put(keys.key("finished", self._info.run_id), encode(record)),
                _delete(self.run_key),
                {"request_range": keys.range("holds")},
                {"request_range": keys.range("finished", count_only=True)},
            ],
            before_change=False,
        )
        self.finished = True
        self.store.bury_resumed(self._info.resumes, self._info.run_id)
        counted = responses[3].get("response_range", {}).get("count", 0) if len(responses) > 3 else 0
        self.store.prune(int(counted or 0))
        holds = [h for h, _ in self.store._holds(_kvs(responses[2]))] if len(responses) > 2 else self.store.holds()
        return finished_of(record, holds)

    def _revoke(self) -> None:
        try:
            self.store.gateway.post("/lease/revoke", {"ID": self.lease}, before_change=False)
        except StoreUnavailable as exc:
            # The lease then ends by its TTL: the claims go all the same.
            log.warning("could not revoke the run's etcd lease (it expires within %s s): %s", self.store.ttl, exc)

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop_status_writer()
        self._stop.set()
        self._thread.join(timeout=REQUEST_TIMEOUT + 1)
        if not self.finished and not self.ever_claimed:
            # A run that never claimed a host changed nothing (say, its claim was refused):
            # it leaves no registration behind to be read as interrupted.
            try:
                self.store.gateway.post("/kv/deleterange", {"key": _b64(self.run_key)}, before_change=False)
            except StoreUnavailable as exc:
                log.warning("could not remove the registration of run %s: %s", self._info.run_id, exc)
        self._revoke()
        self.claimed = set()

    def __enter__(self) -> EtcdRun:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
