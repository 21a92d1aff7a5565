"""The `etcd` fleet store: etcd v3, shared by every master (`scenario_store: etcd`).

etcd's own primitives, not a home-made lock: a run's claims live on the run's lease (one per
run, see etcd_run.py), so they are gone within the TTL once the run or its master dies; holds,
registrations, answers and finished runs are plain keys (the layout: etcd_keys.py). The calls
go to etcd's v3 JSON gateway through etcd_client.py. This module is the FleetStore: the reads
and writes that are not one run's (holds, releases, live runs, approvals, history).

etcd refuses a transaction with more than `--max-txn-ops` operations in one of its lists
(default 128). Claiming N hosts puts N keys (plus the registration and a read of the holds), so
a fleet store for 1,000 hosts per run needs `--max-txn-ops` of at least 1,002 (and
`--max-request-bytes` above the default 1.5 MiB for several thousand hosts). A claim that does
not fit is refused before anything changes, naming the option.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..errors import InvalidScenario, LockHeld
from . import base
from .base import (
    HISTORY_KEEP,
    Answer,
    FinishedRun,
    Hold,
    LiveRun,
    RunInfo,
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
    utc_now,
)
from .etcd_client import REQUEST_TIMEOUT, Gateway
from .etcd_keys import Keys, absent, b64, delete, kvs_of, put, unb64, unchanged
from .etcd_run import EtcdRun

DEFAULT_PREFIX = "/saltext-scenario/"
DEFAULT_TTL = 30


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
        return [kvs_of(r) for r in responses]

    def check(self) -> None:
        # One write proves etcd reachable and writable: `probe/<master>` says when this master
        # last checked (one small key per master; a put and a delete would be two proposals).
        probe = self.keys.key("probe", self.master)
        self.gateway.post("/kv/put", {"key": b64(probe), "value": b64(utc_now().encode())})

    def open_run(self, info: RunInfo) -> EtcdRun:
        check_run_id(info.run_id)
        for run_id in info.resumes:
            check_run_id(run_id)
        return EtcdRun(self, info)

    # --- holds -------------------------------------------------------------------------

    def _holds(self, kvs: list[dict[str, Any]]) -> list[tuple[Hold, str]]:
        found = []
        for kv in kvs:
            where = f"{self.where} key {unb64(kv['key']).decode(errors='replace')}"
            found.append((hold_of(decode(unb64(kv.get("value", "")), where)), str(kv.get("mod_revision"))))
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
            runs, alive, holds = self.read({"key": b64(run_key)}, {"key": b64(alive_key)}, self.keys.range("holds"))
            if alive:
                info = decode(unb64(runs[0]["value"]), self.where).get("info", {}) if runs else {}
                raise LockHeld(
                    f"run {run_id} is still running (master {info.get('master', '?')}, pid {info.get('pid', '?')}); "
                    "its holds stay while it runs"
                )
            mine = [(h, rev) for h, rev in self._holds(holds) if h.run_id == run_id]
            mine = [(h, rev) for h, rev in mine if wanted is None or h.host in wanted]
            compare = [unchanged(self.keys.key("holds", h.host), rev) for h, rev in mine]
            success = [delete(self.keys.key("holds", h.host)) for h, _ in mine]
            compare.append(absent(alive_key))
            if runs and wanted is None:
                data = decode(unb64(runs[0]["value"]), self.where)
                summary = interrupted_summary(f"its process is gone; holds released by {user}: {reason}")
                record = {"info": data.get("info"), "exit_code": 6, "summary": summary, "finished": utc_now()}
                compare.append(unchanged(run_key, str(runs[0]["mod_revision"])))
                success += [put(self.keys.key("finished", run_id), encode(record)), delete(run_key)]
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
            data = decode(unb64(kv.get("value", "")), self.where)
            found.append(live_run(data, self.keys.name("runs", kv["key"]) in living, held))
        return found

    def bury_resumed(self, run_ids: Iterable[str], by: str) -> None:
        for run_id in run_ids:
            run_key, alive_key = self.keys.key("runs", run_id), self.keys.key("alive", run_id)
            runs, alive = self.read({"key": b64(run_key)}, {"key": b64(alive_key)})
            if not runs or alive:
                continue
            data = decode(unb64(runs[0]["value"]), self.where)
            summary = interrupted_summary(f"its process is gone; resumed by run {by}")
            record = {"info": data.get("info"), "exit_code": 6, "summary": summary, "finished": utc_now()}
            self.txn(
                [unchanged(run_key, str(runs[0]["mod_revision"])), absent(alive_key)],
                [put(self.keys.key("finished", run_id), encode(record)), delete(run_key)],
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
            {"key": b64(k), "result": "GREATER", "target": "CREATE", "create_revision": "0"}
            for k in (run_key, alive_key)
        ]
        ok, responses = self.txn(
            exists,
            [put(self.keys.key("answers", run_id), encode(answer))],
            [{"request_range": {"key": b64(run_key), "count_only": True}}],
        )
        if not ok:
            known = int(responses[0].get("response_range", {}).get("count", 0) or 0) if responses else 0
            if known:
                raise InvalidScenario(f"run {run_id} is not running any more (interrupted); nothing to answer")
            raise InvalidScenario(f"run {run_id} is not running (see scenario.history); nothing to answer")
        return answer

    def answer_for(self, run_id: str) -> Answer | None:
        check_run_id(run_id)
        (kvs,) = self.read({"key": b64(self.keys.key("answers", run_id))})
        return answer_of(decode(unb64(kvs[0]["value"]), self.where)) if kvs else None

    def take_answer(self, run_id: str) -> Answer | None:
        # An approval gate polls this several times a second. A read is served without a raft
        # proposal (and its WAL fsync), a delete is not even when nothing matches: read first,
        # delete only the answer that was read (unchanged since), so a newer answer is not lost.
        key = self.keys.key("answers", run_id)
        for _attempt in range(3):
            (kvs,) = self.read({"key": b64(key)})
            if not kvs:
                return None
            ok, _ = self.txn([unchanged(key, str(kvs[0]["mod_revision"]))], [delete(key)], before_change=False)
            if ok:
                return answer_of(decode(unb64(kvs[0]["value"]), self.where))
        return None  # answered again while this read: the next poll takes the newest

    # --- history -----------------------------------------------------------------------

    def finished_runs(self, limit: int = 20) -> list[FinishedRun]:
        limit = base.check_limit(limit)
        finished, holds = self.read(
            self.keys.range("finished", sort_order="DESCEND", sort_target="CREATE", limit=int(limit)),
            self.keys.range("holds"),
        )
        held = [h for h, _ in self._holds(holds)]
        return [finished_of(decode(unb64(kv.get("value", "")), self.where), held) for kv in finished]

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
