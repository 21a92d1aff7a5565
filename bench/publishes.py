"""A's publishes, from the engine's own plan: what C2 (fused_floor.py) sends.

`running/prepare.py:prepare` plans the feature as `scenario.run` does, and `pipeline.py` groups a When with
the read-only Then steps after it (`PlannedScenario.groups`, each fused call's
`PlannedScenario.publish_fun`). Reading the groups from there, not from a copy, keeps C2 in step with the
engine: when the engine fuses differently, so does C2.
"""

from saltext.scenario import config
from saltext.scenario.engine.parsing.source import DirSource
from saltext.scenario.engine.running.prepare import prepare
from saltext.scenario.engine.service.request import RunRequest


def _call(pscenario, index):
    pstep = pscenario.steps[index]
    call = pstep.call
    return {
        "text": f"{pstep.step.keyword} {pstep.step.text}",
        "fun": call.fun,
        # The name the call has in the shared job (a twin such as nrpe.check, or its own).
        "publish_fun": pscenario.publish_fun(index),
        "args": list(call.args),
        "kwargs": dict(call.kwargs),
        "within": call.within,
    }


def feature_publishes(repo_root, feature, opts=None):
    """[[call, ...] per publish] of the feature's deploy scenarios, in the order A sends them.

    `opts`: the master's (or Settings), so the plan sees the same options as the runner.
    Refuses steps a raw loop cannot stand in for (approval gates, calls on another minion,
    rollback steps): C2 would then not be the same work as A.
    """
    plan = prepare(config.load(opts or {}), RunRequest.from_args(feature), DirSource(repo_root))
    publishes = []
    for pscenario in plan.scenarios:
        for group in pscenario.groups:
            steps = [pscenario.steps[i] for i in group]
            if steps[0].context_only:
                continue  # a Given step asks no host anything
            odd = [s for s in steps if s.gate is not None or s.call.on or s.effects.per_host_args]
            if odd:
                step = odd[0].step
                raise RuntimeError(
                    f"{feature}: {step.keyword} {step.text} ({step.location}) is not a plain call on the pinned "
                    "hosts; C2 cannot make the same publishes as A"
                )
            publishes.append([_call(pscenario, i) for i in group])
    return plan.target, publishes
