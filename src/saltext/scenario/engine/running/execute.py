"""Run a Plan over pinned hosts, batch by batch, step by step, and roll back when it fails.

Execution only emits events (plain dicts, see contracts.py) through `emit`; reporters build
the return, progress lines, bus events, the journal and the reports from them.

The rules, in the order they apply:
- A host fails a step when it did not return, returned a non-zero retcode, or its return
  does not satisfy the step's check.
- A host that fails a step leaves the run at once: it gets no later step (so a blocked host
  stays blocked) and its batch goes on without it.
- The run halts when more hosts have failed than the failure budget allows (0 by default:
  the first failed host halts it). A batch in which every host failed halts it only then
  too: with `up to 100% of the hosts may fail` a run goes through every batch. Later
  steps and batches are reported as skipped.
- When the run halts, or hosts left it within the budget, the @on-failure scenarios run on
  the hosts of the batch in progress and every host that left, if they still answer. A host
  that fails a rollback step is dropped and left as it is; the others go on.
- A stop request (SIGTERM/SIGINT) lets the step in flight finish and starts nothing new.
"""

import time

from ..contracts import HostVerdict, StepFinished
from ..errors import EXIT_BUDGET, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_PASSED
from ..steps.calls import short
from .approval import Decision
from .batches import allowed_failures, compute_batches

NO_RESPONSE = "no response"
RETRY_INTERVAL = 1.0
PAUSE_SLICE = 0.5


def judge(call, reply):
    """(ok, reason) for one host's reply: it returned, retcode 0, and the assertion holds."""
    if not reply or reply.get("failed"):
        return False, (reply or {}).get("why") or NO_RESPONSE
    ret = reply.get("ret")
    retcode = reply.get("retcode") or 0
    reason = call.judge(ret)
    if retcode:
        # The assertion's wording ("installed 1, expected 2") says more than the bare retcode.
        if reason and isinstance(ret, dict):
            return False, reason
        return False, f"retcode {retcode}: {short(ret)}"
    return (reason is None), reason


def _never():
    return None


class NoApprovals:
    """Without an approval channel an approval step can only fail."""

    def wait(self, run_id, batch, hosts, timeout, stopped):
        return Decision(False, None, "no approval channel is configured for this run")


class Executor:
    def __init__(
        self,
        plan,
        transport,
        emit,
        run_id,
        clock=time.monotonic,
        sleep=time.sleep,
        stop=_never,
        approvals=None,
    ):
        self.plan = plan
        self.transport = transport
        self.emit = emit
        self.run_id = run_id
        self.clock = clock
        self.sleep = sleep
        self.stop = stop  # () -> why the run must stop (e.g. "SIGTERM"), or None
        self.approvals = approvals or NoApprovals()
        self.blocked = set()  # hosts whose block passed and whose unblock has not
        self.left = {}  # host -> where and why it failed and left the run
        self.replaced = {}  # host -> {package: version this run's update replaced}
        self.interrupted = None  # the stop reason, once seen
        self.halted = None  # why the run halted, once it did
        self.allowed = 0
        self.started = None

    # -- one step on a set of hosts ------------------------------------------------------------
    @staticmethod
    def _verdict(call, reply) -> HostVerdict:
        ok, reason = judge(call, reply)
        verdict = {"ok": ok, "reason": reason, "ret": None if reply is None else reply.get("ret")}
        summary = call.summary(verdict["ret"]) if reply and not reply.get("failed") else None
        if summary:
            verdict["summary"] = summary  # e.g. "2 states, 1 changed": shown beside the verdict
        return verdict

    def _call_once(self, call, hosts, args=None) -> tuple[str, dict[str, HostVerdict]]:
        if call.on:
            return self._on_minion(call, hosts)
        args = call.args if args is None else args
        jid, replies = self.transport.call(hosts, call.fun, args, call.kwargs)
        return jid, {host: self._verdict(call, replies.get(host)) for host in hosts}

    def _retry(self, call, results, deadline):
        """Retry the hosts that fail `call` (only they) until `deadline`; updates `results`."""
        jids, todo = [], [h for h, r in results.items() if not r["ok"]]
        while todo and self.clock() < deadline and not self._stopping():
            self.sleep(min(RETRY_INTERVAL, max(0.0, deadline - self.clock())))
            jid, got = self._call_once(call, todo)
            jids.append(jid)
            results.update(got)
            todo = [h for h in todo if not got[h]["ok"]]
        return jids

    def _run_call(self, call, hosts):
        """Per-host results; with `within`, failing hosts (only they) are retried until the deadline."""
        deadline = self.clock() + call.within if call.within else None
        jid, results = self._call_once(call, list(hosts))
        jids = [jid]
        if deadline is not None:
            jids += self._retry(call, results, deadline)
        return jids, results

    def _roll_back(self, call, hosts):
        """Each host gets back the version of the package this run replaced there."""
        by_version, results, jids = {}, {}, []
        for host in hosts:
            version = self.replaced.get(host, {}).get(call.rollback_of)
            if version is None:
                results[host] = {"ok": True, "reason": "this run did not change the package here", "ret": None}
            else:
                by_version.setdefault(version, []).append(host)
        for version, group in sorted(by_version.items()):
            jid, got = self._call_once(call, group, args=[*call.args, version])
            jids.append(jid)
            results.update(got)
        return jids, results

    def _on_minion(self, call, hosts):
        """One call on `call.on` for all `hosts`; each host's verdict comes from its entry."""
        value = call.hosts_arg(self.transport, hosts) if call.hosts_arg else list(hosts)
        jid, replies = self.transport.call([call.on], call.fun, call.args, {**call.kwargs, call.hosts_kwarg: value})
        reply = replies.get(call.on)
        _ok, reason = judge(call, reply)
        per_host = (reply or {}).get("ret") if reply and not reply.get("failed") else None
        per_host = per_host.get("hosts") if isinstance(per_host, dict) else None
        results = {}
        for host in hosts:
            entry = per_host.get(host) if isinstance(per_host, dict) else None
            if isinstance(entry, dict):
                host_ok = entry.get("ok") is True
                why = entry.get("reason") or (None if host_ok else reason or f"not ok on {call.on}")
                results[host] = {"ok": host_ok, "reason": why, "ret": entry}
            else:
                why = f"{call.on}: {reason or 'no answer for this host'}"
                results[host] = {"ok": False, "reason": why, "ret": None}
        return jid, results

    def _approve(self, gate, b_index, hosts):
        so_far = sorted({h for batch in self.batches[: b_index + 1] for h in batch})
        self.emit(
            {
                "event": "approval_wanted",
                "run_id": self.run_id,
                "batch": b_index,
                "hosts": list(hosts),
                "hosts_so_far": so_far,
                "timeout": gate.within,
                "approve": f"salt-run scenario.approve {self.run_id}",
                "abort": f"salt-run scenario.abort {self.run_id} reason='...'",
            }
        )
        decision = self.approvals.wait(self.run_id, b_index, list(hosts), gate.within, self._stopping)
        self.emit(
            {
                "event": "approval_finished",
                "run_id": self.run_id,
                "batch": b_index,
                "approved": decision.approved,
                "user": decision.user,
                "reason": decision.reason,
            }
        )
        verdict = {"ok": decision.approved, "reason": decision.reason, "ret": {"user": decision.user}}
        return [], {h: dict(verdict) for h in hosts}

    def _execute(self, pstep, b_index, hosts):
        if pstep.gate is not None:
            return self._approve(pstep.gate, b_index, hosts)
        if pstep.call.rollback_of:
            return self._roll_back(pstep.call, hosts)
        return self._run_call(pstep.call, hosts)

    def _track(self, call, results):
        if call is None:
            return
        for host, res in results.items():
            if not res["ok"]:
                # A drain that timed out left the host drained (firewall) or in drain (HAProxy).
                ret = res.get("ret")
                if call.lb_effect == "block" and isinstance(ret, dict) and ret.get("out_of_rotation") is True:
                    self.blocked.add(host)
                continue
            if call.lb_effect == "block":
                self.blocked.add(host)
            elif call.lb_effect == "unblock":
                self.blocked.discard(host)
            ret = res.get("ret")
            if call.records_version and isinstance(ret, dict) and ret.get("changed"):
                # The first update of the run says what to go back to.
                self.replaced.setdefault(host, {}).setdefault(call.records_version, ret.get("old"))

    # -- events -----------------------------------------------------------------------------------
    def _step_event(
        self, b_index, s_index, p_index, pstep, status, hosts, results=None, jids=(), duration=0.0, phase="deploy"
    ) -> StepFinished:
        results = results or {}
        return {
            "event": "step_finished",
            "run_id": self.run_id,
            "phase": phase,
            "batch": b_index,
            "scenario": s_index,
            "scenario_name": self.plan.all_scenarios[s_index].scenario.name,
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

    def _stopping(self):
        if self.interrupted is None:
            self.interrupted = self.stop()
        return self.interrupted is not None

    # -- the deploy ---------------------------------------------------------------------------------
    def _leave(self, host, pstep, reason, b_index):
        self.left[host] = {
            "step": f"{pstep.step.keyword} {pstep.step.text}",
            "location": pstep.step.location,
            "reason": reason,
            "batch": b_index,
        }

    def _run_step(self, b_index, s_index, p_index, pstep, hosts, active):
        """Run one step of a batch on its active hosts; failing hosts leave `active`."""
        t0 = self.clock()
        jids, results = self._execute(pstep, b_index, list(active))
        self._conclude(b_index, s_index, p_index, pstep, hosts, active, results, jids, self.clock() - t0)

    def _run_group(self, b_index, s_index, indexes, hosts, active):
        """A When and the Then steps riding in its publish: one job, a verdict per step and host.

        A host that failed an earlier step of the group has left: its later steps are
        skipped. A failing Then with `within` is retried alone on its failing hosts.
        """
        steps = self.plan.all_scenarios[s_index].steps
        calls = [steps[i].call for i in indexes]
        t0 = self.clock()
        jid, replies = self.transport.call_many(
            list(active), [(c.publish_fun or c.fun, c.args, c.kwargs) for c in calls]
        )
        elapsed = self.clock() - t0
        for k, (p_index, call) in enumerate(zip(indexes, calls, strict=True)):
            pstep = steps[p_index]
            if self.halted:
                self.emit(self._step_event(b_index, s_index, p_index, pstep, "skipped", hosts))
                continue
            results = {h: self._verdict(call, (replies.get(h) or [None] * len(calls))[k]) for h in active}
            jids, t1 = [jid], self.clock()
            if call.within:
                jids += self._retry(call, results, t0 + call.within)
            duration = (elapsed if k == 0 else 0.0) + (self.clock() - t1)
            self._conclude(b_index, s_index, p_index, pstep, hosts, active, results, jids, duration)

    def _conclude(self, b_index, s_index, p_index, pstep, hosts, active, results, jids, duration):
        """Record one step's verdicts: failing hosts leave `active`; the run may halt."""
        self._track(pstep.call, results)
        failed = [h for h in active if not results[h]["ok"]]
        for host in failed:
            self._leave(host, pstep, results[host]["reason"], b_index)
            active.remove(host)
        status = "failed" if failed else "passed"
        self.emit(self._step_event(b_index, s_index, p_index, pstep, status, hosts, results, jids, duration))
        if not failed:
            return
        # A batch in which every host failed is no special case: it halts the run unless the
        # budget allows all those failures (Ansible stops there even at 100%; we count).
        if len(self.left) > self.allowed:
            if not active and self.allowed:
                why = f"every host of batch {b_index + 1} failed: {len(self.left)} failed hosts, budget {self.allowed}"
            elif self.allowed:
                why = f"{len(self.left)} host(s) failed, more than the failure budget of {self.allowed}"
            else:
                why = f"{pstep.step.keyword} {pstep.step.text} failed at {pstep.step.location}"
            self.halted = why

    def _run_batch(self, b_index, hosts, first):
        active = list(hosts)
        for s_index, pscenario in enumerate(self.plan.scenarios):
            for group in pscenario.groups:
                lead = pscenario.steps[group[0]]
                if lead.context_only:
                    # Given steps shaped the whole run: report them once, not per batch.
                    if first:
                        self.emit(self._step_event(b_index, s_index, group[0], lead, "passed", hosts))
                elif self.halted or self._stopping():
                    for p_index in group:
                        self.emit(
                            self._step_event(b_index, s_index, p_index, pscenario.steps[p_index], "skipped", hosts)
                        )
                elif len(group) > 1:
                    self._run_group(b_index, s_index, group, hosts, active)
                else:
                    self._run_step(b_index, s_index, group[0], lead, hosts, active)
        return active

    def _pause(self, seconds):
        deadline = self.clock() + seconds
        while self.clock() < deadline and not self._stopping():
            self.sleep(min(PAUSE_SLICE, deadline - self.clock()))

    # -- the rollback -----------------------------------------------------------------------------
    def _answering(self, hosts):
        _jid, replies = self.transport.call(hosts, "test.ping", [], {})
        return [h for h in hosts if (replies.get(h) or {}).get("ret") is True]

    def _rollback(self, in_progress):
        targets = sorted(set(in_progress) | set(self.left))
        offset = len(self.plan.scenarios)
        if not self.plan.rollback or not targets or self.interrupted:
            return None
        alive = self._answering(targets)
        self.emit(
            {
                "event": "rollback_started",
                "run_id": self.run_id,
                "hosts": alive,
                "unreachable": sorted(set(targets) - set(alive)),
            }
        )
        active = list(alive)
        dropped = {}
        for r_index, pscenario in enumerate(self.plan.rollback):
            s_index = offset + r_index
            for p_index, pstep in enumerate(pscenario.steps):
                if pstep.context_only:
                    self.emit(self._step_event(-1, s_index, p_index, pstep, "passed", alive, phase="rollback"))
                    continue
                if not active:
                    self.emit(self._step_event(-1, s_index, p_index, pstep, "skipped", alive, phase="rollback"))
                    continue
                t0 = self.clock()
                jids, results = self._execute(pstep, -1, list(active))
                self._track(pstep.call, results)
                failed = [h for h in active if not results[h]["ok"]]
                for host in failed:
                    # Dropped and left as it is: a host whose rollback failed is never unblocked.
                    dropped[host] = {
                        "step": f"{pstep.step.keyword} {pstep.step.text}",
                        "reason": results[host]["reason"],
                    }
                    active.remove(host)
                status = "failed" if failed else "passed"
                self.emit(
                    self._step_event(
                        -1, s_index, p_index, pstep, status, alive, results, jids, self.clock() - t0, phase="rollback"
                    )
                )
        return {
            "hosts": alive,
            "rolled_back": active,
            "failed": dropped,
            "unreachable": sorted(set(targets) - set(alive)),
        }

    # -- the run --------------------------------------------------------------------------------------
    def run(self, pinned, batches=None, done=None) -> int:
        """Run on the pinned hosts; `batches` and `done` ({index: why}) resume an earlier run."""
        self.batches = batches or compute_batches(pinned, self.plan.batch)
        done = done or {}
        self.allowed = allowed_failures(self.plan.budget, len(pinned))
        self.started = self.clock()
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
                "batches": self.batches,
                "scenarios": [s.scenario.name for s in self.plan.all_scenarios],
                # Every step, run or not: what a report of this run needs even if it dies.
                "plan": [
                    {
                        "name": s.scenario.name,
                        "location": s.scenario.location,
                        "tags": list(s.scenario.tags),
                        "on_failure": s.rollback,
                        "steps": [st.as_dict() for st in s.steps],
                    }
                    for s in self.plan.all_scenarios
                ],
                "allowed_failures": self.allowed,
                "feature_sha256": self.plan.feature.sha256,
                # Steps that ask hosts something, per batch: a batch passed when all of them did.
                "deploy_steps": sum(1 for sc in self.plan.scenarios for st in sc.steps if not st.context_only),
            }
        )
        in_progress, first = [], True
        for b_index, hosts in enumerate(self.batches):
            if b_index in done:
                self.emit(self._batch_skipped(b_index, hosts, done[b_index]))
                continue
            if self.halted or self._stopping():
                self.emit(self._batch_skipped(b_index, hosts, "interrupted" if self.interrupted else "halted"))
                continue
            if not first and self.plan.pause:
                self._pause(self.plan.pause)
                if self._stopping():
                    self.emit(self._batch_skipped(b_index, hosts, "interrupted"))
                    continue
            self.emit(self._batch_started(b_index, hosts))
            in_progress = hosts
            self._run_batch(b_index, hosts, first)
            first = False
        rollback = self._rollback(in_progress if self.halted else [])
        if self.interrupted:
            retcode = EXIT_INTERRUPTED
        elif self.halted:
            retcode = EXIT_FAILED
        elif self.left:
            retcode = EXIT_BUDGET
        else:
            retcode = EXIT_PASSED
        self._finished(retcode, rollback)
        return retcode

    def abort(self, reason):
        """End a run whose step was cut off (no signal handler could be set): interrupted."""
        self.interrupted = self.interrupted or reason
        self._finished(EXIT_INTERRUPTED, None)

    def _finished(self, retcode, rollback):
        self.emit(
            {
                "event": "run_finished",
                "run_id": self.run_id,
                "retcode": retcode,
                "still_blocked": sorted(self.blocked),
                "duration": round(self.clock() - (self.started or self.clock()), 3),
                "interrupted": self.interrupted,
                "halted": self.halted,
                "left": dict(sorted(self.left.items())),
                "allowed_failures": self.allowed,
                "rollback": rollback,
                "replaced": {h: dict(v) for h, v in sorted(self.replaced.items())},
            }
        )

    def _batch_skipped(self, b_index, hosts, why):
        return {"event": "batch_skipped", "run_id": self.run_id, "batch": b_index, "hosts": hosts, "reason": why}

    def _batch_started(self, b_index, hosts):
        return {
            "event": "batch_started",
            "run_id": self.run_id,
            "batch": b_index,
            "count": len(self.batches),
            "hosts": list(hosts),
            "elapsed": round(self.clock() - self.started, 3),
        }
