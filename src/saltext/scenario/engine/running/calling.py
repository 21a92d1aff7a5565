"""How one step's call reaches its hosts and how each host's reply is judged.

A host passes when it returned, its retcode is 0 and the step's check holds on its return.
A call may be retried on its failing hosts until a deadline (`within`), run once on a
delegate minion for all the hosts (its answer holds a verdict per host), or given per-host
arguments (hosts with the same arguments share one publish). Every call carries the step's
`cut` (ports.Cut, set by the executor): the transport stops waiting when it says so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, cast

from ..contracts import HostVerdict
from ..steps.calls import NoCall, SaltCall, short

NO_RESPONSE = "no response"
RETRY_INTERVAL = 1.0

Reply = Mapping[str, object]  # one host's {"ret", "retcode", "failed", "why"}
Cut = Callable[[], str | None]  # why a call must stop waiting now, or None (ports.Cut)
Results = dict[str, HostVerdict]
HostArgs = tuple[object, ...] | NoCall


class Transport(Protocol):
    def call(
        self,
        hosts: Sequence[str],
        fun: str,
        args: Sequence[Any],
        kwargs: dict[str, Any],
        cut: Cut | None = None,
    ) -> tuple[str | None, Mapping[str, Reply | None]]: ...

    def call_many(
        self,
        hosts: Sequence[str],
        calls: Sequence[tuple[str, Sequence[Any], dict[str, Any]]],
        cut: Cut | None = None,
    ) -> tuple[str | None, Mapping[str, Sequence[Reply | None] | None]]: ...


def judge(call: SaltCall, reply: Reply | None) -> tuple[bool, str | None]:
    """(ok, reason) for one host's reply: it returned, retcode 0, and the assertion holds."""
    if not reply or reply.get("failed"):
        why = (reply or {}).get("why")
        return False, str(why) if why else NO_RESPONSE
    ret = reply.get("ret")
    retcode = reply.get("retcode") or 0
    reason = call.judge(ret)
    if retcode:
        # The assertion's wording ("installed 1, expected 2") says more than the bare retcode.
        if reason and isinstance(ret, dict):
            return False, reason
        return False, f"retcode {retcode}: {short(ret)}"
    return (reason is None), reason


def verdict(call: SaltCall, reply: Reply | None) -> HostVerdict:
    """One host's verdict on `call`, with the step's short report line when it has one."""
    ok, reason = judge(call, reply)
    result: HostVerdict = {"ok": ok, "reason": reason, "ret": None if reply is None else reply.get("ret")}
    summary = call.summary(result["ret"]) if reply and not reply.get("failed") else None
    if summary:
        result["summary"] = summary  # e.g. "2 states, 1 changed": shown beside the verdict
    return result


class Caller:
    """Calls on hosts through the transport; `stopping()` ends a retry loop early."""

    def __init__(
        self,
        transport: Transport,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        stopping: Callable[[], bool],
    ) -> None:
        self.transport = transport
        self.clock = clock
        self.sleep = sleep
        self.stopping = stopping
        self.cut: Cut | None = None  # the step in flight's (the executor sets it per step)

    def call_once(
        self, call: SaltCall, hosts: Sequence[str], args: Sequence[object] | None = None
    ) -> tuple[str, Results]:
        args = call.args if args is None else args
        if call.delegate:
            return self._delegated(call, hosts, args)
        jid, replies = self.transport.call(hosts, call.fun, args, call.kwargs, cut=self.cut)
        return jid or "", {host: verdict(call, replies.get(host)) for host in hosts}

    def retry(self, call: SaltCall, results: Results, deadline: float) -> list[str]:
        """Retry the hosts that fail `call` (only they) until `deadline`; updates `results`.

        When the step's cut says stop (a stop's grace ran out), the hosts still failing get
        its reason: they were cut short, not judged.
        """
        jids: list[str] = []
        todo = [h for h, r in results.items() if not r["ok"]]
        while todo and self.clock() < deadline:
            why = self.cut() if self.cut is not None else None
            if why is not None:
                for host in todo:
                    results[host] = {"ok": False, "reason": why, "ret": results[host].get("ret")}
                break
            if self.cut is None and self.stopping():
                break
            self.sleep(min(RETRY_INTERVAL, max(0.0, deadline - self.clock())))
            jid, got = self.call_once(call, todo)
            jids.append(jid)
            results.update(got)
            todo = [h for h in todo if not got[h]["ok"]]
        return jids

    def run_call(self, call: SaltCall, hosts: Sequence[str]) -> tuple[list[str], Results]:
        """Per-host results; with `within`, failing hosts (only they) are retried until the deadline."""
        deadline = self.clock() + call.within if call.within else None
        jid, results = self.call_once(call, list(hosts))
        jids = [jid]
        if deadline is not None:
            jids += self.retry(call, results, deadline)
        return jids, results

    def per_host(
        self, call: SaltCall, hosts: Sequence[str], per_host: Mapping[str, HostArgs]
    ) -> tuple[list[str], Results]:
        """Hosts grouped by the arguments the run hooks gave them: one publish per group."""
        groups: dict[tuple[object, ...], list[str]] = {}
        results: Results = {}
        jids: list[str] = []
        for host in hosts:
            extra = per_host.get(host, ())
            if isinstance(extra, NoCall):
                results[host] = {"ok": True, "reason": extra.reason, "ret": None}
            else:
                groups.setdefault(tuple(extra), []).append(host)
        for extra, group in sorted(groups.items(), key=lambda item: repr(item[0])):
            jid, got = self.call_once(call, group, args=[*call.args, *extra])
            jids.append(jid)
            results.update(got)
        return jids, results

    def _delegated(self, call: SaltCall, hosts: Sequence[str], args: Sequence[object]) -> tuple[str, Results]:
        """One call on the delegate minion for all `hosts`; each host's verdict comes from its entry."""
        delegate = call.delegate
        if delegate is None:
            raise ValueError(f"{call.fun} is not delegated")
        value = delegate.hosts_value(self.transport, hosts)
        jid, replies = self.transport.call(
            [delegate.minion], call.fun, args, {**call.kwargs, delegate.kwarg: value}, cut=self.cut
        )
        reply = replies.get(delegate.minion)
        _ok, reason = judge(call, reply)
        ret = reply.get("ret") if reply and not reply.get("failed") else None
        entries = cast(Mapping[str, object], ret).get("hosts") if isinstance(ret, dict) else None
        per_host = cast(Mapping[str, object], entries) if isinstance(entries, dict) else {}
        results: Results = {}
        for host in hosts:
            entry = per_host.get(host)
            if isinstance(entry, dict):
                host_ok = entry.get("ok") is True
                why = entry.get("reason") or (None if host_ok else reason or f"not ok on {delegate.minion}")
                results[host] = {"ok": host_ok, "reason": None if why is None else str(why), "ret": entry}
            else:
                results[host] = {
                    "ok": False,
                    "reason": f"{delegate.minion}: {reason or 'no answer for this host'}",
                    "ret": None,
                }
        return jid or "", results
