"""What a step does to the fleet beyond its verdict, declared as data where the step is built.

A When/Then handler attaches an `Effects` to the call it returns (see builtin_steps.py), so its
parameters (the package) are filled in. Whoever cares about the fleet reads the declaration:
running/fleet_effects.py tracks the hosts left out of the balancer and the versions a run
replaced, and supplies the per-host arguments of a rollback; the journal, the reports and the
bus read the same declarations from the step events. The executor only carries them along.

A new step with a side effect is one handler in builtin_steps.py declaring one of these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypedDict, cast

# The words the recovery phase (the @on-failure scenarios, which roll the hosts back) has in
# events, reports and the journal. The executor runs "recovery scenarios" and names them so.
RECOVERY_PHASE = "rollback"  # step events' `phase`
RECOVERY_STARTED = "rollback_started"  # the event before the first recovery step
RECOVERY_RESULT = "rollback"  # run_finished's key for what the recovery did
RECOVERY_TAG = "@on-failure"  # the tag that makes a scenario a recovery scenario

LbEffect = Literal["block", "unblock"]


class EffectsInfo(TypedDict, total=False):
    """`Effects.as_dict()`: what step events carry (only the declared keys)."""

    leaves_balancer: bool
    rejoins_balancer: bool
    records_version: str
    rolls_back: str


class LegacyCallInfo(TypedDict, total=False):
    """How a step's call dict in events, the journal and reports has always shown its effects."""

    lb_effect: LbEffect
    rollback_of: str


@dataclass(frozen=True)
class Effects:
    """What passing the step means for a host.

    - `leaves_balancer`: the host is out of the load balancer's rotation (blocked or drained).
      A failed return saying ``out_of_rotation: True`` (a drain that timed out) counts too.
    - `rejoins_balancer`: the host is back in the rotation.
    - `records_version`: the package whose version this step replaced is remembered, per
      host, the first time the run changes it (``{"changed": True, "old": "1.0"}``).
    - `rolls_back`: each host gets back the version of this package the run replaced there,
      as the call's last argument; a host where the run changed nothing passes without a call.
    """

    leaves_balancer: bool = False
    rejoins_balancer: bool = False
    records_version: str | None = None
    rolls_back: str | None = None

    def __post_init__(self) -> None:
        if self.leaves_balancer and self.rejoins_balancer:
            raise ValueError("a step cannot both leave and rejoin the load balancer")

    @property
    def per_host_args(self) -> bool:
        """True when each host's call gets arguments of its own (it cannot share a publish)."""
        return self.rolls_back is not None

    def as_dict(self) -> EffectsInfo:
        data: EffectsInfo = {}
        if self.leaves_balancer:
            data["leaves_balancer"] = True
        if self.rejoins_balancer:
            data["rejoins_balancer"] = True
        if self.records_version is not None:
            data["records_version"] = self.records_version
        if self.rolls_back is not None:
            data["rolls_back"] = self.rolls_back
        return data

    @classmethod
    def from_dict(cls, data: object) -> Effects:
        """The declaration back from an event's ``effects`` (missing or malformed: none)."""
        if not isinstance(data, dict):
            return NO_EFFECTS
        info = cast(dict[str, object], data)
        records, rolls = info.get("records_version"), info.get("rolls_back")
        return cls(
            leaves_balancer=info.get("leaves_balancer") is True,
            rejoins_balancer=info.get("rejoins_balancer") is True and info.get("leaves_balancer") is not True,
            records_version=records if isinstance(records, str) else None,
            rolls_back=rolls if isinstance(rolls, str) else None,
        )

    def legacy_call_info(self) -> LegacyCallInfo:
        """The keys the step's call dict has always carried for these effects."""
        data: LegacyCallInfo = {}
        if self.leaves_balancer:
            data["lb_effect"] = "block"
        elif self.rejoins_balancer:
            data["lb_effect"] = "unblock"
        if self.rolls_back is not None:
            data["rollback_of"] = self.rolls_back
        return data

    def union(self, other: Effects) -> Effects:
        """The effects of a fused group (a When and the read-only Thens riding in its publish)."""
        if other == NO_EFFECTS:
            return self
        if self == NO_EFFECTS:
            return other
        leaves = self.leaves_balancer or other.leaves_balancer
        return Effects(
            leaves_balancer=leaves,
            rejoins_balancer=not leaves and (self.rejoins_balancer or other.rejoins_balancer),
            records_version=self.records_version or other.records_version,
            rolls_back=self.rolls_back or other.rolls_back,
        )


NO_EFFECTS = Effects()
LEAVES_BALANCER = Effects(leaves_balancer=True)
REJOINS_BALANCER = Effects(rejoins_balancer=True)


def records_version(package: str) -> Effects:
    return Effects(records_version=package)


def rolls_back(package: str) -> Effects:
    return Effects(rolls_back=package)
