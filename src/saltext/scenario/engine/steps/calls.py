"""What a When/Then step asks of each host: one Salt call, where it runs, and how its return is judged.

A handler returns a `SaltCall`, or a `StepAction` that adds what passing the step means for
the fleet (steps/effects.py) and how `scenario.compile` writes it when not as a plain
`salt.function`. Calls are frozen: the plan keeps its own notes about them (running/plan.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

from .effects import NO_EFFECTS, Effects

Check = Callable[[object], str | None]  # ret -> why the assertion fails, or None
Summarize = Callable[[object], str | None]  # ret -> a short report line, or None
HostsValue = Callable[[object, Sequence[str]], object]  # (transport, hosts) -> the hosts argument
# scenario.compile: (state function, [{key: value}, ...]), e.g. ("salt.state", [{"sls": "app"}])
OrchSpec = tuple[str, list[dict[str, object]]]


def short(value: object, limit: int = 200) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class Delegate:
    """Run the call once on `minion` (e.g. the HAProxy load balancer) for the batch's hosts.

    The hosts go in as kwarg `kwarg`: `value(transport, hosts)`, by default the list of
    hosts. The minion answers ``{"hosts": {host: {"ok": bool, "reason": str, ...}}, ...}``.
    """

    minion: str
    kwarg: str = "hosts"
    value: HostsValue | None = None

    def hosts_value(self, transport: object, hosts: Sequence[str]) -> object:
        return self.value(transport, hosts) if self.value else list(hosts)


@dataclass(frozen=True)
class SaltCall:
    fun: str
    args: list[object] = field(default_factory=list)
    kwargs: dict[str, object] = field(default_factory=dict)
    check: Check | None = None  # why the assertion fails on one return, else None
    within: int | None = None  # retry failing hosts until this many seconds have passed
    summarize: Summarize | None = None  # a short line for reports beside the verdict
    delegate: Delegate | None = None  # run once on another minion for the hosts
    deadline: int | None = None  # seconds from publish to verdict (else `within`, else the master's)

    @property
    def on(self) -> str | None:
        """The minion the call runs on for the hosts, when it is delegated."""
        return self.delegate.minion if self.delegate else None

    def describe(self) -> str:
        parts = [repr(a) if not isinstance(a, str) else a for a in self.args]
        parts += [f"{k}={v!r}" if not isinstance(v, str) else f"{k}={v}" for k, v in self.kwargs.items()]
        return " ".join([self.fun, *parts])

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"fun": self.fun, "args": list(self.args), "kwargs": dict(self.kwargs)}
        if self.within:
            data["within"] = self.within
        if self.deadline:
            data["deadline"] = self.deadline
        if self.delegate:
            data["on"] = self.delegate.minion
        return data

    def judge(self, ret: object) -> str | None:
        """None when the returned data satisfies the step, else why not."""
        return self.check(ret) if self.check else None

    def summary(self, ret: object) -> str | None:
        """The report line for one host's return, or None."""
        return self.summarize(ret) if self.summarize else None


@dataclass(frozen=True)
class StepAction:
    """A call plus what passing it means for the fleet, and how scenario.compile writes it."""

    call: SaltCall
    effects: Effects = NO_EFFECTS
    orch: OrchSpec | None = None  # None: `salt.function` of the call's fun/args/kwargs


@dataclass(frozen=True)
class NoCall:
    """A host a step with per-host arguments need not call: it passes, for this reason."""

    reason: str


@dataclass(frozen=True)
class ApprovalGate:
    """``Then I wait for approval``: the run waits for ``scenario.approve`` or ``scenario.abort``."""

    within: int  # seconds
    is_gate = True

    def as_dict(self) -> dict[str, object]:
        return {"approval": True, "within": self.within}


def _as_dict(ret: object) -> Mapping[str, object] | None:
    return cast(Mapping[str, object], ret) if isinstance(ret, dict) else None


def expect_ok(detail: Callable[[Mapping[str, object]], str] | None = None) -> Check:
    """The module's verification dict must say ok: True."""

    def check(ret: object) -> str | None:
        data = _as_dict(ret)
        if data is None:
            return f"unexpected return {short(ret)}"
        if data.get("ok") is True:
            return None
        return detail(data) if detail else f"not ok: {short(ret)}"

    return check


def expect_key(key: str, value: object) -> Check:
    def check(ret: object) -> str | None:
        data = _as_dict(ret)
        if data is None:
            return f"unexpected return {short(ret)}"
        if data.get(key) != value:
            return f"{key} is {data.get(key)!r}, expected {value!r}"
        return None

    return check


def expect_dict() -> Check:
    def check(ret: object) -> str | None:
        return None if isinstance(ret, dict) else f"unexpected return {short(ret)}"

    return check


def expect_value(value: object) -> Check:
    def check(ret: object) -> str | None:
        return None if ret == value else f"returned {short(ret)}, expected {value!r}"

    return check


def expect_subset(wanted: Mapping[str, object]) -> Check:
    def check(ret: object) -> str | None:
        data = _as_dict(ret)
        if data is None:
            return f"returned {short(ret)}, expected a dict with {wanted!r}"
        wrong = {k: data.get(k) for k, v in wanted.items() if data.get(k) != v}
        return None if not wrong else "; ".join(f"{k} is {v!r}, expected {wanted[k]!r}" for k, v in wrong.items())

    return check


def expect_state(
    judge: Callable[[object], tuple[str | None, str | None]],
) -> tuple[Check, Summarize]:
    """(check, summarize) from a state-return judge: judge(ret) -> (reason or None, summary or None)."""
    return (lambda ret: judge(ret)[0]), (lambda ret: judge(ret)[1])
