"""What a When/Then step asks of each host: one Salt call and the assertion over its return."""

from dataclasses import dataclass, field


def short(value, limit=200):
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class SaltCall:
    fun: str
    args: list = field(default_factory=list)
    kwargs: dict = field(default_factory=dict)
    check: object = None  # callable(ret) -> reason (str) when the assertion fails, else None
    within: int = None  # retry failing hosts until this many seconds have passed
    lb_effect: str = None  # "block" / "unblock": tracked to report still-blocked hosts
    # pkgcheck.update: remember, per host, the version this run replaced (for a rollback step)
    records_version: str = None
    # a rollback step: each host gets back the version of this package that the run replaced
    rollback_of: str = None
    # Run once on this minion (e.g. the HAProxy load balancer) for the batch's hosts instead of
    # on each host: `hosts_arg(transport, hosts)` becomes kwarg `hosts_kwarg`, and the minion
    # answers {"hosts": {host: {"ok": bool, "reason": str, ...}}, ...}.
    on: str = None
    hosts_kwarg: str = "hosts"
    hosts_arg: object = None  # callable(transport, hosts) -> value; default: the list of hosts
    # callable(ret) -> a short line for reports beside the verdict (e.g. "2 states, 1 changed"), or None
    summarize: object = None
    # scenario.compile: (state function, [{key: value}, ...]) when this call is not compiled to a
    # `salt.function` of fun/args/kwargs (state steps compile to `salt.state`); target, requisites
    # and failhard are added by the compiler.
    orch: tuple = None
    # Functions that do the same as `fun`: a publish shared with other steps can hold a function
    # only once, so a second NRPE check rides along as nrpe.check (see running/pipeline.py).
    twins: tuple = ()
    publish_fun: str = None  # the name this call has in its shared publish, set by the plan

    def describe(self):
        parts = [repr(a) if not isinstance(a, str) else a for a in self.args]
        parts += [f"{k}={v!r}" if not isinstance(v, str) else f"{k}={v}" for k, v in self.kwargs.items()]
        return " ".join([self.fun, *parts])

    def as_dict(self):
        data = {"fun": self.fun, "args": list(self.args), "kwargs": dict(self.kwargs)}
        if self.within:
            data["within"] = self.within
        if self.lb_effect:
            data["lb_effect"] = self.lb_effect
        if self.rollback_of:
            data["rollback_of"] = self.rollback_of
        if self.on:
            data["on"] = self.on
        return data

    def judge(self, ret):
        """None when the returned data satisfies the step, else why not."""
        return self.check(ret) if self.check else None

    def summary(self, ret):
        """The report line for one host's return, or None."""
        return self.summarize(ret) if self.summarize else None


@dataclass
class ApprovalGate:
    """``Then I wait for approval``: the run waits for ``scenario.approve`` or ``scenario.abort``."""

    within: int  # seconds
    is_gate = True

    def as_dict(self):
        return {"approval": True, "within": self.within}


def expect_ok(detail=None):
    """The module's verification dict must say ok: True."""

    def check(ret):
        if not isinstance(ret, dict):
            return f"unexpected return {short(ret)}"
        if ret.get("ok") is True:
            return None
        return detail(ret) if detail else f"not ok: {short(ret)}"

    return check


def expect_key(key, value):
    def check(ret):
        if not isinstance(ret, dict):
            return f"unexpected return {short(ret)}"
        if ret.get(key) != value:
            return f"{key} is {ret.get(key)!r}, expected {value!r}"
        return None

    return check


def expect_dict():
    def check(ret):
        return None if isinstance(ret, dict) else f"unexpected return {short(ret)}"

    return check


def expect_value(value):
    def check(ret):
        return None if ret == value else f"returned {short(ret)}, expected {value!r}"

    return check


def expect_subset(wanted):
    def check(ret):
        if not isinstance(ret, dict):
            return f"returned {short(ret)}, expected a dict with {wanted!r}"
        wrong = {k: ret.get(k) for k, v in wanted.items() if ret.get(k) != v}
        return None if not wrong else "; ".join(f"{k} is {v!r}, expected {wanted[k]!r}" for k, v in wrong.items())

    return check


def expect_state(judge):
    """(check, summarize) from a state-return judge: judge(ret) -> (reason or None, summary or None)."""
    return (lambda ret: judge(ret)[0]), (lambda ret: judge(ret)[1])
