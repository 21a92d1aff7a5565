"""Which steps share a publish: a When and the read-only Then steps directly after it.

The cost of a step is Salt's publish/return round trip, not the function (a compound job of
two read-only functions takes about 1.7 s on 10 hosts, against 3 s for the two one after the
other). A Then only reads, so it can ride in the When's job: `update_website` takes 5
publishes instead of 10. Verdicts stay per step and per host.

What never rides along:
- Given steps (they ask no host anything) and the approval step (a person answers it);
- a When after a When: the barrier between When steps across hosts is the seed's rule;
- steps that run on another minion (HAProxy) or roll back per-host versions;
- library Then steps whose function is not on the read-only default list, or that say
  `pipeline: false`; every step of a feature or scenario tagged @no-pipeline.
A compound job keys each host's returns by function name (unless the minion sets
multifunc_ordered), so one job holds a function once; a step whose function is already in
the job may use a twin (nrpe.check for nrpe.run), else it starts the next job.
"""

import fnmatch

from ...config import READ_ONLY_FUNCTIONS

NO_PIPELINE_TAG = "@no-pipeline"


def _callable(pstep):
    call = pstep.call
    return call is not None and pstep.gate is None and not call.on and not call.rollback_of


def _read_only(pstep):
    if pstep.stepdef.origin == "built-in":
        return True  # every built-in Then only reads
    return any(fnmatch.fnmatchcase(pstep.call.fun, glob) for glob in READ_ONLY_FUNCTIONS)


def _can_ride(pstep):
    return (
        _callable(pstep)
        and pstep.step.kind == "then"
        and getattr(pstep.stepdef, "pipeline", True)
        and _read_only(pstep)
    )


def _free_name(call, taken):
    for fun in (call.fun, *call.twins):
        if fun not in taken:
            return fun
    return None


def publish_groups(pscenario):
    """[[step index, ...], ...]: the steps of one scenario, one list per publish, in order.

    Also sets each fused call's `publish_fun` (its own function or a twin's name).
    """
    steps = pscenario.steps
    if NO_PIPELINE_TAG in pscenario.scenario.tags:
        return [[i] for i in range(len(steps))]
    groups, i = [], 0
    while i < len(steps):
        group = [i]
        lead = steps[i]
        if _callable(lead) and lead.step.kind == "when" and getattr(lead.stepdef, "pipeline", True):
            taken = {lead.call.fun}
            lead.call.publish_fun = lead.call.fun
            while i + 1 < len(steps) and _can_ride(steps[i + 1]):
                name = _free_name(steps[i + 1].call, taken)
                if name is None:
                    break
                steps[i + 1].call.publish_fun = name
                taken.add(name)
                i += 1
                group.append(i)
        groups.append(group)
        i += 1
    return groups
