"""One run of a request: store check, lock, discover (or take the resumed run's hosts), claim, execute, collect.

The fleet store (engine/store/, through service/fleet.py) is checked before anything changes
(exit 3), claims the pinned hosts all or nothing (exit 4 naming other runs and holds), keeps
the run's holds (records/holds.py) and live status (records/live_status.py), carries its
approvals (records/store_approvals.py), and gets the run's last word.

The run's return comes from its own events (``records/result.py``); progress lines, bus
events and whatever listeners the caller adds hear the same events. A test-mode request
is a plan (``running/prepare.py``): nothing changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

from ...config import Settings
from ..contracts import Event
from ..errors import DiscoveryError, InvalidScenario, LockHeld, ScenarioError
from ..ports import FeatureSource, MetricsSource, Transport, close_quietly
from ..records.bus import BusReporter, event_tag
from ..records.holds import HoldKeeper
from ..records.live_status import LiveStatus
from ..records.progress import ProgressReporter
from ..records.result import ResultCollector
from ..records.run_recorder import new_run_id
from ..records.store_approvals import store_approvals
from ..running.discover import Discovery, discover
from ..running.execute import Executor
from ..running.lock import ScenarioLock
from ..running.master_checks import check_before_run, first_batch
from ..running.prepare import plan, prepare
from ..store import FleetStore, RunHandle
from . import fleet, returns
from .request import Caller, RunRequest
from .resume import Resume

log = logging.getLogger(__name__)

Listener = Callable[[Event], object]


def _emitter(reporters: list[Listener], collector: ResultCollector) -> Listener:
    def emit(event: Event) -> None:
        for reporter in reporters:
            try:
                reporter(event)
            except Exception:
                # A broken reporter must not stop a deployment half way; a listener whose work
                # the run depends on says `must_succeed = True` (its ScenarioError stops the run).
                if reporter is collector or getattr(reporter, "must_succeed", False):
                    raise
                log.exception("scenario reporter failed on %s", event.get("event"))

    return emit


def _resumed_hosts(transport: Transport, resume: Resume) -> Discovery:
    """The earlier run's pinned hosts, all of which must answer: no new discovery."""
    pinned = sorted(resume.pinned)
    _jid, replies = transport.call(pinned, "test.ping", [], {})
    silent = [h for h in pinned if (replies.get(h) or {}).get("ret") is not True]
    if silent:
        raise DiscoveryError(
            f"resuming run {resume.run_id}: pinned host(s) {', '.join(silent)} do not answer; nothing was changed"
        )
    return Discovery(target="(pinned by run " + resume.run_id + ")", pinned=pinned, expected=pinned)


def _never() -> str | None:
    return None


def run(
    settings: Settings,
    request: RunRequest,
    source: FeatureSource,
    transport_factory: Callable[[], Transport],
    caller: Caller | None = None,
    listeners: Iterable[Listener] = (),
    run_id: str | None = None,
    stop: Callable[[], str | None] | None = None,
    approvals: Any = None,
    resume: Resume | None = None,
    prometheus: Callable[[], MetricsSource | None] | None = None,
    store: fleet.StoreFactory | None = None,
) -> returns.Return:
    """Run the request's scenario. The caller's progress gets a line per finished step while it runs.

    `stop()` says why the run must stop (SIGTERM) or None; `approvals` answers approval
    steps (default: through the fleet store); `resume` continues an earlier run on its pinned
    hosts and batches; `store` opens the fleet store (default: the one the settings choose).
    `prometheus` opens what metric steps ask (adapters.py builds it from the options).
    """
    caller = caller or Caller()
    name = request.name
    fleet_store: FleetStore | None = None
    try:
        if request.test:
            return plan(settings, request, source, transport_factory)
        run_id = run_id or new_run_id()
        the_plan = prepare(settings, request, source)
        feature: Any = the_plan.feature  # parsing/model.py:Feature
        if resume is not None and resume.feature_sha256 != feature.sha256 and not resume.force:
            raise InvalidScenario(
                f"the feature {feature.uri} changed since run {resume.run_id}; "
                "resume with force=True to run the new text on the same hosts"
            )
        # The fleet store: reachable and writable before anything changes (exit 3).
        fleet_store = fleet.open_checked(store or fleet.default_factory(settings))
        lock = ScenarioLock(settings.cachedir, name).acquire()
    except ScenarioError as exc:
        close_quietly(fleet_store)
        return returns.error(exc, name=name)
    transport: Transport | None = None
    handle: RunHandle | None = None
    try:
        transport = transport_factory()
        found = _resumed_hosts(transport, resume) if resume else discover(transport, the_plan.context)
        # Holds: exclude_held leaves held hosts out; otherwise a held pinned host refuses the claim (exit 4).
        mine = fleet.owners(resume)
        pinned, held = (
            fleet.leave_out_held(fleet_store, found.pinned, mine) if request.exclude_held else (list(found.pinned), [])
        )
        # Metric gates: every master-side step asked once with the first batch that will run (held
        # hosts already left out, as the executor batches them); refused (2/3) before any change.
        metrics = prometheus() if prometheus is not None and the_plan.master_checks() else None
        batch = first_batch(the_plan, pinned, resume.batches if resume else None, resume.done if resume else None)
        check_before_run(the_plan, batch, transport, metrics)
        handle = fleet_store.open_run(fleet.run_info(settings, run_id, name, caller.user, resume))
        try:
            handle.claim(pinned)
        except LockHeld as exc:
            raise fleet.Refused(exc, fleet_store.holds(), pinned, mine) from None
        keeper = HoldKeeper(handle, fleet.taken_over(fleet_store, pinned, mine))
        live = LiveStatus(handle)
        collector = ResultCollector(the_plan)
        reporters: list[Listener] = [collector, keeper, live, BusReporter(transport.fire, name), *listeners]
        if caller.progress:
            reporters.append(ProgressReporter(caller.progress))
        emit = _emitter(reporters, collector)
        run_stop = fleet.stop_or_lost(stop or _never, handle, live, fleet_store.where)
        executor = Executor(
            the_plan,
            transport,
            # The executor builds contracts' events and hands them on as plain mappings.
            cast("Callable[[Mapping[str, object]], object]", emit),
            run_id,
            stop=run_stop,
            approvals=approvals or store_approvals(handle),
            prometheus=metrics,
            # Deadlines and stops: how long a step may take, and the step in flight after a stop.
            step_deadline=settings.step_deadline,
            stop_grace=settings.stop_grace,
            answer_time=settings.timeout,
        )
        try:
            executor.run(
                pinned,
                batches=resume.batches if resume else None,
                done=resume.done if resume else None,
            )
        except (KeyboardInterrupt, SystemExit) as exc:
            # Only when our signal handlers could not be installed (not the main thread):
            # the step in flight is lost, but the run is recorded as interrupted, never as 0.
            executor.abort(f"{type(exc).__name__} during a step")
        result: returns.Return = dict(collector.result())
        result["warnings"] = result["warnings"] + found.warnings
        result["missing"] = found.missing
        # Holds: the hosts exclude_held left out, and the hosts this run holds now.
        result["held"] = [h.host for h in held]
        result["warnings"] += keeper.warnings + fleet.held_lines(held)
        result["holds"] = sorted(keeper.held)
        if resume is not None:
            result["resumes"] = resume.run_id
        fleet.finish(handle, result)
        return result
    except ScenarioError as exc:
        if transport is not None:
            transport.fire(
                {"run_id": run_id, "name": name, "retcode": exc.retcode, "error": str(exc)},
                event_tag(run_id, "run_error"),
            )
        ret = returns.error(exc, name=name)
        if isinstance(exc, fleet.Refused):
            ret["held_by"] = exc.held_by
        return ret
    except Exception as exc:
        # E.g. the master's client failing mid-run: the run did not pass, and hosts may be
        # blocked, so it must not look like a clean "nothing ran" (2) either.
        log.exception("scenario %s: run %s aborted", name, run_id)
        ret = returns.failure(
            1, f"run aborted by an internal error: {exc!r}; hosts may be left blocked", name=name, run_id=run_id
        )
        if handle is not None and handle.hosts:
            fleet.finish(handle, ret)
        return ret
    finally:
        if handle is not None:
            handle.close()  # its claims go; its holds stay
        if transport is not None:
            close_quietly(transport)
        close_quietly(fleet_store)
        lock.release()
