"""
Serve Salt loader calls from inside a network namespace.

Run as ``ip netns exec NS python -m tests.support.netns_minion ROOT_DIR CONFIG_JSON``
(with the repository on PYTHONPATH, see ``child_env``). It builds the loaders of
salt_loaders.make_loaders, answers ``{"ready": true}``, then reads one JSON request
per line on stdin and writes one JSON reply per line:

    {"module": "lbgate.block", "args": [...], "kwargs": {...}}
        -> {"return": ..., "retcode": <__context__["retcode"] or null>}
    {"state": "lbgate.blocked", "kwargs": {"name": ..., "test": true}}
        -> {"return": {"result", "changes", "comment"}}
    any exception -> {"error": {"type": "SaltInvocationError", "message": "..."}}

A child process is the way in because Python 3.11 has no os.setns, and the
firewall commands the modules run must see the namespace's ruleset.
"""

import json
import os
import select
import subprocess
import sys

import salt.exceptions

from tests.support.paths import REPO
from tests.support.salt_loaders import make_loaders

# What a child process runs: python -m MODULE.
MODULE = "tests.support.netns_minion"


def child_env(extra=None):
    """os.environ plus ``extra``, with the repository first on PYTHONPATH so that a child
    ``python -m tests.support.<module>`` imports this package wherever its cwd is."""
    env = {**os.environ, **(extra or {})}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def _answer(loaders, request):
    loaders.context.pop("retcode", None)
    kwargs = request.get("kwargs", {})
    if "module" in request:
        ret = loaders.modules[request["module"]](*request.get("args", []), **kwargs)
        return {"return": ret, "retcode": loaders.context.get("retcode")}
    module, function = request["state"].split(".", 1)
    result = getattr(getattr(loaders.states, module), function)(**kwargs)
    return {"return": {k: result.full_return[k] for k in ("result", "changes", "comment")}}


def serve(root_dir, config):
    """The child side: loaders of a minion rooted in ``root_dir``, answering on stdin/stdout."""
    # Replies go through a private copy of stdout; anything else the loaders print
    # lands on stderr instead of corrupting the protocol.
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    loaders = make_loaders(root_dir, config)
    replies.write(json.dumps({"ready": True}) + "\n")
    replies.flush()
    for line in sys.stdin:
        try:
            reply = _answer(loaders, json.loads(line))
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the test, which raises it there
            reply = {"error": {"type": type(exc).__name__, "message": str(exc)}}
        replies.write(json.dumps(reply, default=str) + "\n")
        replies.flush()


# ------------------------------------------------------------ client side


class NetnsMinion:
    """
    The test's end of the protocol: a minion's loaders living in network namespace
    ``netns``, with extra environment ``env`` (e.g. a PATH that picks other tools).
    ``call`` returns a module's return (raising the Salt exception it raised),
    ``call_full`` also gives the retcode it set, ``state`` runs a state.
    """

    TIMEOUT = 60

    def __init__(self, netns, root_dir, config=None, env=None):
        argv = ["ip", "netns", "exec", netns, sys.executable, "-m", MODULE]
        argv += [str(root_dir), json.dumps(config or {})]
        # Own session: the process is ours alone to stop, by pid.
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
            env=child_env(env),
        )
        self._read()

    def _read(self):
        ready, _, _ = select.select([self.proc.stdout], [], [], self.TIMEOUT)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            self.close()
            raise RuntimeError(f"netns minion gave no reply (exit code {self.proc.returncode})")
        return json.loads(line)

    def _ask(self, request):
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        reply = self._read()
        if "error" in reply:
            cls = getattr(salt.exceptions, reply["error"]["type"], None)
            if not (isinstance(cls, type) and issubclass(cls, Exception)):
                raise RuntimeError(f"{reply['error']['type']}: {reply['error']['message']}")
            raise cls(reply["error"]["message"])
        return reply

    def call_full(self, fun, *args, **kwargs):
        """(return, __context__["retcode"] or None) of execution function ``fun``."""
        reply = self._ask({"module": fun, "args": list(args), "kwargs": kwargs})
        return reply["return"], reply["retcode"]

    def call(self, fun, *args, **kwargs):
        return self.call_full(fun, *args, **kwargs)[0]

    def state(self, fun, **kwargs):
        """{"result", "changes", "comment"} of state function ``fun`` (pass test=True to dry-run)."""
        return self._ask({"state": fun, "kwargs": kwargs})["return"]

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def main():
    serve(sys.argv[1], json.loads(sys.argv[2]))


if __name__ == "__main__":
    main()
