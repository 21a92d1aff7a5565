"""The one exception the sandbox raises for anything the caller can fix or should see."""


class SandboxError(Exception):
    """A bad spec, a sandbox in the wrong state, or a step of up/down that failed."""
