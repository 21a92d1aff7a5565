"""
Test-driven deployment: run Gherkin features across a pinned fleet.

Thin: arguments -> a checked request -> the engine's front door
(``saltext.scenario.engine.service``) -> a dict with ``retcode``. Exit codes:
0 passed, 1 a step failed and the run halted, 2 invalid scenario or arguments (nothing ran),
3 discovery shortfall (nothing ran), 4 another run holds the feature's lock or a lease on a
pinned host (nothing ran), 5 finished within the failure budget, 6 interrupted by
SIGTERM/SIGINT.

Features come from the master's fileserver: ``update_website`` is
``salt://features/update_website.feature``.
"""

import logging

log = logging.getLogger(__name__)

__virtualname__ = "scenario"
__func_alias__ = {"list_": "list"}

try:
    from saltext.scenario.engine.service import service as _service

    _IMPORT_ERROR = None
except ImportError as exc:  # the engine (and gherkin-official) must be installed on the master
    _IMPORT_ERROR = exc


def __virtual__():
    if _IMPORT_ERROR is not None:
        return (False, f"scenario runner: the saltext.scenario engine is not importable: {_IMPORT_ERROR}")
    return __virtualname__


def _finish(ret):
    # salt-run exits with the returned retcode; orchestrate's salt.runner state reads __context__.
    __context__["retcode"] = ret["retcode"]
    return ret


def _refused(exc, name=None):
    """A bad argument: exit 2 before anything ran (the service builds the dict)."""
    return _finish(_service.refused(exc, name=name))


def _caller(progress=None):
    # Salt injects __user__ and __jid__ into this module's globals; read them once per call.
    return _service.Caller(globals().get("__user__"), globals().get("__jid__"), progress)


def _progress(line):
    """Log the line and fire it as this job's progress event; True when it was fired."""
    log.info("%s", line)
    try:
        __jid_event__.fire_event({"message": line, "outputter": "scenario"}, "progress")
    except NameError:  # called outside a runner job (e.g. from Python)
        return False
    return True


def _printing_progress():
    """True when the progress events are printed as they are fired, by this outputter.

    Only salt-run's own process prints them (its Runner hands the job's event a print
    function), and not with --quiet, --async or another --out; under -a (the master runs the
    job), salt-api, orchestrate or the reactor nobody sees them.
    """
    try:
        printer = __jid_event__.print_func
    except (NameError, AttributeError, ReferenceError):
        return False
    import salt.runner

    owner = getattr(printer, "__self__", None)
    if not isinstance(owner, salt.runner.Runner):
        return False
    opts = owner.opts
    return not opts.get("quiet") and not opts.get("async") and opts.get("output") in (None, "", "scenario")


def run(
    name,
    scenario=None,
    tags=None,
    test=False,
    batch=None,
    timeout=None,
    saltenv="base",
    report_dir=None,
    max_failures=None,
    exclude_held=False,
):
    """
    Run the feature ``name`` (``salt://features/<name>.feature``) on the fleet its Given
    steps describe. Every step of the chosen scenarios is matched first; the hosts are
    discovered once, pinned and leased (no other run may touch them until this one ends);
    a host that fails a step leaves the run, and the run halts when more hosts failed than
    the failure budget allows (none, by default).

    Exit codes: 0 passed, 1 a step failed and the run halted, 2 invalid (nothing ran),
    3 discovery shortfall or the fleet store cannot be reached or written (nothing ran),
    4 another run holds this feature's lock, a lease or a hold on a pinned host (nothing
    ran), 5 finished within the failure budget, 6 interrupted by SIGTERM/SIGINT or a lost
    fleet store (the step in flight was collected, the rest skipped).

    A host that a run left out of the balancer is *held* (``scenario.holds``) until that run
    is resumed and passes or ``scenario.release`` clears the hold: a run whose pinned hosts
    include it is refused with exit 4, naming the holder.

    scenario
        Run only the scenario with this name.
    tags
        A tag expression, e.g. ``"@deploy and not @slow"``.
    test : False
        Resolve, match and discover only; show the pinned hosts and the Salt call per
        step and change nothing (same as ``scenario.plan``).
    batch
        Rolling batches: a count (``2``), a percentage of the pinned hosts (``25%``,
        rounded down) or a schedule whose last size repeats (``"1,10%,50%"``: a canary
        host first); overrides the feature's ``Given I update ...`` step.
    max_failures
        The failure budget: how many hosts (``2``) or what share of the pinned hosts
        (``"10%"``, rounded down) may fail and leave the run before it halts; overrides
        the feature's ``Given up to N hosts may fail``. Default 0.
    timeout
        Seconds to wait for the hosts on each step before asking whether they still
        run the job (master option ``scenario_timeout``, else the master's ``timeout``,
        5 by default). A host that does not answer fails the step with "no response"
        after about timeout + 2 s.
    saltenv : base
        The fileserver environment to read the feature from.
    report_dir
        An absolute directory on the master; after the run it holds
        ``<feature>-<run_id>.cucumber.json``, ``<feature>-<run_id>.junit.xml`` and
        ``<feature>-<run_id>.html`` (a hosts x steps grid to open in a browser; paths in the
        return's ``reports``). Every run except ``test=True`` is also
        appended to the journal (``scenario.history``, ``scenario.show``).
    exclude_held : False
        Leave held hosts out of the pinned set and run the others, instead of refusing.
        The held hosts are listed under ``held`` in the return, the journal and the reports,
        never count as a discovery shortfall, and the exit code speaks for the hosts that ran.

    CLI Example:

    .. code-block:: bash

        salt-run scenario.run update_website
        salt-run scenario.run update_website exclude_held=True
        salt-run scenario.run update_website report_dir=/var/lib/ci/reports
        salt-run scenario.run update_website batch=1 timeout=30
        salt-run scenario.run update_website batch="1,10%,50%" max_failures=2%
        salt-run scenario.run update_website tags="@web and not @slow" test=True
    """
    try:
        request = _service.RunRequest.from_args(
            name, scenario, tags, test, batch, timeout, saltenv, report_dir, max_failures, exclude_held=exclude_held
        )
    except _service.REFUSALS as exc:
        return _refused(exc, name)
    printing, fired = _printing_progress(), []

    def progress(line):
        if _progress(line):
            fired.append(line)

    ret = _service.run(__opts__, request, _caller(progress))
    # When salt-run printed every step as it finished, the outputter shows the outcome only.
    return _finish(_service.streamed(ret) if printing and fired else ret)


def resume(run_id, force=False, timeout=None, saltenv="base", report_dir=None):
    """
    Continue a run that failed (exit 1) or was interrupted (exit 6, or its process died):
    the same feature, the same pinned hosts (no new discovery; every one must answer, else
    exit 3 and nothing changes) and the same batches. Batches in which every host passed
    are not touched again; the failed or interrupted batch starts again from its first
    step, and the rest follow. The new run leases its hosts like any run and is journaled
    with ``resumes: RUN_ID``.

    force : False
        Run even though the feature's text changed since that run (else exit 2).

    Exit 2 for an unknown run id, a run that passed or never started; exit 4 while that
    run is still going.

    CLI Example:

    .. code-block:: bash

        salt-run scenario.history name=update_website limit=3
        salt-run scenario.resume 20261128153000-1a2b3c4d
        salt-run scenario.resume 20261128153000-1a2b3c4d force=True
    """
    try:
        request = _service.RunRequest.from_args(
            None, timeout=timeout, saltenv=saltenv, report_dir=report_dir, resumes=run_id, force=force
        )
    except _service.REFUSALS as exc:
        return _refused(exc)
    return _finish(_service.resume(__opts__, request, _caller(_progress)))


def active():
    """
    The runs in flight on every master sharing the fleet store: run id, feature, master,
    user, pid, start time, the step it is at (or the approval it waits for) and the hosts
    it claims; and the interrupted runs (killed, or their master lost) that still hold hosts,
    with their holds.

    CLI Example:

    .. code-block:: bash

        salt-run scenario.active
    """
    return _finish(_service.active(__opts__))


def approve(run_id):
    """
    Let a run that waits at ``Then I wait for approval`` go on. Only this runner function
    (and ``scenario.abort``) can answer an approval, so ``external_auth`` decides who may;
    no event from a minion can. The journal records who approved.

    CLI Example:

    .. code-block:: bash

        salt-run scenario.active
        salt-run scenario.approve 20261128153000-1a2b3c4d
    """
    return _finish(_service.approve(__opts__, run_id, _caller()))


def abort(run_id, reason=None):
    """
    Refuse the approval a run waits for: its approval step fails on every host of the
    batch, with the caller's name and ``reason``, and the run halts as on any failed step
    (rolling back, if the feature has an ``@on-failure`` scenario).

    CLI Example:

    .. code-block:: bash

        salt-run scenario.abort 20261128153000-1a2b3c4d reason="canary error rate too high"
    """
    return _finish(_service.abort(__opts__, run_id, _caller(), reason))


def plan(name, scenario=None, tags=None, batch=None, timeout=None, saltenv="base", max_failures=None):
    """
    Dry run: resolve and match the feature, discover and pin the hosts, and show the
    batches with their hosts, how many hosts may fail, and the Salt call each step would
    make, with the steps that share a publish. Nothing is changed.

    CLI Example:

    .. code-block:: bash

        salt-run scenario.plan update_website
        salt-run scenario.plan roll_out batch="1,10%,50%" max_failures=2%
    """
    try:
        request = _service.RunRequest.from_args(
            name, scenario, tags, batch=batch, timeout=timeout, saltenv=saltenv, max_failures=max_failures
        )
    except _service.REFUSALS as exc:
        return _refused(exc, name)
    return _finish(_service.plan(__opts__, request))


def validate(name, scenario=None, tags=None, batch=None, saltenv="base"):
    """
    Parse the feature and match every step, including typed parameters. No minion is
    contacted. Exit code 2 names file:line for every problem.

    CLI Example:

    .. code-block:: bash

        salt-run scenario.validate update_website
    """
    try:
        request = _service.RunRequest.from_args(name, scenario, tags, batch=batch, saltenv=saltenv)
    except _service.REFUSALS as exc:
        return _refused(exc, name)
    return _finish(_service.validate(__opts__, request))


def list_(saltenv="base"):
    """
    List the features in ``salt://features/``.

    CLI Example:

    .. code-block:: bash

        salt-run scenario.list
    """
    return _finish(_service.list_(__opts__, saltenv))


def steps(saltenv="base"):
    """
    List every step definition: the built-in ones and those of the site step
    libraries in ``salt://features/steps/*.yaml``.

    CLI Example:

    .. code-block:: bash

        salt-run scenario.steps
    """
    return _finish(_service.steps(__opts__, saltenv))


def compile(name, scenario=None, tags=None, batch=None, timeout=None, saltenv="base"):
    """
    Compile the feature ``name`` to an orchestrate SLS (returned as ``sls``): the hosts are
    discovered and pinned as for ``scenario.plan``, then every When/Then step becomes one
    ``salt.function`` state on the pinned list (``tgt_type: list``, ``expect_minions``,
    ``failhard``, a ``require`` on the state before it), batch after batch. Given steps
    produce no state; they are listed in the SLS header. Nothing is changed.

    timeout
        Written into every state as the ``salt.function`` timeout (else Salt's default).

    CLI Example:

    .. code-block:: bash

        salt-run scenario.compile update_website > orch/update_website.sls
        salt-run state.orchestrate orch.update_website
    """
    try:
        request = _service.RunRequest.from_args(name, scenario, tags, batch=batch, timeout=timeout, saltenv=saltenv)
    except _service.REFUSALS as exc:
        return _refused(exc, name)
    return _finish(_service.compile(__opts__, request))


def react(tag=None, data=None):
    """
    Start a scenario from a reactor event (``reactor/scenario.sls`` passes the raw event).
    The event is untrusted: it must come from a minion on the master option
    ``scenario_reactor_senders`` (list of minion id globs), name a scenario on
    ``scenario_reactor_allow`` (list of names) and be a small mapping
    ``{"scenario": NAME}`` (optionally ``"batch": 2``). Both options default to empty:
    nothing is allowed. A refusal is logged with its reason, fired as
    ``saltext/scenario/react/refused`` and returns exit 2. A request for a scenario that
    is already running gets exit 4 ("already running").

    CLI Example:

    .. code-block:: bash

        # on a minion, with web1 and update_website allowed on the master:
        salt-call event.send scenario/request '{"scenario": "update_website"}'
        # by hand on the master, for a test:
        salt-run scenario.react tag=scenario/request data='{"id": "web1", "data": {"scenario": "update_website"}}'
    """
    # The reactor runs runner reactions side by side in threads of one process, and Salt injects
    # __jid_event__, __jid__ and __user__ into this module's globals, shared by those threads. A
    # long run firing progress on the global __jid_event__ drives another reaction's event loop
    # from the wrong thread; Salt then fails that reaction before it calls us, and its request is
    # lost (seen in bursts of 60 requests). So a reactor-started run reads the globals once, here,
    # and reports progress to the log and its own saltext/scenario/<run_id>/... events only.
    return _finish(_service.react(__opts__, tag, data, _caller(log.info)))


def history(name=None, limit=20):
    """
    The newest runs from the journal, newest first, one line each: run id, start time
    (UTC), scenario, exit code and summary. The journal (``<cachedir>/scenario/journal.jsonl``
    or the master option ``scenario_journal``) is append-only and independent of the
    job cache.

    name
        Only runs of this scenario.
    limit : 20
        How many runs (1 to 10000).

    CLI Example:

    .. code-block:: bash

        salt-run scenario.history
        salt-run scenario.history name=update_website limit=5
    """
    return _finish(_service.history(__opts__, name, limit))


def report(run_id, dir=None):
    """
    Write the HTML, JUnit XML and Cucumber JSON reports of any run in the journal into
    ``dir`` (an absolute directory on the master, created if missing): finished runs, runs
    refused before they started, and interrupted runs, whose steps after the last finished
    one are marked skipped. The paths come back in ``reports``.

    CLI Example:

    .. code-block:: bash

        salt-run scenario.report 20261128153000-1a2b3c4d dir=/srv/reports
    """
    return _finish(_service.report(__opts__, run_id, dir))


def show(run_id):
    """
    The journal record of one run: scenario, who and when, the pinned hosts and batches,
    every step with its status, per-host results and jids, the failed and still-blocked
    hosts and the summary. The scenario outputter renders it as the run's full tree, every
    host's verdict under each step (``--out=json`` gives the record itself). Exit 2 for a
    malformed run id, 1 when no run has that id.

    CLI Example:

    .. code-block:: bash

        salt-run scenario.show 20261125031500-1a2b3c4d
    """
    return _finish(_service.show(__opts__, run_id))


def release(run_id, hosts=None, reason=None):
    """
    Clear the holds of a run: all of them, or those on ``hosts`` (minion ids separated by
    commas). ``reason`` is required; the release is journaled with the caller's name
    (``scenario.history``). Release never unblocks anything: a released host that is still
    blocked comes back into the balancer through a run that verifies it. The holds of a
    run that is still running are not released (exit 4). Exit 1 when the run holds none
    of those hosts, 2 for a missing reason or a bad argument.

    CLI Example:

    .. code-block:: bash

        salt-run scenario.holds
        salt-run scenario.release 20261128153000-1a2b3c4d reason="rolled back by hand, NRPE green"
        salt-run scenario.release 20261128153000-1a2b3c4d hosts=app2,app3 reason="replaced"
    """
    return _finish(_service.release(__opts__, run_id, hosts, _caller(), reason))


def holds():
    """
    Every hold on every master sharing the fleet store: the host, the run that holds it,
    its feature, the step and reason, the master and since when. A held host is refused to
    every other run (exit 4) until ``scenario.resume RUN_ID`` passes or
    ``scenario.release RUN_ID reason=...`` clears it.

    CLI Example:

    .. code-block:: bash

        salt-run scenario.holds
    """
    return _finish(_service.holds(__opts__))
