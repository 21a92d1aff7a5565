"""B's form written by hand: the orchestrate SLS an operator would write for update_website.

B normally runs what `salt-run scenario.compile` emits; this is the fallback when compile
is unavailable or fails (and `run.py --hand-written`).

One `salt.function` state per When/Then step, on the pinned list (tgt_type list), with
expect_minions and failhard and a require chain; the verification is the modules' own
retcodes (verify_blocked, pkgcheck.verify and nrpe.run set retcode 1 when not ok).
The calls come from the engine's validate of the same feature, so A, B and C run the same
functions with the same arguments.
"""

import yaml

from saltext.scenario import config
from saltext.scenario.engine.parsing.source import DirSource
from saltext.scenario.engine.running.prepare import validate
from saltext.scenario.engine.service.request import RunRequest
from saltext.scenario.engine.service.returns import refusing


def feature_calls(repo_root, feature):
    """[{"text", "fun", "args", "kwargs", "within"}] of the feature's When/Then steps, and its target."""
    result = refusing(lambda: validate(config.load({}), RunRequest.from_args(feature), DirSource(repo_root)))
    if result["retcode"] != 0:
        raise RuntimeError(f"{feature}: not valid: {result.get('error')}")
    calls = []
    for scenario in result["scenarios"]:
        for step in scenario["steps"]:
            if step.get("call"):
                calls.append({"text": f"{step['keyword']} {step['text']}", **step["call"]})
    return result["target"], calls


def _state(call, hosts, previous):
    body = [
        {"name": call["fun"]},
        {"tgt": ",".join(hosts)},
        {"tgt_type": "list"},
        {"arg": list(call["args"])},
        {"expect_minions": True},
        {"failhard": True},
    ]
    if call["kwargs"]:
        body.append({"kwarg": dict(call["kwargs"])})
    if call.get("within"):
        # What "pass within N seconds" becomes by hand: the state's own retry.
        body.append({"retry": {"attempts": int(call["within"]), "interval": 1}})
    if previous:
        body.append({"require": [{"salt": previous}]})
    return {"salt.function": body}


def _chain(groups):
    sls, previous = {}, None
    for prefix, hosts, calls in groups:
        for index, call in enumerate(calls, 1):
            sid = f"{prefix}step{index:02d}_{call['fun'].replace('.', '_')}"
            sls[sid] = _state(call, hosts, previous)
            previous = sid
    return sls


def linear(calls, hosts):
    """Every step on all pinned hosts at once."""
    return yaml.safe_dump(_chain([("", hosts, calls)]), sort_keys=False)


def per_host(calls, hosts):
    """A rolling update by hand: each host blocked, updated, verified and unblocked in turn."""
    return yaml.safe_dump(_chain([(f"{host}_", [host], calls) for host in hosts]), sort_keys=False)
