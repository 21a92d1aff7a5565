"""Errors that end a scenario run, each carrying the exit code the runner returns."""

EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_INVALID = 2
EXIT_DISCOVERY = 3
EXIT_LOCKED = 4


class ScenarioError(Exception):
    """Base: a run that could not start. `retcode` is the runner's exit code."""

    retcode = EXIT_INVALID

    def __init__(self, message, location=None):
        self.message = message
        self.location = location
        super().__init__(f"{location}: {message}" if location else message)


class InvalidScenario(ScenarioError):
    """Bad name, file, step or parameter: nothing ran (exit 2)."""

    retcode = EXIT_INVALID


class DiscoveryError(ScenarioError):
    """Empty target, fewer hosts than expected, or known hosts not answering (exit 3)."""

    retcode = EXIT_DISCOVERY


class LockHeld(ScenarioError):
    """Another run of the same scenario holds the lock (exit 4)."""

    retcode = EXIT_LOCKED
