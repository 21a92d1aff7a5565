"""The engine's front door: every runner function calls one function here.

Each call reads the master's ``scenario_*`` options once (``config.load``), builds the Salt
adapters it needs (``adapters.py``), hands the checked request down the stages and returns
the runner's dict (``returns.py``); a refusal (bad argument, option, feature, lock, ...)
becomes an error return with its exit code, never an exception.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ... import config
from .. import adapters
from ..errors import RUN_RESULTS
from ..ports import close_quietly
from ..records import journal, replay
from ..records import report_files as files
from ..running import react as reactor
from ..running.compile import compile_sls
from ..running.prepare import list_features
from ..running.prepare import plan as plan_run
from ..running.prepare import steps as step_list
from ..running.prepare import validate as validate_plan
from ..store import FleetStore
from . import fleet, fleet_queries, recorded_run
from .request import Caller, RunRequest
from .returns import REFUSALS, Return, answer, error, failure, finished, refusing

__all__ = [
    "REFUSALS",
    "Caller",
    "RunRequest",
    "abort",
    "active",
    "approve",
    "compile",
    "error",
    "history",
    "holds",
    "list_",
    "plan",
    "react",
    "refused",
    "release",
    "report",
    "resume",
    "run",
    "show",
    "steps",
    "streamed",
    "validate",
]

log = logging.getLogger(__name__)

# The seams a unit test replaces: the Salt adapters of one call, and the master bus alone.
build_adapters = adapters.build
build_bus = adapters.MasterEventBus

Work = Callable[[config.Settings, adapters.Adapters], Return]


def _serve(opts: dict[str, Any], saltenv: str, timeout: int | None, work: Work, **context: Any) -> Return:
    """`work(settings, adapters)` with this call's settings; every refusal becomes its error return."""
    try:
        settings = config.load(opts).with_timeout(timeout)
    except config.InvalidOption as exc:
        return finished(error(exc))
    return _serve_with(settings, opts, saltenv, work, **context)


def _serve_with(settings: config.Settings, opts: dict[str, Any], saltenv: str, work: Work, **context: Any) -> Return:
    connected = build_adapters(opts, settings, saltenv)
    try:
        return finished(refusing(lambda: work(settings, connected), **context))
    finally:
        close_quietly(connected.source)
        close_quietly(connected.bus)


def refused(exc: BaseException, **context: Any) -> Return:
    """The finished error return of a request the runner could not build (a bad argument: exit 2)."""
    return finished(error(exc, **context))


def _journal(opts: dict[str, Any], query: Callable[[str], Return]) -> Return:
    """`query(journal path)`; a bad option, run id or limit is its error return (exit 2)."""
    return finished(refusing(lambda: query(journal.journal_path(config.load(opts)))))


def run(opts: dict[str, Any], request: RunRequest, caller: Caller) -> Return:
    """scenario.run: the recorded run (or, with test=True, the plan) of the request."""
    return _serve(opts, request.saltenv, request.timeout, _recorded_run(request, caller), name=request.name)


def _recorded_run(request: RunRequest, caller: Caller) -> Work:
    return lambda settings, salt: recorded_run.run(
        settings, request, salt.source, salt.transport, caller, store=salt.store
    )


def streamed(ret: Return) -> Return:
    """Mark a run whose steps were printed as they finished: the outputter shows the outcome only."""
    if ret.get("result") in RUN_RESULTS:
        ret["streamed"] = True
    return ret


def resume(opts: dict[str, Any], request: RunRequest, caller: Caller) -> Return:
    """scenario.resume: continue the run ``request.resumes`` on its pinned hosts and batches."""
    return _serve(
        opts,
        request.saltenv,
        request.timeout,
        lambda settings, salt: recorded_run.resume(
            settings, request, salt.source, salt.transport, caller, store=salt.store
        ),
        name=None,
    )


def plan(opts: dict[str, Any], request: RunRequest) -> Return:
    """scenario.plan: resolve, match, discover and pin; change nothing."""
    return _serve(
        opts,
        request.saltenv,
        request.timeout,
        lambda settings, salt: plan_run(settings, request, salt.source, salt.transport),
        name=request.name,
    )


def validate(opts: dict[str, Any], request: RunRequest) -> Return:
    """scenario.validate: parse and match only; no minion is contacted."""
    return _serve(
        opts,
        request.saltenv,
        None,
        lambda settings, salt: validate_plan(settings, request, salt.source),
        name=request.name,
    )


def compile(opts: dict[str, Any], request: RunRequest) -> Return:
    """scenario.compile: the orchestrate SLS of the request, on the hosts pinned now."""
    words = ["salt-run scenario.compile", str(request.name)]
    for key in ("scenario", "tags", "batch", "timeout"):
        if getattr(request, key) is not None:
            words.append(f"{key}={getattr(request, key)}")
    return _serve(
        opts,
        request.saltenv,
        request.timeout,
        lambda settings, salt: compile_sls(settings, request, salt.source, salt.transport, command=" ".join(words)),
        name=request.name,
    )


def list_(opts: dict[str, Any], saltenv: str) -> Return:
    """scenario.list: the features in ``salt://features/``."""
    return _serve(opts, saltenv, None, lambda _settings, salt: list_features(salt.source))


def steps(opts: dict[str, Any], saltenv: str) -> Return:
    """scenario.steps: every step definition, built-in and from the site libraries."""
    return _serve(opts, saltenv, None, lambda settings, salt: step_list(settings, salt.source), name=None)


def active(opts: dict[str, Any]) -> Return:
    """scenario.active: the runs in flight on every master sharing the fleet store (the step each
    is at and the hosts it claims), and the interrupted runs that still hold hosts."""
    return _with_store(opts, lambda settings, store: answer("active", runs=fleet_queries.active_rows(store)))


def history(opts: dict[str, Any], name: str | None, limit: Any) -> Return:
    """scenario.history: the newest runs, newest first: this master's journal and the finished runs
    of every master sharing the fleet store, with the holds each has now."""

    def newest(settings: config.Settings, store: FleetStore) -> Return:
        path = journal.journal_path(settings)
        runs, warnings = journal.history(path, name=name, limit=limit)
        rows = fleet_queries.merged_history(store, runs, name, journal.check_limit(limit))
        return answer("history", runs=rows, warnings=warnings, lines=[journal.history_line(r) for r in rows])

    return _with_store(opts, newest)


def show(opts: dict[str, Any], run_id: Any) -> Return:
    """scenario.show: one run's journal record; exit 1 when no run has that id."""

    def record(path: str) -> Return:
        found, warnings = journal.find(path, run_id)
        if found is None:
            return failure(1, f"no run {run_id} in the journal")
        return answer("record", record=found, warnings=warnings)

    return _journal(opts, record)


def report(opts: dict[str, Any], run_id: Any, directory: Any) -> Return:
    """scenario.report: the report files of any run in the journal, written into `directory`."""

    def written(path: str) -> Return:
        target = files.check_report_dir(directory)
        record, warnings = journal.find(path, run_id)
        if record is None:
            return failure(1, f"no run {run_id} in the journal")
        ret, recorder = replay.run_from_record(record)
        try:
            paths = files.write_reports(target, ret, recorder)
        except OSError as exc:
            return failure(1, f"cannot write the reports to {target}: {exc}")
        return answer("reports", run_id=run_id, reports=paths, warnings=warnings)

    return _journal(opts, written)


def _decide(opts: dict[str, Any], run_id: Any, approve: bool, user: str, reason: Any = None) -> Return:
    return _with_store(opts, lambda settings, store: fleet_queries.decide(store, run_id, approve, user, reason))


def approve(opts: dict[str, Any], run_id: Any, caller: Caller) -> Return:
    """scenario.approve: let the run that waits for approval go on; the journal records who."""
    return _decide(opts, run_id, True, caller.user or "?")


def abort(opts: dict[str, Any], run_id: Any, caller: Caller, reason: Any = None) -> Return:
    """scenario.abort: refuse the approval the run waits for, with the caller's name and reason."""
    return _decide(opts, run_id, False, caller.user or "?", reason)


def react(opts: dict[str, Any], tag: Any, data: Any, caller: Caller) -> Return:
    """scenario.react: check an untrusted reactor event, then run the scenario it names (or refuse)."""
    bus = build_bus(opts)
    try:
        try:
            settings = config.load(opts)
        except config.InvalidOption as exc:
            return finished(reactor.refuse(tag, data, str(exc), bus.fire))

        def start(name: str, batch: Any) -> Return:
            try:
                request = RunRequest.from_args(name, batch=batch)
            except REFUSALS as exc:
                return finished(error(exc, name=name))
            return _serve_with(settings, opts, request.saltenv, _recorded_run(request, caller), name=name)

        return finished(reactor.react(settings, tag, data, start, bus.fire))
    finally:
        close_quietly(bus)


# --- the fleet store's holds (shared by every master) ---------------------------------------


def _with_store(opts: dict[str, Any], query: Callable[[config.Settings, FleetStore], Return]) -> Return:
    """`query(settings, store)` on the fleet store the options choose; a bad option, argument or
    an unreachable store is its error return (exit 2 or 3)."""

    def work() -> Return:
        settings = config.load(opts)
        store = fleet.open_checked(fleet.default_factory(settings))
        try:
            return query(settings, store)
        finally:
            close_quietly(store)

    return finished(refusing(work))


def holds(opts: dict[str, Any]) -> Return:
    """scenario.holds: every hold on every master sharing the store (host, run, feature, step,
    reason, master, since)."""
    return _with_store(opts, lambda settings, store: fleet_queries.holds(store))


def release(opts: dict[str, Any], run_id: Any, hosts: Any, caller: Caller, reason: Any) -> Return:
    """scenario.release: clear a run's holds (all, or on `hosts`) with a reason; journaled with
    the caller. Never unblocks anything."""
    return _with_store(
        opts,
        lambda settings, store: fleet_queries.release(
            store, journal.journal_path(settings), run_id, hosts, caller.user or "?", reason
        ),
    )
