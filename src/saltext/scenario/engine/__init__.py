"""The scenario engine: a feature file in, a verdict out.

The runner (``_runners/scenario.py``) calls one module, ``service/service.py``: each runner
function builds a checked ``service/request.py:RunRequest`` and hands it to the front door,
which reads the master options once (``config.py`` -> ``Settings``), builds the Salt
adapters (``adapters.py``, the only module that imports salt) and returns the dict that
``service/returns.py`` shapes. The engine sees Salt only through the Protocols of
``ports.py``, so everything else runs without daemons.

The stages import one way: errors/contracts/ports -> parsing -> steps -> running -> records
-> service (``tests/unit/engine/test_stages.py`` checks it). How a step's text becomes a Salt
call, in reading order:

1. ``parsing/parse.py`` turns the ``.feature`` text into Scenario and Step data, each step
   with its ``file:line``; ``parsing/sizes.py`` reads batch sizes and failure budgets.
2. ``steps/registry.py`` matches every step's text against the step definitions (typed
   parameters from ``steps/params.py``) before anything runs.
3. The definition's handler builds the call: ``steps/builtin_steps.py`` for the built-in
   steps (e.g. "I block the load balancer" -> ``lbgate.block <lb>``), ``steps/library.py``
   for the site's ``features/steps/*.yaml``. A handler returns a ``steps/calls.py:SaltCall``
   (function, arguments as data, and the check on each host's return).
4. ``running/prepare.py`` reads the feature and matches it into a Plan (``running/plan.py``);
   ``running/discover.py`` pins the hosts.
5. ``running/execute.py`` sends each SaltCall to the batch's pinned hosts through the
   transport (``adapters.py:SaltTransport``, ``LocalClient.cmd_iter``), judges every host's
   return, and emits events.
6. ``records/`` listens to those events: the runner's return, progress lines, bus events,
   the journal and the report files.
7. ``service/run.py`` ties one run together (lock, discovery, leases, executor, listeners);
   ``service/recorded_run.py`` adds the write-ahead record, the reports and the journal, and
   ``service/resume.py`` what ``scenario.resume`` carries over.
"""
