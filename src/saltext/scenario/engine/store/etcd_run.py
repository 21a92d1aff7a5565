"""One live run on the etcd fleet store: its lease and keepalive, registration, live status,
claims and holds.

One lease per run, with a TTL (`scenario_store_ttl`, 30 s) and a keepalive thread sending every
TTL/3. A keepalive that fails for longer than the TTL, or a lease etcd no longer knows, makes
`RunHandle.lost()` say why, and the run stops at its next step boundary. The run's live status
(`update`, at every step's start and end) is written by a thread of its own too, newest first, so
no step waits on etcd for it; a status write that fails is `lost()` as well. Claims, holds and
the last word are written before the call returns.

A whole set of hosts is claimed in ONE transaction: every claim key's create_revision == 0,
then a put with the lease; all or nothing, one round trip.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..errors import LockHeld
from . import base
from .base import (
    Answer,
    FinishedRun,
    Hold,
    RunInfo,
    RunStatus,
    StoreUnavailable,
    check_hosts,
    decode,
    encode,
    finished_of,
    refused_claim,
    registration,
    utc_now,
)
from .etcd_client import REQUEST_TIMEOUT
from .etcd_keys import absent, b64, delete, equals, kvs_of, put, unb64, unchanged

if TYPE_CHECKING:
    from .etcd import EtcdStore

log = logging.getLogger(__name__)


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
                [absent(self.run_key)],
                [put(self.run_key, self._registration()), put(self.alive_key, b"", self.lease)],
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
                    "/kv/put", {"key": b64(self.run_key), "value": b64(data)}, before_change=False
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
        value, lease = b64(self.claim_value), self.lease  # the same for every host: encoded once
        for _attempt in range(3):
            wanted = [h for h in check_hosts(hosts) if h not in self.claimed]
            if not wanted:
                return
            wanted_set = set(wanted)
            claim_keys = [b64(keys.key("claims", h)) for h in wanted]
            registration_after = encode(registration(self._info, self.status, self.claimed | wanted_set))
            ok, responses = store.txn(
                [{"key": k, "result": "EQUAL", "target": "CREATE", "create_revision": "0"} for k in claim_keys],
                [{"request_put": {"key": k, "value": value, "lease": lease}} for k in claim_keys]
                + [put(self.run_key, registration_after), {"request_range": keys.range("holds")}],
                # refused: who holds what, read at the same revision, to name them
                [{"request_range": keys.range(kind)} for kind in ("claims", "runs", "holds")],
            )
            held = {
                h.host: h
                for h, _ in store._holds(kvs_of(responses[-1]))
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
                    + [put(self.run_key, self._registration())],
                )
                raise refused_claim(wanted, {}, held)
            runs = {}
            for kv in kvs_of(responses[1]):
                info = decode(unb64(kv.get("value", "")), store.where).get("info") or {}
                runs[str(info.get("run_id"))] = info
            claims = {}
            for kv in kvs_of(responses[0]):
                host = keys.name("claims", kv["key"])
                if host in wanted_set:
                    holder = unb64(kv.get("value", "")).decode(errors="replace")
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
        return [equals(self.store.keys.key("claims", h), self.claim_value) for h in hosts]

    def hold(self, hosts: Iterable[str], step: str, reason: str) -> list[Hold]:
        wanted = check_hosts(hosts)
        unclaimed = [h for h in wanted if h not in self.claimed]
        if unclaimed:
            raise base.unclaimed(self._info.run_id, unclaimed)
        since = utc_now()
        made = [Hold(h, self._info.run_id, self._info.feature, step, reason, self._info.master, since) for h in wanted]
        ok, _ = self.store.txn(
            self._mine(wanted),
            [put(self.store.keys.key("holds", hold.host), encode(hold)) for hold in made],
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
                + [unchanged(keys.key("holds", h.host), rev) for h, rev in mine],
                [delete(keys.key("holds", h.host)) for h, _ in mine],
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
                put(keys.key("finished", self._info.run_id), encode(record)),
                delete(self.run_key),
                {"request_range": keys.range("holds")},
                {"request_range": keys.range("finished", count_only=True)},
            ],
            before_change=False,
        )
        self.finished = True
        self.store.bury_resumed(self._info.resumes, self._info.run_id)
        counted = responses[3].get("response_range", {}).get("count", 0) if len(responses) > 3 else 0
        self.store.prune(int(counted or 0))
        holds = [h for h, _ in self.store._holds(kvs_of(responses[2]))] if len(responses) > 2 else self.store.holds()
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
                self.store.gateway.post("/kv/deleterange", {"key": b64(self.run_key)}, before_change=False)
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
