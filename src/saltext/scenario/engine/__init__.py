"""The scenario engine: a feature file in, a verdict out. Salt is reached only through
``running/transport.py``, so everything else runs without daemons.

How a step's text becomes a Salt call, in reading order:

1. ``parsing/parse.py`` turns the ``.feature`` text into Scenario and Step data, each step
   with its ``file:line``.
2. ``steps/registry.py`` matches every step's text against the step definitions (typed
   parameters from ``steps/params.py``) before anything runs.
3. The definition's handler builds the call: ``steps/builtin_steps.py`` for the built-in
   steps (e.g. "I block the load balancer" -> ``lbgate.block <lb>``), ``steps/library.py``
   for the site's ``features/steps/*.yaml``. A handler returns a ``steps/calls.py:SaltCall``
   (function, arguments as data, and the check on each host's return).
4. ``running/plan.py`` collects the calls into a Plan; ``running/discover.py`` pins the hosts.
5. ``running/execute.py`` sends each SaltCall to the batch's pinned hosts through
   ``running/transport.py`` (``LocalClient.cmd_iter``), judges every host's return, and
   emits events.
6. ``records/`` listens to those events: the runner's return, progress lines, bus events,
   the journal and the report files.

``api.py`` ties the stages together for the runner (``_runners/scenario.py``).
"""
