"""The engine's only contact with Salt: transport, fileserver source, master event bus.

This is the one engine module that imports ``salt``. ``build(opts, settings, saltenv)`` makes
the bundle one runner call uses; the rest of the engine sees these objects only through the
Protocols of ``ports.py``, so it runs without daemons in the unit tests.

Every call goes to an explicit list of pinned minion ids with expect_minions, full_return
and a short gather_job_timeout, so a dead host comes back as "failed" within about
timeout + gather_job_timeout instead of Salt's defaults.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import salt.cache
import salt.client
import salt.exceptions
import salt.fileclient
import salt.utils.event
import salt.utils.minions

from ..config import Settings
from .errors import InvalidScenario
from .gates.prometheus import client_from_settings
from .parsing.names import MAX_FEATURE_BYTES
from .parsing.source import read_limited
from .ports import CallSpec, Cut, EventBus, FeatureSource, MetricsSource, Reply, Transport
from .store import FleetStore, open_store

log = logging.getLogger(__name__)

# Seconds between reads of a job's returns while nothing arrives (and between `cut` checks).
POLL_INTERVAL = 0.05
# How a cut job is stopped on a host: SIGTERM first (the job may clean up), then SIGKILL;
# after each, up to KILL_CHECKS find_job checks KILL_CHECK_INTERVAL apart.
KILL_FUNCTIONS = ("saltutil.term_job", "saltutil.kill_job")
KILL_CHECKS = 3
KILL_CHECK_INTERVAL = 0.5


class SaltTransport:
    """Discovery and calls through the master's LocalClient; `opts` are the master's."""

    def __init__(self, opts: dict[str, Any], settings: Settings, bus: MasterEventBus | None = None) -> None:
        self.opts = opts
        # Long jobs are not cut off at `timeout` (Salt keeps waiting while find_job says they
        # run); the caller's `cut` ends the wait (a step's deadline, a stop).
        self.timeout = settings.timeout
        self.discovery_timeout = settings.discovery_timeout
        self.gather_job_timeout = settings.gather_job_timeout
        self.client: Any = salt.client.get_local_client(mopts=opts)
        self.bus = bus or MasterEventBus(opts)
        # The master last seen up: a publish that fails while it restarts is told from one
        # it refused, even when the restart began before the step did.
        self._seen_master = master_process(opts)

    def expected(self, target: str) -> list[str]:
        """Minion ids the master expects for a compound target (from its grains/pillar cache)."""
        return list(salt.utils.minions.CkMinions(self.opts).check_minions(target, "compound")["minions"])

    def minion_data(self, hosts: Sequence[str]) -> dict[str, dict[str, Any]]:
        """{host: {"grains", "pillar"}} from the master's minion data cache (empty when not cached)."""
        cache = salt.cache.factory(self.opts)
        out = {}
        for host in hosts:
            data = cache.fetch(f"minions/{host}", "data") or {}
            out[host] = {"grains": data.get("grains") or {}, "pillar": data.get("pillar") or {}}
        return out

    def _iter(
        self,
        tgt: str | list[str],
        fun: str | list[str],
        args: Sequence[Any],
        kwargs: dict[str, Any],
        tgt_type: str,
        timeout: int | None = None,
        cut: Cut | None = None,
    ) -> tuple[str | None, dict[str, dict[str, Any]], dict[str, str]]:
        """(jid, {host: reply}, {host: why}) where `why` names the hosts a `cut` stopped waiting for.

        Salt's cmd_iter waits as long as find_job says the job runs, with nothing to stop it:
        this publishes with run_job and reads the returns without blocking, asking `cut`
        between reads. When it gives a reason, the hosts that have not answered get the job
        killed on them and fail with that reason (and how the kill went).
        """
        client = self.client
        was_listening = client.event.cpub
        jid: str | None = None
        replies: dict[str, dict[str, Any]] = {}
        try:
            try:
                pub = client.run_job(
                    tgt,
                    fun,
                    arg=list(args),
                    tgt_type=tgt_type,
                    timeout=timeout or self.timeout,
                    kwarg=dict(kwargs) or None,
                    listen=True,
                    gather_job_timeout=self.gather_job_timeout,
                )
            except salt.exceptions.SaltException as exc:
                if not isinstance(tgt, list):
                    raise  # discovery: nothing is blocked yet, the run stops with the error
                # A step's hosts fail with the reason (the run halts and they stay blocked);
                # the exception must not abort the run as an internal error.
                why = self._unpublished(exc)
                return None, {}, dict.fromkeys(tgt, why)
            if not pub:
                return None, {}, {}
            jid = str(pub["jid"])
            returns = client.get_iter_returns(
                jid,
                pub["minions"],
                timeout=timeout or self.timeout,
                tgt=tgt,
                tgt_type=tgt_type,
                expect_minions=True,
                block=False,
                gather_job_timeout=self.gather_job_timeout,
            )
            reason: str | None = None
            try:
                for item in returns:
                    reason = cut() if cut is not None else None
                    if reason is not None:
                        break
                    if item is None:
                        time.sleep(POLL_INTERVAL)  # nothing arrived: get_iter_returns does not sleep itself
                        continue
                    for minion, data in item.items():
                        if minion in ("jid", "minions") or not isinstance(data, dict):
                            continue
                        replies[minion] = data
            finally:
                returns.close()
            if reason is None:
                return jid, replies, {}
            targets = tgt if isinstance(tgt, list) else list(pub["minions"])
            still = [h for h in targets if h not in replies or replies[h].get("failed")]
            outcome = self._kill(jid, still)
            return jid, replies, {h: f"{reason}; {outcome[h]}" for h in still}
        finally:
            if jid is not None:
                _quietly(client, "_clean_up_subscriptions", jid)
            if not was_listening:
                _quietly(client.event, "close_pub")

    def _unpublished(self, exc: Exception) -> str:
        """Why a step's hosts fail when the master did not take its job."""
        lost = _lost_master(self._seen_master, master_process(self.opts))
        if lost is not None:
            return lost
        return f"no response: the salt-master did not take the job ({exc}); it may not have reached the hosts"

    def _kill(self, jid: str, hosts: Sequence[str]) -> dict[str, str]:
        """Kill job `jid` on `hosts` (term_job, then kill_job) and confirm it with find_job.

        Bounded: two signals, each followed by a few find_job checks, every one with the
        gather_job_timeout. Returns per host what happened, for its verdict.
        """
        left = list(hosts)
        for fun in KILL_FUNCTIONS:
            if not left:
                break
            self._quick(left, fun, [jid])
            for check in range(KILL_CHECKS):
                if check:
                    time.sleep(KILL_CHECK_INTERVAL)
                left = self._running(jid, left)
                if not left:
                    break
        return {
            h: f"the job {jid} could not be confirmed killed (saltutil.find_job)" if h in left else f"job {jid} killed"
            for h in hosts
        }

    def _quick(self, hosts: list[str], fun: str, args: list[Any]) -> dict[str, Any]:
        """A short job (kill, find) on `hosts`: {host: return}; a host that does not answer is left out."""
        try:
            got = self.client.cmd(
                hosts, fun, arg=args, tgt_type="list", timeout=self.gather_job_timeout, full_return=True
            )
        except Exception as exc:  # noqa: BLE001 - a kill that cannot be sent is reported, not raised
            log.warning("%s on %s failed: %s", fun, ", ".join(hosts), exc)
            return {}
        return {h: r.get("ret") for h, r in (got or {}).items() if isinstance(r, dict) and not r.get("failed")}

    def _running(self, jid: str, hosts: list[str]) -> list[str]:
        """The hosts that may still run `jid`: find_job found it there, or they did not answer."""
        found = self._quick(hosts, "saltutil.find_job", [jid])
        return [h for h in hosts if h not in found or found[h] not in ({}, None)]

    def ping(self, target: str) -> list[str]:
        """Ids answering test.ping for the compound target: the hosts that get pinned."""
        _jid, replies, _cut = self._iter(target, "test.ping", (), {}, "compound", self.discovery_timeout)
        return [m for m, r in replies.items() if not r.get("failed") and r.get("ret") is True]

    def call(
        self, hosts: Sequence[str], fun: str, args: Sequence[Any], kwargs: dict[str, Any], cut: Cut | None = None
    ) -> tuple[str | None, dict[str, Reply]]:
        """(jid, {host: {"ret", "retcode", "failed"}}) with every requested host present.

        `cut` (ports.Cut) stops the wait: hosts still running then fail with its reason.
        """
        before = master_process(self.opts)
        self._seen_master = before or self._seen_master
        jid, replies, cut_off = self._iter(list(hosts), fun, args, kwargs, "list", cut=cut)
        lost = _lost_master(self._seen_master, master_process(self.opts))
        out: dict[str, Reply] = {}
        for host in hosts:
            reply = replies.get(host)
            if host in cut_off:
                out[host] = {"ret": None, "retcode": None, "failed": True, "why": cut_off[host]}
            elif reply is None or reply.get("failed"):
                out[host] = {"ret": None, "retcode": None, "failed": True, "why": lost}
            else:
                out[host] = {"ret": reply.get("ret"), "retcode": reply.get("retcode", 0) or 0, "failed": False}
        return jid, out

    def call_many(
        self, hosts: Sequence[str], calls: Sequence[CallSpec], cut: Cut | None = None
    ) -> tuple[str | None, dict[str, list[Reply]]]:
        """One compound job of `calls` [(fun, args, kwargs), ...] on `hosts`.

        (jid, {host: [{"ret", "retcode", "failed"} per call]}). Keyword arguments travel as
        data (a dict marked ``__kwarg__``), never as ``key=value`` strings. Salt keys a
        host's returns by function name (by position where the minion sets
        multifunc_ordered), so the caller never puts one function in twice.
        """
        funs = [fun for fun, _args, _kwargs in calls]
        args = [[*a, {"__kwarg__": True, **k}] if k else list(a) for _fun, a, k in calls]
        before = master_process(self.opts)
        self._seen_master = before or self._seen_master
        jid, replies, cut_off = self._iter(list(hosts), funs, args, {}, "list", cut=cut)
        lost = _lost_master(self._seen_master, master_process(self.opts))
        out: dict[str, list[Reply]] = {}
        for host in hosts:
            reply = replies.get(host)
            if host in cut_off:
                out[host] = [{"ret": None, "retcode": None, "failed": True, "why": cut_off[host]} for _ in calls]
            elif reply is None or reply.get("failed"):
                out[host] = [{"ret": None, "retcode": None, "failed": True, "why": lost} for _ in calls]
            else:
                out[host] = [_one_of(reply, index, fun) for index, fun in enumerate(funs)]
        return jid, out

    def fire(self, data: dict[str, Any], tag: str) -> None:
        """Best effort: a run does not fail because the bus is unavailable."""
        self.bus.fire(data, tag)

    def close(self) -> None:
        self.bus.close()
        _destroy(self.client)


class MasterEventBus:
    """The master's event bus, opened on the first event; best effort (never fails a run)."""

    def __init__(self, opts: dict[str, Any]) -> None:
        self.opts = opts
        self._event: Any = None

    def fire(self, data: dict[str, Any], tag: str) -> None:
        try:
            if self._event is None:
                self._event = salt.utils.event.get_master_event(self.opts, self.opts["sock_dir"], listen=False)
            self._event.fire_event(data, tag)
        except Exception as exc:  # noqa: BLE001 - best effort: the bus must not fail a run
            log.warning("could not fire %s on the master bus: %s", tag, exc)

    def close(self) -> None:
        _destroy(self._event)


class FileserverSource:
    """salt://<path> in one saltenv through the master's own fileserver (no minion involved)."""

    def __init__(self, opts: dict[str, Any], saltenv: str = "base", limit: int = MAX_FEATURE_BYTES) -> None:
        self.client: Any = salt.fileclient.FSClient(opts)
        self.saltenv = saltenv
        self.limit = limit

    def read(self, path: str) -> bytes:
        local = self.client.cache_file(f"salt://{path}", self.saltenv)
        if not local or not os.path.isfile(local):
            raise InvalidScenario(f"not found in the fileserver (saltenv {self.saltenv})", f"salt://{path}")
        return read_limited(local, path, self.limit)

    def list(self, prefix: str) -> list[str]:
        return sorted(p for p in self.client.file_list(self.saltenv, prefix=prefix) if p.startswith(prefix))

    def close(self) -> None:
        _destroy(self.client)


@dataclass(frozen=True)
class Adapters:
    """What one runner call reaches Salt and the fleet store through.

    ``transport()`` opens a transport for one run or plan (its caller closes it), so the
    functions that read features only (validate, list, steps) never open a client; ``store()``
    opens the fleet store a run uses (None: the one the settings choose).
    """

    source: FeatureSource
    transport: Callable[[], Transport]
    bus: EventBus
    # Metric gates: the Prometheus the master options name (None: scenario_prometheus_url unset).
    prometheus: Callable[[], MetricsSource | None] = lambda: None
    store: Callable[[], FleetStore] | None = None
    # Webhook URL references (scenario_notify): sdb:// through Salt's sdb, pillar:<key> from the master's pillar.
    resolve: Callable[[str], str] | None = None


def build(opts: dict[str, Any], settings: Settings, saltenv: str = "base") -> Adapters:
    """The Salt adapters of one runner call: `opts` are the master's, `settings` our checked options."""
    return Adapters(
        source=FileserverSource(opts, saltenv=saltenv),
        transport=lambda: SaltTransport(opts, settings),
        bus=MasterEventBus(opts),
        prometheus=lambda: client_from_settings(settings),
        store=lambda: open_store(settings),
        resolve=lambda reference: resolve_reference(opts, saltenv, reference),
    )


def resolve_reference(opts: dict[str, Any], saltenv: str, reference: str) -> str:
    """The value behind ``sdb://profile/key`` or ``pillar:a:b`` (the master's own pillar).

    Raises when it is not found; the caller shows no part of the value (it may be a secret).
    """
    if reference.startswith("sdb://"):
        import salt.utils.sdb

        value = salt.utils.sdb.sdb_get(reference, opts, strict=True)
    elif reference.startswith("pillar:"):
        import salt.pillar
        import salt.utils.data

        pillar = salt.pillar.get_pillar(opts, opts.get("grains") or {}, opts["id"], saltenv=saltenv).compile_pillar()
        value = salt.utils.data.traverse_dict_and_list(pillar, reference[len("pillar:") :], None, delimiter=":")
    else:
        raise InvalidScenario("a reference is sdb://profile/key or pillar:<key>")
    if not isinstance(value, str):
        raise LookupError("the reference resolved to no text")
    return value


def _quietly(thing: Any, method: str, *args: Any) -> None:
    """Call `thing.method(*args)` if it has it; a failure there is only logged (clean-up)."""
    call = getattr(thing, method, None)
    if callable(call):
        try:
            call(*args)
        except Exception as exc:  # noqa: BLE001 - clean-up must not hide the step's verdict
            log.debug("%s(%r) failed: %s", method, args, exc)


def _destroy(thing: Any) -> None:
    destroy = getattr(thing, "destroy", None)
    if destroy:
        try:
            destroy()
        except Exception as exc:  # noqa: BLE001 - closing must not hide the run's verdict
            log.debug("closing %r failed: %s", thing, exc)


def _one_of(reply: dict[str, Any], index: int, fun: str) -> Reply:
    """The reply of call number `index` (function `fun`) in a host's compound return."""
    rets, codes = reply.get("ret"), reply.get("retcode")
    key: int | str = index if isinstance(rets, list) else fun
    try:
        ret = rets[key]  # type: ignore[index]
    except (KeyError, IndexError, TypeError):
        return {"ret": f"no return for {fun} in the compound job: {rets!r}"[:500], "retcode": 1, "failed": False}
    try:
        code = codes[key]  # type: ignore[index]
    except (KeyError, IndexError, TypeError):
        code = None
    if code is None:
        # No retcode for one function of a compound job: it raised on the minion, and Salt put
        # the whole traceback where a single job would have put "ERROR: <message>".
        return {"ret": _raised(ret), "retcode": 1, "failed": False}
    return {"ret": ret, "retcode": code, "failed": False}


_SALT_ERRORS = ("salt.exceptions.CommandExecutionError: ", "salt.exceptions.SaltInvocationError: ")


def _raised(ret: Any) -> Any:
    """A compound job's traceback as a single job reports the error: `ERROR: <message>`."""
    if not isinstance(ret, str) or not ret.startswith("Traceback (most recent call last):"):
        return ret
    last = next((line for line in reversed(ret.splitlines()) if line.strip()), ret)
    for prefix in _SALT_ERRORS:
        if last.startswith(prefix):
            return "ERROR: " + last[len(prefix) :]
    return "ERROR: " + last


def master_process(opts: dict[str, Any]) -> tuple[int, str] | None:
    """(pid, start time) of the salt-master from its pid file, or None when it cannot be told.

    salt-run runs on the master's machine: comparing this before and after a step tells a
    host that did not answer from a master that restarted (or died) while the step waited.
    """
    try:
        with open(opts["pidfile"], encoding="ascii") as handle:
            pid = int(handle.read().strip())
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            # Field 22, the start time, after the command name in parentheses (which may hold spaces).
            start = handle.read().rsplit(")", 1)[1].split()[19]
    except (KeyError, OSError, ValueError, IndexError):
        return None
    return pid, start


def _lost_master(before: tuple[int, str] | None, after: tuple[int, str] | None) -> str | None:
    """Why hosts did not answer, when the master is to blame; None otherwise."""
    if before is None or before == after:
        return None
    if after is None:
        return f"no response: the salt-master (pid {before[0]}) stopped during this step"
    return (
        f"no response: the salt-master restarted during this step (pid {before[0]} -> {after[0]}); "
        "the hosts' answers were lost with it"
    )
