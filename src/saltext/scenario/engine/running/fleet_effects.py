"""What a run did to the fleet, read from its step events and the steps' declared effects.

The executor only calls and judges; this listener reads each finished step's `effects`
(steps/effects.py) and its per-host verdicts, and keeps:
- the hosts out of the load balancer: a step that leaves it took a host out when the host
  passed, or when its failed return says ``out_of_rotation: True`` (a drain that timed out
  left the host drained); a step that rejoins it put a passing host back;
- per host, the version of a package the run replaced, the first time it changed it.
From those it answers the executor's hooks: the per-host arguments of a rollback step (each
host gets back the version it had), and the fields `still_blocked` and `replaced` of the
run's end. The journal's write-ahead record (records/run_recorder.py) keeps one too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, cast

from ..steps.calls import NoCall
from ..steps.effects import Effects
from .calling import HostArgs

if TYPE_CHECKING:
    from .plan import PlannedStep

UNCHANGED = "this run did not change the package here"


class FleetEffects:
    """A listener (events in, nothing out) plus the executor's hooks over what it saw."""

    def __init__(self) -> None:
        self.blocked: set[str] = set()  # hosts out of the balancer by this run's steps
        self.replaced: dict[str, dict[str, object]] = {}  # host -> {package: version replaced}

    def __call__(self, event: Mapping[str, object]) -> None:
        self.observe(event)

    def observe(self, event: Mapping[str, object]) -> None:
        if event.get("event") != "step_finished":
            return
        effects = Effects.from_dict(event.get("effects"))
        results = event.get("results")
        if effects.as_dict() and isinstance(results, dict):
            self.apply(effects, cast(Mapping[str, Mapping[str, object]], results))

    def apply(self, effects: Effects, results: Mapping[str, Mapping[str, object]]) -> None:
        """Take in one step's per-host verdicts ({host: {"ok", "ret", ...}})."""
        for host, res in results.items():
            ret = res.get("ret")
            data = cast(Mapping[str, object], ret) if isinstance(ret, dict) else {}
            if res.get("ok") is not True:
                if effects.leaves_balancer and data.get("out_of_rotation") is True:
                    self.blocked.add(host)
                continue
            if effects.leaves_balancer:
                self.blocked.add(host)
            elif effects.rejoins_balancer:
                self.blocked.discard(host)
            if effects.records_version is not None and data.get("changed"):
                # The first update of the run says what to go back to.
                self.replaced.setdefault(host, {}).setdefault(effects.records_version, data.get("old"))

    # -- the executor's hooks -------------------------------------------------------------------
    def host_args(self, pstep: PlannedStep, hosts: Sequence[str]) -> dict[str, HostArgs] | None:
        """For a rollback step: per host, the version to go back to (appended to the call's
        arguments), or NoCall where the run changed nothing. None for every other step."""
        package = pstep.effects.rolls_back
        if package is None:
            return None
        per_host: dict[str, HostArgs] = {}
        for host in hosts:
            version = self.replaced.get(host, {}).get(package)
            per_host[host] = NoCall(UNCHANGED) if version is None else (version,)
        return per_host

    def final_fields(self) -> dict[str, object]:
        """What run_finished says about the fleet."""
        return {
            "still_blocked": sorted(self.blocked),
            "replaced": {h: dict(v) for h, v in sorted(self.replaced.items())},
        }
