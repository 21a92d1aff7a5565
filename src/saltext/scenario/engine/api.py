"""The engine's entry points: run, plan, validate, list_features, steps.

Every function returns a dict carrying `retcode` (0 passed, 1 step failed, 2 invalid,
3 discovery shortfall, 4 locked). Salt objects come in from the caller: a `source` with
read/list and, for plan and run, a transport factory, so all of this runs without daemons.
"""

import logging
import os
from dataclasses import dataclass

from .. import config
from .errors import EXIT_PASSED, DiscoveryError, InvalidScenario, ScenarioError
from .parsing.names import FEATURES_DIR, decode, feature_path, name_of
from .parsing.parse import parse_feature
from .records.bus import BusReporter, event_tag
from .records.progress import ProgressReporter
from .records.result import ResultCollector
from .records.run_recorder import new_run_id, utc_now
from .running.batches import allowed_failures, compute_batches, describe_budget, describe_schedule
from .running.discover import Discovery, discover
from .running.execute import Executor
from .running.leases import HostLeases
from .running.lock import ScenarioLock
from .running.plan import build_plan
from .steps import builtin_steps
from .steps.library import STEPS_DIR, load_libraries
from .steps.registry import Registry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resume:
    """What `scenario.resume` carries over from the earlier run (see records/resume.py)."""

    run_id: str
    pinned: list
    batches: list
    done: dict  # batch index -> why it is not run again
    feature_sha256: str
    force: bool = False


def _error(exc, name=None):
    return {"retcode": exc.retcode, "result": "error", "name": name, "error": str(exc)}


def load_feature(source, name):
    path = feature_path(name)  # validates the name before anything is read
    return parse_feature(decode(source.read(path), path), path)


def make_registry(source, opts):
    registry = builtin_steps.register(Registry())
    load_libraries(source, registry, opts)
    return registry


def prepare(opts, name, source, scenario=None, tags=None, batch=None, max_failures=None):
    """Read, parse and match the feature into a Plan; `opts` are the master's (or Settings)."""
    settings = config.load(opts)
    feature = load_feature(source, name)
    registry = make_registry(source, settings)
    return build_plan(
        name, feature, registry, settings, scenario=scenario, tags=tags, batch=batch, max_failures=max_failures
    )


def _describe_steps(plan):
    """The plan's scenarios; each When/Then step says which publish (Salt job) it goes in."""
    described = []
    for ps in plan.all_scenarios:
        steps = [st.as_dict() for st in ps.steps]
        for number, group in enumerate(g for g in ps.groups if not ps.steps[g[0]].context_only):
            for position, index in enumerate(group):
                steps[index]["publish"] = number + 1
                if position:
                    steps[index]["fused"] = True
                    steps[index]["publish_fun"] = ps.publish_fun(index)
        entry = {"name": ps.scenario.name, "location": ps.scenario.location, "tags": list(ps.scenario.tags)}
        if ps.rollback:
            entry["on_failure"] = True
        described.append({**entry, "steps": steps})
    return described


def _publishes(plan):
    return sum(1 for ps in plan.scenarios for g in ps.groups if not ps.steps[g[0]].context_only)


def validate(opts, name, source, scenario=None, tags=None, batch=None):
    """Parse and match only; no minion is contacted."""
    try:
        plan = prepare(opts, name, source, scenario, tags, batch)
    except ScenarioError as exc:
        return _error(exc, name)
    return {
        "retcode": EXIT_PASSED,
        "result": "valid",
        "name": name,
        "uri": plan.feature.uri,
        "feature": plan.feature.name,
        "target": plan.target,
        "batch": plan.batch,
        "scenarios": _describe_steps(plan),
        "warnings": plan.warnings,
        "summary": f"{len(plan.scenarios)} scenario(s), {plan.step_count()} steps: valid",
    }


def _plan_result(plan, found):
    batches = compute_batches(found.pinned, plan.batch)
    calls = sum(1 for ps in plan.scenarios for st in ps.steps if st.call)
    allowed = allowed_failures(plan.budget, len(found.pinned))
    return {
        "retcode": EXIT_PASSED,
        "result": "plan",
        "test": True,
        "name": plan.name,
        "uri": plan.feature.uri,
        "feature": plan.feature.name,
        "target": plan.target,
        "pinned": found.pinned,
        "expected": found.expected,
        "missing": found.missing,
        "batches": batches,
        "scenarios": _describe_steps(plan),
        "warnings": plan.warnings + found.warnings,
        "schedule": describe_schedule(plan.batch),
        "budget": describe_budget(plan.budget),
        "allowed_failures": allowed,
        "publishes_per_batch": _publishes(plan),
        "summary": f"would run {calls} Salt call(s) in {_publishes(plan)} publish(es) per batch on "
        f"{len(found.pinned)} host(s) in {len(batches)} batch(es) ({describe_schedule(plan.batch)}); "
        f"up to {allowed} host(s) may fail; nothing was changed",
    }


def plan(opts, name, source, transport_factory, scenario=None, tags=None, batch=None, max_failures=None):
    """Resolve, match and discover; show the pinned hosts and the Salt call per step. Changes nothing."""
    try:
        the_plan = prepare(opts, name, source, scenario, tags, batch, max_failures)
        transport = transport_factory()
        try:
            found = discover(transport, the_plan.context)
        finally:
            _close(transport)
    except ScenarioError as exc:
        return _error(exc, name)
    return _plan_result(the_plan, found)


def _close(thing):
    close = getattr(thing, "close", None)
    if close:
        close()


def _emitter(reporters, collector):
    def emit(event):
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


def _resumed_hosts(transport, resume):
    """The earlier run's pinned hosts, all of which must answer: no new discovery."""
    pinned = sorted(resume.pinned)
    _jid, replies = transport.call(pinned, "test.ping", [], {})
    silent = [h for h in pinned if (replies.get(h) or {}).get("ret") is not True]
    if silent:
        raise DiscoveryError(
            f"resuming run {resume.run_id}: pinned host(s) {', '.join(silent)} do not answer; nothing was changed"
        )
    return Discovery(target="(pinned by run " + resume.run_id + ")", pinned=pinned, expected=pinned)


def run(
    opts,
    name,
    source,
    transport_factory,
    scenario=None,
    tags=None,
    batch=None,
    max_failures=None,
    test=False,
    progress=None,
    listeners=(),
    run_id=None,
    user=None,
    stop=None,
    approvals=None,
    resume=None,
):
    """Run a scenario. `progress(line)` gets a line per finished step while it runs.

    `stop()` says why the run must stop (SIGTERM) or None; `approvals` answers approval
    steps; `resume` (a Resume) continues an earlier run on its pinned hosts and batches.
    """
    if test:
        return plan(opts, name, source, transport_factory, scenario, tags, batch, max_failures)
    run_id = run_id or new_run_id()
    try:
        settings = config.load(opts)
        the_plan = prepare(settings, name, source, scenario, tags, batch, max_failures)
        if resume is not None and resume.feature_sha256 != the_plan.feature.sha256 and not resume.force:
            raise InvalidScenario(
                f"the feature {the_plan.feature.uri} changed since run {resume.run_id}; "
                "resume with force=True to run the new text on the same hosts"
            )
        lock = ScenarioLock(settings.cachedir, name).acquire()
    except ScenarioError as exc:
        return _error(exc, name)
    transport, leases, executor, emit = None, None, None, None
    try:
        transport = transport_factory()
        found = _resumed_hosts(transport, resume) if resume else discover(transport, the_plan.context)
        holder = {"run_id": run_id, "feature": name, "user": user, "pid": os.getpid(), "started": utc_now()}
        leases = HostLeases(settings.cachedir, holder).acquire(found.pinned)
        collector = ResultCollector(the_plan)
        reporters = [collector, BusReporter(transport.fire, name), *listeners]
        if progress:
            reporters.append(ProgressReporter(progress))
        emit = _emitter(reporters, collector)
        executor = Executor(the_plan, transport, emit, run_id, stop=stop or _never, approvals=approvals)
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
        result = collector.result()
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
        return _error(exc, name)
    except Exception as exc:
        # E.g. the master's client failing mid-run: the run did not pass, and hosts may be
        # blocked, so it must not look like a clean "nothing ran" (2) either.
        log.exception("scenario %s: run %s aborted", name, run_id)
        return {
            "retcode": 1,
            "result": "error",
            "name": name,
            "run_id": run_id,
            "error": f"run aborted by an internal error: {exc!r}; hosts may be left blocked",
        }
    finally:
        if leases is not None:
            leases.release()
        if transport is not None:
            _close(transport)
        lock.release()


def _never():
    return None


def list_features(source):
    paths = [p for p in source.list(FEATURES_DIR + "/") if p.endswith(".feature") and not p.startswith(STEPS_DIR + "/")]
    return {"retcode": EXIT_PASSED, "features": sorted(name_of(p) for p in paths)}


def steps(opts, source):
    """Every step definition: built-ins and the site libraries, with where each comes from."""
    try:
        registry = make_registry(source, opts)
    except ScenarioError as exc:
        return _error(exc)
    return {
        "retcode": EXIT_PASSED,
        "steps": [{"kind": d.kind, "pattern": d.pattern, "origin": d.origin} for d in registry.all()],
    }
