"""Run a Plan over pinned hosts, batch by batch, step by step, and recover when it fails.

Execution only emits events (plain dicts, see contracts.py, built by executor_events.py)
through `emit`; reporters build the return, progress lines, bus events, the journal and the
reports from them. What a step means for the fleet is the plan's business (its run hooks, see
running/fleet_effects.py): they see every event first, may give a step per-host arguments, and
add their fields to the run's end. This module only calls, judges and decides what runs next.

The rules, in the order they apply:
- Before each step (or group of steps sharing one publish) runs, `step_started` names it,
  its hosts and its declared effects. A listener that must succeed may refuse it by raising
  a ScenarioError: the run then stops there, as interrupted, with its hosts as they are.
- A host fails a step when it did not return, returned a non-zero retcode, or its return
  does not satisfy the step's check.
- A host that fails a step leaves the run at once: it gets no later step (so it stays as
  the step left it) and its batch goes on without it.
- The run halts when more hosts have failed than the failure budget allows (0 by default:
  the first failed host halts it). A batch in which every host failed halts it only then
  too: with `up to 100% of the hosts may fail` a run goes through every batch. Later
  steps and batches are reported as skipped.
- When the run halts, the recovery scenarios run on the hosts of the batch in progress and
  every host that left, if they still answer. A host that fails a recovery step is dropped
  and left as it is; the others go on.
- Every step (or group sharing one publish) has a deadline from publish to verdict: its
  own (`taking at most`, a library's `deadline:`), a Then's `within` plus the step timeout,
  else the master's `scenario_step_deadline`. Hosts still running it then fail ("still
  running after N s"); the transport kills their job. Thens sharing a When's publish share
  its deadline.
- A stop request (SIGTERM/SIGINT) starts nothing new; the step in flight gets the stop grace,
  then its job is killed on the hosts still running it, which are recorded as "interrupted
  mid-step" (a second stop does that at once).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol, cast

from ...config import DEFAULT_STEP_DEADLINE, DEFAULT_STOP_GRACE, DEFAULT_TIMEOUT
from ..contracts import INTERRUPTED_MID_STEP
from ..errors import EXIT_BUDGET, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_PASSED, ScenarioError
from ..ports import MetricsSource
from ..steps.calls import ApprovalGate, SaltCall
from ..steps.effects import RECOVERY_PHASE, RECOVERY_STARTED
from ..steps.master import MasterCheck, MasterContext
from .approval import Decision
from .batches import allowed_failures, compute_batches
from .calling import Caller, Cut, HostArgs, Results, Transport, verdict
from .executor_events import DEPLOY_PHASE, RunEvents
from .plan import Plan, PlannedScenario, PlannedStep

PAUSE_SLICE = 0.5

Event = Mapping[str, object]


class Approvals(Protocol):
    def wait(
        self, run_id: str, batch: int, hosts: list[str], timeout: int, stopped: Callable[[], bool]
    ) -> Decision: ...


class RunHooks(Protocol):
    """What the plan adds to a run beyond calling and judging (running/fleet_effects.py)."""

    def observe(self, event: Event) -> None:
        """Sees every event before the reporters do."""

    def host_args(self, pstep: PlannedStep, hosts: Sequence[str]) -> Mapping[str, HostArgs] | None:
        """Per host, arguments appended to the step's call (or NoCall: the host passes without
        one); None when the step's call is the same on every host."""

    def final_fields(self) -> Mapping[str, object]:
        """Fields added to run_finished."""


def _never() -> str | None:
    return None


class NoApprovals:
    """Without an approval channel an approval step can only fail."""

    def wait(self, run_id: str, batch: int, hosts: list[str], timeout: int, stopped: Callable[[], bool]) -> Decision:
        return Decision(False, None, "no approval channel is configured for this run")


class Executor:
    def __init__(
        self,
        plan: Plan,
        transport: Transport,
        emit: Callable[[Event], object],
        run_id: str,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        stop: Callable[[], str | None] = _never,
        approvals: Approvals | None = None,
        hooks: RunHooks | None = None,
        prometheus: MetricsSource | None = None,
        step_deadline: float = DEFAULT_STEP_DEADLINE,
        stop_grace: float = DEFAULT_STOP_GRACE,
        answer_time: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.plan = plan
        self.transport = transport
        self.emit = emit
        self.run_id = run_id
        self.clock = clock
        self.sleep = sleep
        self.stop = stop  # () -> why the run must stop (e.g. "SIGTERM"), or None
        self.approvals: Approvals = approvals or NoApprovals()
        self.hooks: RunHooks = hooks if hooks is not None else plan.run_hooks()
        self.events = RunEvents(plan, run_id)
        self.caller = Caller(transport, clock, sleep, self._stopping)
        self.left: dict[str, dict[str, object]] = {}  # host -> where and why it failed and left the run
        self.interrupted: str | None = None  # the stop reason, once seen
        self.stop_code = EXIT_INTERRUPTED  # the exit code of a stop (a refusing listener names its own)
        self.refused = False  # a listener refused a step: nothing more runs, recovery included
        self.halted: str | None = None  # why the run halted, once it did
        self.allowed = 0
        self.started: float | None = None
        self.batches: list[list[str]] = []
        # Master-side steps (metric gates) ask through this, on the run's clock.
        self.master = MasterContext(transport, prometheus, clock, sleep)
        self.step_deadline = step_deadline  # seconds a step may take unless it says otherwise
        self.stop_grace = stop_grace  # seconds the step in flight gets after a first stop
        self.answer_time = answer_time  # what a within-step's last try gets to answer (the step timeout)
        self.stop_seen: float | None = None  # when this executor first saw the stop (its clock)

    def _emit(self, event: Event) -> None:
        self.hooks.observe(event)
        self.emit(event)

    # -- one step on a set of hosts ------------------------------------------------------------
    def _approve(self, gate: ApprovalGate, b_index: int, hosts: Sequence[str]) -> tuple[list[str], Results]:
        so_far = sorted({h for batch in self.batches[: b_index + 1] for h in batch})
        self._emit(self.events.approval_wanted(b_index, hosts, so_far, gate.within))
        decision = self.approvals.wait(self.run_id, b_index, list(hosts), gate.within, self._stopping)
        self._emit(self.events.approval_finished(b_index, decision))
        ret = {"user": decision.user}
        return [], {h: {"ok": decision.approved, "reason": decision.reason, "ret": dict(ret)} for h in hosts}

    def _check_on_master(self, check: MasterCheck, hosts: Sequence[str]) -> tuple[list[str], Results]:
        """A master-side step: evaluated once for the batch; every host carries its verdict."""
        verdict = check.check(list(hosts), self.master, self._stopping)
        return [], {h: {"ok": verdict.ok, "reason": verdict.reason, "ret": dict(verdict.data)} for h in hosts}

    def _execute(self, pstep: PlannedStep, b_index: int, hosts: Sequence[str]) -> tuple[list[str], Results]:
        if pstep.gate is not None:
            return self._approve(pstep.gate, b_index, hosts)
        if pstep.check is not None:
            return self._check_on_master(pstep.check, hosts)
        call = pstep.call
        if call is None:
            raise ValueError(f"{pstep.step.location}: a context-only step has nothing to run")
        per_host = self.hooks.host_args(pstep, hosts)
        if per_host is not None:
            return self.caller.per_host(call, hosts, per_host)
        return self.caller.run_call(call, hosts)

    # -- announcing a step ------------------------------------------------------------------------
    def _announce(
        self, b_index: int, s_index: int, indexes: Sequence[int], hosts: Sequence[str], phase: str = DEPLOY_PHASE
    ) -> bool:
        """`step_started` before a step's (or a fused group's) publish; False when a listener refused it."""
        event = self.events.step_started(b_index, s_index, indexes, hosts, phase)
        try:
            self._emit(event)
        except ScenarioError as exc:
            # E.g. a fleet-wide record that must be written before hosts are touched: nothing
            # of this step runs, nothing after it either, and the hosts stay as they are.
            self.interrupted = self.interrupted or str(exc)
            self.stop_code, self.refused = exc.retcode, True
            return False
        return True

    def _stopping(self) -> bool:
        if self.interrupted is None:
            self.interrupted = self.stop()
        if self.interrupted is not None and self.stop_seen is None:
            self.stop_seen = self.clock()
        return self.interrupted is not None

    # -- deadlines and stops of the step in flight ----------------------------------------------
    def _limit(self, pstep: PlannedStep) -> float:
        """Seconds `pstep` (or the group it leads) may take from publish to verdict."""
        call = pstep.call
        if call is not None and call.deadline:
            return call.deadline
        if call is not None and call.within:
            return call.within + self.answer_time
        return self.step_deadline

    def _cut(self, limit: float, started: float) -> Cut:
        """What the transport asks while the step waits: its deadline, a stop's grace, a second stop."""

        def cut() -> str | None:
            now = self.clock()
            if self._stopping():
                again = getattr(self.stop, "again", None)
                if again:
                    return f"{INTERRUPTED_MID_STEP}: {again} after {self.interrupted}, the step was abandoned at once"
                if now - (self.stop_seen or now) >= self.stop_grace:
                    grace = f"the stop grace of {self.stop_grace:g} s ran out"
                    return f"{INTERRUPTED_MID_STEP}: {self.interrupted}, and {grace}"
            if now - started >= limit:
                return f"still running after {limit:g} s"
            return None

        return cut

    # -- the deploy ---------------------------------------------------------------------------------
    def _leave(self, host: str, pstep: PlannedStep, reason: str | None, b_index: int) -> None:
        self.left[host] = {
            "step": f"{pstep.step.keyword} {pstep.step.text}",
            "location": pstep.step.location,
            "reason": reason,
            "batch": b_index,
        }

    def _skip(self, b_index: int, s_index: int, indexes: Sequence[int], hosts: Sequence[str], phase: str) -> None:
        steps = self.plan.all_scenarios[s_index].steps
        for p_index in indexes:
            self._emit(
                self.events.step_finished(b_index, s_index, p_index, steps[p_index], "skipped", hosts, phase=phase)
            )

    def _run_step(
        self, b_index: int, s_index: int, p_index: int, pstep: PlannedStep, hosts: list[str], active: list[str]
    ) -> None:
        """Run one step of a batch on its active hosts; failing hosts leave `active`."""
        if not self._announce(b_index, s_index, [p_index], active):
            self._skip(b_index, s_index, [p_index], hosts, DEPLOY_PHASE)
            return
        t0 = self.clock()
        self.caller.cut = self._cut(self._limit(pstep), t0)
        try:
            jids, results = self._execute(pstep, b_index, list(active))
        finally:
            self.caller.cut = None
        self._conclude(b_index, s_index, p_index, pstep, hosts, active, results, jids, self.clock() - t0)

    def _run_group(self, b_index: int, s_index: int, indexes: list[int], hosts: list[str], active: list[str]) -> None:
        """A When and the Then steps riding in its publish: one job, a verdict per step and host.

        A host that failed an earlier step of the group has left: its later steps are
        skipped. A failing Then with `within` is retried alone on its failing hosts.
        """
        pscenario = self.plan.all_scenarios[s_index]
        steps = pscenario.steps
        calls = [cast(SaltCall, steps[i].call) for i in indexes]
        if not self._announce(b_index, s_index, indexes, active):
            self._skip(b_index, s_index, indexes, hosts, DEPLOY_PHASE)
            return
        t0 = self.clock()
        # The Thens riding in the When's publish share its deadline.
        group_cut = self._cut(self._limit(steps[indexes[0]]), t0)
        jid, replies = self.transport.call_many(
            list(active),
            [(pscenario.publish_fun(i), c.args, c.kwargs) for i, c in zip(indexes, calls, strict=True)],
            cut=group_cut,
        )
        # One job ran the group and no host says how long each function took: the publish's
        # time goes on the line of the step that decided it (the first a host failed), else
        # on the last step's, when the job ended; each step adds its own retries.
        pending = self.clock() - t0
        last = len(indexes) - 1
        for k, (p_index, call) in enumerate(zip(indexes, calls, strict=True)):
            pstep = steps[p_index]
            if self.halted:
                self._emit(self.events.step_finished(b_index, s_index, p_index, pstep, "skipped", hosts))
                continue
            results = {h: verdict(call, (replies.get(h) or [None] * len(calls))[k]) for h in active}
            jids, t1 = [jid or ""], self.clock()
            if call.within:
                self.caller.cut = self._cut(self._limit(pstep), t0)
                try:
                    jids += self.caller.retry(call, results, t0 + call.within)
                finally:
                    self.caller.cut = None
            shared = pending if k == last or any(not results[h]["ok"] for h in active) else 0.0
            pending -= shared
            duration = shared + (self.clock() - t1)
            self._conclude(b_index, s_index, p_index, pstep, hosts, active, results, jids, duration)

    def _conclude(
        self,
        b_index: int,
        s_index: int,
        p_index: int,
        pstep: PlannedStep,
        hosts: list[str],
        active: list[str],
        results: Results,
        jids: Sequence[str],
        duration: float,
    ) -> None:
        """Record one step's verdicts: failing hosts leave `active`; the run may halt."""
        failed = [h for h in active if not results[h]["ok"]]
        for host in failed:
            self._leave(host, pstep, results[host]["reason"], b_index)
            active.remove(host)
        status = "failed" if failed else "passed"
        self._emit(self.events.step_finished(b_index, s_index, p_index, pstep, status, hosts, results, jids, duration))
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
                # A step a stop cut short was interrupted, not failed: the halt says so.
                cut = all(str(results[h]["reason"]).startswith(INTERRUPTED_MID_STEP) for h in failed)
                how = "interrupted" if cut else "failed"
                why = f"{pstep.step.keyword} {pstep.step.text} {how} at {pstep.step.location}"
            self.halted = why

    def _run_batch(self, b_index: int, hosts: list[str], first: bool) -> list[str]:
        active = list(hosts)
        for s_index, pscenario in enumerate(self.plan.scenarios):
            for group in pscenario.groups:
                lead = pscenario.steps[group[0]]
                if lead.context_only:
                    # Given steps shaped the whole run: report them once, not per batch.
                    if first:
                        self._emit(self.events.step_finished(b_index, s_index, group[0], lead, "passed", hosts))
                elif self.halted or self._stopping():
                    self._skip(b_index, s_index, group, hosts, DEPLOY_PHASE)
                elif len(group) > 1:
                    self._run_group(b_index, s_index, group, hosts, active)
                else:
                    self._run_step(b_index, s_index, group[0], lead, hosts, active)
        return active

    def _pause(self, seconds: float) -> None:
        deadline = self.clock() + seconds
        while self.clock() < deadline and not self._stopping():
            self.sleep(min(PAUSE_SLICE, deadline - self.clock()))

    # -- the recovery -----------------------------------------------------------------------------
    def _answering(self, hosts: list[str]) -> list[str]:
        _jid, replies = self.transport.call(hosts, "test.ping", [], {})
        return [h for h in hosts if (replies.get(h) or {}).get("ret") is True]

    def _recover(self, in_progress: list[str]) -> dict[str, object] | None:
        targets = sorted(set(in_progress) | set(self.left))
        if not self.plan.recovery or not targets or self.interrupted:
            return None
        alive = self._answering(targets)
        unreachable = sorted(set(targets) - set(alive))
        self._emit({"event": RECOVERY_STARTED, "run_id": self.run_id, "hosts": alive, "unreachable": unreachable})
        active = list(alive)
        dropped: dict[str, dict[str, object]] = {}
        offset = len(self.plan.scenarios)
        for r_index, pscenario in enumerate(self.plan.recovery):
            self._recover_scenario(offset + r_index, pscenario, alive, active, dropped)
        return {"hosts": alive, "rolled_back": active, "failed": dropped, "unreachable": unreachable}

    def _recover_scenario(
        self,
        s_index: int,
        pscenario: PlannedScenario,
        alive: list[str],
        active: list[str],
        dropped: dict[str, dict[str, object]],
    ) -> None:
        for p_index, pstep in enumerate(pscenario.steps):
            if pstep.context_only:
                self._emit(
                    self.events.step_finished(-1, s_index, p_index, pstep, "passed", alive, phase=RECOVERY_PHASE)
                )
                continue
            if not active or self.refused or not self._announce(-1, s_index, [p_index], active, RECOVERY_PHASE):
                self._emit(
                    self.events.step_finished(-1, s_index, p_index, pstep, "skipped", alive, phase=RECOVERY_PHASE)
                )
                continue
            t0 = self.clock()
            self.caller.cut = self._cut(self._limit(pstep), t0)
            try:
                jids, results = self._execute(pstep, -1, list(active))
            finally:
                self.caller.cut = None
            failed = [h for h in active if not results[h]["ok"]]
            for host in failed:
                # Dropped and left as it is: a host whose recovery failed is never put back.
                dropped[host] = {"step": f"{pstep.step.keyword} {pstep.step.text}", "reason": results[host]["reason"]}
                active.remove(host)
            status = "failed" if failed else "passed"
            duration = self.clock() - t0
            self._emit(
                self.events.step_finished(
                    -1, s_index, p_index, pstep, status, alive, results, jids, duration, RECOVERY_PHASE
                )
            )

    # -- the run --------------------------------------------------------------------------------------
    def run(
        self,
        pinned: Sequence[str],
        batches: list[list[str]] | None = None,
        done: Mapping[int, str] | None = None,
    ) -> int:
        """Run on the pinned hosts; `batches` and `done` ({index: why}) resume an earlier run."""
        self.batches = batches or compute_batches(pinned, self.plan.batch)
        done = done or {}
        self.allowed = allowed_failures(self.plan.budget, len(pinned))
        self.started = self.clock()
        self._emit(self.events.run_started(pinned, self.batches, self.allowed))
        in_progress: list[str] = []
        first = True
        for b_index, hosts in enumerate(self.batches):
            if b_index in done:
                self._emit(self.events.batch_skipped(b_index, hosts, done[b_index]))
                continue
            if self.halted or self._stopping():
                self._emit(self.events.batch_skipped(b_index, hosts, "interrupted" if self.interrupted else "halted"))
                continue
            if not first and self.plan.pause:
                self._pause(self.plan.pause)
                if self._stopping():
                    self._emit(self.events.batch_skipped(b_index, hosts, "interrupted"))
                    continue
            self._emit(self.events.batch_started(b_index, hosts, len(self.batches), self._elapsed()))
            in_progress = hosts
            self._run_batch(b_index, hosts, first)
            first = False
        recovery = self._recover(in_progress if self.halted else [])
        if self.interrupted:
            retcode = self.stop_code
        elif self.halted:
            retcode = EXIT_FAILED
        elif self.left:
            retcode = EXIT_BUDGET
        else:
            retcode = EXIT_PASSED
        self._finished(retcode, recovery)
        return retcode

    def abort(self, reason: str) -> None:
        """End a run whose step was cut off (no signal handler could be set): interrupted."""
        self.interrupted = self.interrupted or reason
        self._finished(EXIT_INTERRUPTED, None)

    def _elapsed(self) -> float:
        return self.clock() - (self.started or self.clock())

    def _finished(self, retcode: int, recovery: dict[str, object] | None) -> None:
        fields = dict(self.hooks.final_fields())
        left, allowed = self.left, self.allowed
        duration = self._elapsed()
        self._emit(
            self.events.run_finished(retcode, duration, self.interrupted, self.halted, left, allowed, recovery, fields)
        )
