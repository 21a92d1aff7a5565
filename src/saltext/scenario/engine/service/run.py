"""One run of a request: lock, discover (or take the resumed run's hosts), lease, execute, collect.

The run's return comes from its own events (``records/result.py``); progress lines, bus
events and whatever listeners the caller adds hear the same events. A test-mode request
is a plan (``running/prepare.py``): nothing changes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

from ...config import Settings
from ..contracts import Event
from ..errors import DiscoveryError, InvalidScenario, ScenarioError
from ..ports import FeatureSource, Transport, close_quietly
from ..records.bus import BusReporter, event_tag
from ..records.progress import ProgressReporter
from ..records.result import ResultCollector
from ..records.run_recorder import new_run_id, utc_now
from ..running.discover import Discovery, discover
from ..running.execute import Executor
from ..running.leases import HostLeases
from ..running.lock import ScenarioLock
from ..running.prepare import plan, prepare
from . import returns
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
) -> returns.Return:
    """Run the request's scenario. The caller's progress gets a line per finished step while it runs.

    `stop()` says why the run must stop (SIGTERM) or None; `approvals` answers approval
    steps; `resume` continues an earlier run on its pinned hosts and batches.
    """
    caller = caller or Caller()
    name = request.name
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
        lock = ScenarioLock(settings.cachedir, name).acquire()
    except ScenarioError as exc:
        return returns.error(exc, name=name)
    transport: Transport | None = None
    leases: HostLeases | None = None
    try:
        transport = transport_factory()
        found = _resumed_hosts(transport, resume) if resume else discover(transport, the_plan.context)
        holder = {"run_id": run_id, "feature": name, "user": caller.user, "pid": os.getpid(), "started": utc_now()}
        leases = HostLeases(settings.cachedir, holder).acquire(found.pinned)
        collector = ResultCollector(the_plan)
        reporters: list[Listener] = [collector, BusReporter(transport.fire, name), *listeners]
        if caller.progress:
            reporters.append(ProgressReporter(caller.progress))
        emit = _emitter(reporters, collector)
        executor = Executor(
            the_plan,
            transport,
            emit,
            run_id,
            stop=stop or _never,
            approvals=approvals,
            # Deadlines and stops: how long a step may take, and the step in flight after a stop.
            step_deadline=settings.step_deadline,
            stop_grace=settings.stop_grace,
            answer_time=settings.timeout,
        )
        try:
            executor.run(
                found.pinned,
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
        if resume is not None:
            result["resumes"] = resume.run_id
        return result
    except ScenarioError as exc:
        if transport is not None:
            transport.fire(
                {"run_id": run_id, "name": name, "retcode": exc.retcode, "error": str(exc)},
                event_tag(run_id, "run_error"),
            )
        return returns.error(exc, name=name)
    except Exception as exc:
        # E.g. the master's client failing mid-run: the run did not pass, and hosts may be
        # blocked, so it must not look like a clean "nothing ran" (2) either.
        log.exception("scenario %s: run %s aborted", name, run_id)
        return returns.failure(
            1, f"run aborted by an internal error: {exc!r}; hosts may be left blocked", name=name, run_id=run_id
        )
    finally:
        if leases is not None:
            leases.release()
        if transport is not None:
            close_quietly(transport)
        lock.release()
