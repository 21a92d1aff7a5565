"""Run a Plan over pinned hosts, batch by batch, step by step; halt at the first failure.

Execution only emits events (plain dicts) through `emit`; reporters build output from them.
"""

import time

from ..contracts import HostVerdict, StepFinished
from ..steps.calls import short
from .batches import compute_batches

NO_RESPONSE = "no response"
RETRY_INTERVAL = 1.0


def judge(call, reply):
    """(ok, reason) for one host's reply: it returned, retcode 0, and the assertion holds."""
    if not reply or reply.get("failed"):
        return False, NO_RESPONSE
    ret = reply.get("ret")
    retcode = reply.get("retcode") or 0
    reason = call.judge(ret)
    if retcode:
        # The assertion's wording ("installed 1, expected 2") says more than the bare retcode.
        if reason and isinstance(ret, dict):
            return False, reason
        return False, f"retcode {retcode}: {short(ret)}"
    return (reason is None), reason


class Executor:
    def __init__(self, plan, transport, emit, run_id, clock=time.monotonic, sleep=time.sleep):
        self.plan = plan
        self.transport = transport
        self.emit = emit
        self.run_id = run_id
        self.clock = clock
        self.sleep = sleep
        self.blocked = set()  # hosts whose block passed and whose unblock has not

    def _call_once(self, call, hosts) -> tuple[str, dict[str, HostVerdict]]:
        jid, replies = self.transport.call(hosts, call.fun, call.args, call.kwargs)
        results = {}
        for host in hosts:
            reply = replies.get(host)
            ok, reason = judge(call, reply)
            results[host] = {"ok": ok, "reason": reason, "ret": None if reply is None else reply.get("ret")}
        return jid, results

    def _run_call(self, call, hosts):
        """Per-host results; with `within`, failing hosts (only they) are retried until the deadline."""
        deadline = self.clock() + call.within if call.within else None
        jids, results, todo = [], {}, list(hosts)
        while True:
            jid, got = self._call_once(call, todo)
            jids.append(jid)
            results.update(got)
            todo = [h for h in todo if not got[h]["ok"]]
            if not todo or deadline is None or self.clock() >= deadline:
                return jids, results
            self.sleep(min(RETRY_INTERVAL, max(0.0, deadline - self.clock())))

    def _track_lb(self, call, results):
        for host, res in results.items():
            if res["ok"] and call.lb_effect == "block":
                self.blocked.add(host)
            elif res["ok"] and call.lb_effect == "unblock":
                self.blocked.discard(host)

    def _step_event(
        self, b_index, s_index, p_index, pstep, status, hosts, results=None, jids=(), duration=0.0
    ) -> StepFinished:
        results = results or {}
        return {
            "event": "step_finished",
            "run_id": self.run_id,
            "batch": b_index,
            "scenario": s_index,
            "scenario_name": self.plan.scenarios[s_index].scenario.name,
            "step": p_index,
            "keyword": pstep.step.keyword,
            "text": pstep.step.text,
            "location": pstep.step.location,
            "status": status,
            "hosts_in_batch": list(hosts),
            "results": results,
            "passed": sorted(h for h, r in results.items() if r["ok"]),
            "failed": sorted(h for h, r in results.items() if not r["ok"]),
            "jids": [j for j in jids if j],
            "duration": round(duration, 3),
            "call": pstep.call.as_dict() if pstep.call else None,
        }

    def run(self, pinned) -> int:
        batches = compute_batches(pinned, self.plan.batch)
        started = self.clock()
        self.emit(
            {
                "event": "run_started",
                "run_id": self.run_id,
                "name": self.plan.name,
                "feature": self.plan.feature.name,
                "uri": self.plan.feature.uri,
                "target": self.plan.target,
                "feature_line": self.plan.feature.line,
                "feature_description": self.plan.feature.description,
                "feature_tags": list(self.plan.feature.tags),
                "pinned": sorted(pinned),
                "batches": batches,
                "scenarios": [s.scenario.name for s in self.plan.scenarios],
            }
        )
        failed_at = None
        for b_index, hosts in enumerate(batches):
            if failed_at is not None:
                self.emit({"event": "batch_skipped", "run_id": self.run_id, "batch": b_index, "hosts": hosts})
                continue
            for s_index, pscenario in enumerate(self.plan.scenarios):
                for p_index, pstep in enumerate(pscenario.steps):
                    if failed_at is not None:
                        self.emit(self._step_event(b_index, s_index, p_index, pstep, "skipped", hosts))
                    elif pstep.context_only:
                        # Given steps shaped the whole run: report them once, not per batch.
                        if b_index == 0:
                            self.emit(self._step_event(b_index, s_index, p_index, pstep, "passed", hosts))
                    else:
                        t0 = self.clock()
                        jids, results = self._run_call(pstep.call, hosts)
                        self._track_lb(pstep.call, results)
                        status = "passed" if all(r["ok"] for r in results.values()) else "failed"
                        self.emit(
                            self._step_event(
                                b_index, s_index, p_index, pstep, status, hosts, results, jids, self.clock() - t0
                            )
                        )
                        if status == "failed":
                            failed_at = (b_index, s_index, p_index)
        retcode = 1 if failed_at is not None else 0
        self.emit(
            {
                "event": "run_finished",
                "run_id": self.run_id,
                "retcode": retcode,
                "still_blocked": sorted(self.blocked),
                "duration": round(self.clock() - started, 3),
            }
        )
        return retcode
