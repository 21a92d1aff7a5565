"""The fleet store: what every master running scenarios shares, behind one interface.

A run registers itself (`open_run`), claims its pinned hosts all or nothing (`claim`), writes a
*hold* on a host before its first step takes the host out of the balancer (`hold`), and clears
the hold only when it put the host back after every step passed on it (`clear_own`). Holds have
no lease: they outlive the run, so a later run of any feature, on any master, is refused on a
held host (exit 4) until the holder is resumed and passes or an operator releases the hold
with a reason. Live runs, approvals and aborts, and the history of finished runs go through
the same store, so every master sharing it sees the same fleet.

Two backends keep this contract (tests run the same cases against both): `local.py`, files in
the master's cachedir (one master), and `etcd.py`, etcd v3 (several masters).

A store that cannot be reached or written is `StoreUnavailable`: exit 3 before anything
changed; the engine stops a run at the next step boundary when it happens mid-run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from types import TracebackType
from typing import Any, Protocol

from ..errors import EXIT_DISCOVERY, InvalidScenario, LockHeld, ScenarioError

__all__ = [
    "MAX_REASON",
    "Answer",
    "FinishedRun",
    "FleetStore",
    "Hold",
    "LiveRun",
    "LockHeld",
    "RunHandle",
    "RunInfo",
    "RunStatus",
    "StoreUnavailable",
]

MAX_REASON = 500
# Finished runs kept in the store for `scenario.history` across masters (the journal of each
# master keeps its own runs for good); older ones are pruned when a run finishes.
HISTORY_KEEP = 1000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class StoreUnavailable(ScenarioError):
    """The fleet store cannot be reached or written (exit 3 before anything changed).

    The message names the endpoint or path and the underlying error, never a traceback.
    """

    retcode = EXIT_DISCOVERY

    def __init__(self, where: str, error: object, *, before_change: bool = True) -> None:
        self.where = where
        self.error = str(error)
        tail = "; nothing was changed" if before_change else ""
        super().__init__(f"the fleet store cannot be reached or written: {where}: {self.error}{tail}")


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def check_run_id(run_id: object) -> str:
    # Imported here: the journal's readers use the store, so a module-level import would cycle.
    from ..records.journal import RUN_ID_RE

    if not isinstance(run_id, str) or not RUN_ID_RE.fullmatch(run_id):
        raise InvalidScenario(f"not a run id (YYYYmmddHHMMSS-xxxxxxxx): {run_id!r}")
    return run_id


def check_limit(limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidScenario(f"limit must be a whole number of at least 1: {limit!r}")
    return limit


def check_hosts(hosts: Iterable[str]) -> tuple[str, ...]:
    """Sorted, unique minion ids; a minion id is untrusted text, so it is checked as data here
    and quoted wherever it becomes a file name or a key."""
    if isinstance(hosts, str):
        raise InvalidScenario(f"hosts must be a list of minion ids, not the text {hosts!r}")
    checked = set()
    for host in hosts:
        if not isinstance(host, str) or not host or len(host) > 255 or _CONTROL.search(host):
            raise InvalidScenario(f"not a minion id: {host!r}")
        checked.add(host)
    return tuple(sorted(checked))


def unclaimed(run_id: str, hosts: Iterable[str]) -> InvalidScenario:
    return InvalidScenario(f"run {run_id} cannot hold hosts it has not claimed: {', '.join(hosts)}")


def check_reason(reason: object, what: str = "reason", required: bool = True) -> str:
    if reason is None and not required:
        return ""
    if not isinstance(reason, str) or (required and not reason.strip()) or len(reason) > MAX_REASON:
        need = "a non-empty text" if required else "a text"
        raise InvalidScenario(f"{what} must be {need} of at most {MAX_REASON} characters: {reason!r}")
    return reason.strip()


@dataclass(frozen=True)
class RunInfo:
    """A live run as other runs and other masters see it."""

    run_id: str
    master: str
    feature: str
    user: str
    pid: int
    started: str = field(default_factory=utc_now)
    # Runs whose holds this run may take over and clear: the run it resumes (and the runs that
    # one resumed). Holds of any other run refuse the claim.
    resumes: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunStatus:
    """Where a live run is, for `scenario.active` / `scenario.status` on any master."""

    position: str = ""  # "When I block the load balancer (features/x.feature:9)"
    batch: int = 0  # 1-based; 0 before the first batch
    batches: int = 0
    step: str = ""
    failed_hosts: tuple[str, ...] = ()
    waiting: bool = False  # an approval gate waits for `scenario.approve`/`scenario.abort`


@dataclass(frozen=True)
class Hold:
    """A host a run left out of the balancer: it stays out of every other run until the holder
    is resumed and passes, or an operator releases it."""

    host: str
    run_id: str
    feature: str
    step: str
    reason: str
    master: str
    since: str


@dataclass(frozen=True)
class LiveRun:
    """A registered run: `alive` while its lease lives; otherwise interrupted (killed, or its
    master lost), with the holds it left."""

    info: RunInfo
    alive: bool
    status: RunStatus
    hosts: tuple[str, ...]  # the hosts it claimed
    holds: tuple[Hold, ...]


@dataclass(frozen=True)
class Answer:
    """An approval or abort, written by the master an operator asked, read by the run's master."""

    run_id: str
    approved: bool
    user: str
    reason: str
    master: str
    at: str
    batch: int | None = None  # the gate's batch: an answer meant for an earlier gate is stale


@dataclass(frozen=True)
class FinishedRun:
    """A run's last word, shared by every master: `holds` are the holds it has *now*."""

    info: RunInfo
    exit_code: int
    summary: str
    finished: str
    holds: tuple[Hold, ...] = ()


def refused_claim(wanted: Iterable[str], claims: dict[str, dict[str, Any]], holds: dict[str, Hold]) -> LockHeld:
    """The exit-4 refusal naming, per holder, its run, feature, master and the shared hosts,
    and each held host with its hold; `claims` maps a host to its claimant's registration."""
    wanted = set(wanted)
    by_run: dict[tuple[str, str, str], list[str]] = {}
    for host, holder in claims.items():
        if host in wanted:
            key = (str(holder.get("run_id", "?")), str(holder.get("feature", "?")), str(holder.get("master", "?")))
            by_run.setdefault(key, []).append(host)
    parts = [
        f"run {run_id} (feature {feature!r}, master {master}) is running on {', '.join(sorted(hosts))}"
        for (run_id, feature, master), hosts in sorted(by_run.items())
    ]
    held = sorted((h for h in holds.values() if h.host in wanted), key=lambda h: h.host)
    for hold in held:
        parts.append(
            f"{hold.host} is held by run {hold.run_id} (feature {hold.feature!r}, master {hold.master}, "
            f"step {hold.step!r}: {hold.reason})"
        )
    ways = ""
    if held:
        runs = sorted({h.run_id for h in held})
        ways = (
            "; ways out: "
            + ", ".join(f"salt-run scenario.resume {run_id}" for run_id in runs)
            + ', or salt-run scenario.release RUN_ID [hosts=a,b] reason="..."'
        )
    return LockHeld(f"pinned hosts are taken by other runs: {'; '.join(parts)}{ways}; nothing was changed")


# --- JSON records ------------------------------------------------------------------------


def encode(record: Any) -> bytes:
    if hasattr(record, "__dataclass_fields__"):
        record = asdict(record)
    return json.dumps(record, sort_keys=True, separators=(",", ":")).encode()


def decode(data: bytes | str, where: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError as exc:
        raise StoreUnavailable(where, f"damaged record ({exc})") from None
    if not isinstance(value, dict):
        raise StoreUnavailable(where, "damaged record (not an object)")
    return value


def _fields(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = cls.__dataclass_fields__  # type: ignore[attr-defined]
    return {key: value for key, value in data.items() if key in names}


def run_info(data: dict[str, Any]) -> RunInfo:
    values = _fields(RunInfo, data)
    values["resumes"] = tuple(values.get("resumes") or ())
    return RunInfo(**values)


def run_status(data: dict[str, Any] | None) -> RunStatus:
    values = _fields(RunStatus, data or {})
    values["failed_hosts"] = tuple(values.get("failed_hosts") or ())
    return RunStatus(**values)


def hold_of(data: dict[str, Any]) -> Hold:
    return Hold(**_fields(Hold, data))


def answer_of(data: dict[str, Any]) -> Answer:
    return Answer(**_fields(Answer, data))


def finished_of(data: dict[str, Any], holds: Iterable[Hold]) -> FinishedRun:
    info = run_info(data.get("info") or {})
    return FinishedRun(
        info=info,
        exit_code=int(data.get("exit_code", -1)),
        summary=str(data.get("summary", "")),
        finished=str(data.get("finished", "")),
        holds=tuple(h for h in holds if h.run_id == info.run_id),
    )


def registration(info: RunInfo, status: RunStatus, hosts: Iterable[str]) -> dict[str, Any]:
    return {"info": asdict(info), "status": asdict(status), "hosts": sorted(hosts)}


def live_run(data: dict[str, Any], alive: bool, holds: Iterable[Hold]) -> LiveRun:
    info = run_info(data.get("info") or {})
    return LiveRun(
        info=info,
        alive=alive,
        status=run_status(data.get("status")),
        hosts=tuple(data.get("hosts") or ()),
        holds=tuple(h for h in holds if h.run_id == info.run_id),
    )


def interrupted_summary(why: str) -> str:
    return f"interrupted: {why}"


# --- the interface ------------------------------------------------------------------------


class RunHandle(Protocol):
    """One live run's registration, lease and claims. Close it (or use `with`) when the run ends:
    its claims go; a run that never called `finish` stays registered without a lease, which
    every master reads as interrupted."""

    @property
    def info(self) -> RunInfo: ...

    @property
    def hosts(self) -> tuple[str, ...]:
        """The hosts this run has claimed."""
        ...

    def claim(self, hosts: Iterable[str]) -> None:
        """Claim every host or none, without waiting; LockHeld (exit 4) names each other run
        (its feature, master and the shared hosts) and each hold that refuses it."""
        ...

    def lost(self) -> str | None:
        """Why the run's lease is gone (keepalive failing past the TTL), else None. The run
        stops at its next step boundary."""
        ...

    def update(self, status: RunStatus) -> None: ...

    def hold(self, hosts: Iterable[str], step: str, reason: str) -> list[Hold]:
        """Hold claimed hosts (written before the step that takes them out of the balancer)."""
        ...

    def clear_own(self, hosts: Iterable[str]) -> list[Hold]:
        """Clear this run's holds (and those of the runs it resumes) on hosts it put back
        after every step passed on them."""
        ...

    def take_answer(self) -> Answer | None:
        """The approval or abort given for this run, removed as it is read."""
        ...

    def finish(self, exit_code: int, summary: str) -> FinishedRun:
        """Record the run's last word for every master; its holds stay."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> RunHandle: ...

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None: ...


class FleetStore(Protocol):
    @property
    def where(self) -> str:
        """The path or endpoints, as messages name them."""
        ...

    def check(self) -> None:
        """StoreUnavailable unless the store is reachable and writable (before anything changes)."""
        ...

    def open_run(self, info: RunInfo) -> RunHandle: ...

    def holds(self) -> list[Hold]: ...

    def release(self, run_id: str, hosts: Iterable[str] | None = None, *, user: str, reason: str) -> list[Hold]:
        """Clear a run's holds (all, or on `hosts`); the reason is required. Never unblocks."""
        ...

    def live_runs(self) -> list[LiveRun]: ...

    def answer(
        self, run_id: str, approved: bool, user: str, reason: str | None = None, batch: int | None = None
    ) -> Answer: ...

    def answer_for(self, run_id: str) -> Answer | None: ...

    def finished_runs(self, limit: int = 20) -> list[FinishedRun]: ...

    def close(self) -> None: ...
