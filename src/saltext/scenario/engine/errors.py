"""Errors that end a scenario run, each carrying the exit code the runner returns.

| code | meaning |
|---|---|
| 0 | passed on every pinned host |
| 1 | a step failed and the run halted (or the failure budget was exceeded); a step past its deadline fails |
| 2 | invalid scenario or arguments; nothing ran |
| 3 | what the run needs cannot be reached or written (hosts, Prometheus, the fleet store, the disk); nothing ran |
| 4 | another run holds this feature's lock, a claim or a hold on one of the pinned hosts; nothing ran |
| 5 | finished within the failure budget: some hosts failed, left the run and stay as they are |
| 6 | interrupted (SIGTERM/SIGINT, the fleet store or the records' disk lost mid-run): hosts kept blocked and held |

Exit 3 also covers a fleet store that cannot be reached or written at the start; a hold is a
host some run left out of the balancer (engine/store/); exit 6 gives the step in flight the stop
grace (a second signal none), then kills its job on the hosts still running it, and skips the rest.
"""

from __future__ import annotations

EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_DISCOVERY = 3
EXIT_LOCKED = 4
EXIT_BUDGET = 5
EXIT_INTERRUPTED = 6

# The `result` word of a run that executed, by exit code.
RESULTS = {
    EXIT_PASSED: "passed",
    EXIT_FAILED: "failed",
    EXIT_BUDGET: "within_budget",
    EXIT_INTERRUPTED: "interrupted",
}
RUN_RESULTS = frozenset(RESULTS.values())


class ScenarioError(Exception):
    """Base: a run that could not start. `retcode` is the runner's exit code."""

    retcode: int = EXIT_INVALID

    def __init__(self, message: str, location: str | None = None) -> None:
        self.message = message
        self.location = location
        super().__init__(f"{location}: {message}" if location else message)


class InvalidScenario(ScenarioError):
    """Bad name, file, step or parameter: nothing ran (exit 2)."""

    retcode = EXIT_INVALID


class DiscoveryError(ScenarioError):
    """Empty target, fewer hosts than expected, or known hosts not answering (exit 3)."""

    retcode = EXIT_DISCOVERY


class Unreachable(ScenarioError):
    """A service the run needs (Prometheus for a metric step) is not set or does not answer (exit 3)."""

    retcode = EXIT_DISCOVERY


class LockHeld(ScenarioError):
    """Another run of the same scenario holds the lock, or a claim or a hold on a pinned host (exit 4)."""

    retcode = EXIT_LOCKED
