"""`make demo`: bring a sandbox up, show the LB's view, run the main job, take it all down.

The main job is `salt-run scenario.run update_website`. The sandbox is always removed, also on
failure, Ctrl-C and SIGTERM. The exit code is the main job's.
"""

import argparse
import os
import signal
import sys
import time

from .cluster import Sandbox
from .errors import SandboxError

NAME = "demo"


def _say(text):
    print(f"\n== {text}", flush=True)


def show_probes(sandbox):
    for host in sandbox.hosts:
        reachable = sandbox.probe(host)
        body = sandbox.web(host) if reachable else "-"
        address = sandbox.record["hosts"][host]["address"]
        print(f"  {host:<6} {address:<15} {'reachable' if reachable else 'blocked':<10} {body}", flush=True)


def main_job(sandbox):
    _say("salt-run scenario.run update_website")
    return sandbox.salt_run("scenario.run", "update_website", capture=False).returncode


def _terminate(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m saltext.scenario.sandbox.demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--name", default=NAME, help=f"sandbox name (default {NAME!r})")
    name = parser.parse_args(argv).name
    if os.geteuid() != 0:
        print("demo: the sandbox needs root (network and mount namespaces); run it as root", file=sys.stderr)
        return 2
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)}
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    sandbox = Sandbox(name)
    code, owned = 1, False
    try:
        _say(f"bringing up sandbox {name!r} (default spec: web1..web4, db1, an LB, a master)")
        started = time.monotonic()
        # up() cleans up after itself when it fails, and refuses (touching nothing) when a
        # sandbox of this name is running: only a sandbox this demo brought up is ours to remove.
        sandbox.up()
        owned = True
        print(f"  up in {time.monotonic() - started:.1f} s", flush=True)
        _say(f"probe from the load balancer ({sandbox.lb}) before")
        show_probes(sandbox)
        code = main_job(sandbox)
        _say(f"probe from the load balancer ({sandbox.lb}) after")
        show_probes(sandbox)
    except KeyboardInterrupt:
        code = 130
        print("\ninterrupted", file=sys.stderr)
    except SandboxError as exc:
        code = 2
        print(f"demo: {exc}", file=sys.stderr)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not skip the cleanup
        if owned:
            _say(f"taking sandbox {name!r} down")
            started = time.monotonic()
            sandbox.down()
            print(f"  down in {time.monotonic() - started:.1f} s; exit code {code}", flush=True)
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    return code


if __name__ == "__main__":
    sys.exit(main())
