"""The benchmark fleet: a spec of N hosts that all match update_website's target, and a
sandbox around it that is always taken down again (also on Ctrl-C or a failed run)."""

import contextlib
import shutil
import signal
import tempfile
from pathlib import Path

from measure import last_json

from saltext.scenario.sandbox import Sandbox

LB = "198.51.100.10"
APP = "mywebapp"
OLD, NEW = "4.2.5-1", "4.2.6-3"
# update_website.feature targets G@roles:dev_server and G@country:de: every host below matches.
GRAINS = {"roles": ["dev_server"], "country": "de"}
ORCH_DIR = "benchorch"  # salt://benchorch/<sls>.sls in the bench's own file root
# The real check_load plugin, with thresholds a shared 2-core machine under test load does not
# trip (the sandbox default warns at a load of 15/10/5): the benchmark times the check, it does
# not judge the machine. 40 minions on 2 cores drive the load average to about 70 by themselves.
NRPE = {"check_load": "/usr/lib/nagios/plugins/check_load -w 256,256,256 -c 512,512,512"}


def spec(size, master_config=None):
    """N hosts; `master_config`: extra salt-master options (e.g. gather_job_timeout)."""
    return {
        "lb": LB,
        "master": {"config": dict(master_config or {})},
        "repo": {APP: [OLD, NEW]},
        "hosts": {
            f"web{i}": {"grains": dict(GRAINS), "packages": {APP: OLD}, "nrpe": dict(NRPE)} for i in range(1, size + 1)
        },
    }


@contextlib.contextmanager
def fleet(size, prefix="bench", master_config=None):
    """Yield (sandbox, file_root): an up sandbox of ``size`` hosts and the dir for orchestrate SLS."""
    root = Path(tempfile.mkdtemp(prefix=f"{prefix}{size}-"))
    (root / ORCH_DIR).mkdir()
    sandbox = Sandbox(name=f"{prefix}{size}")
    try:
        sandbox.up(spec=spec(size, master_config), file_roots=[str(root)])
        yield sandbox, root
    finally:
        # A second Ctrl-C (or TERM) must not cut the cleanup short.
        saved = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            sandbox.down()
        finally:
            for sig, handler in saved.items():
                signal.signal(sig, handler)
            shutil.rmtree(root, ignore_errors=True)


class ResetError(RuntimeError):
    pass


def reset(sandbox):
    """Put every host back to OLD and unblocked, so the next run does the real upgrade.

    Returns the hosts whose package was at NEW before the reset: proof the previous run upgraded.
    """
    hosts = ",".join(sandbox.hosts)
    unblock = sandbox.salt("-L", hosts, "lbgate.unblock", LB, "--out=json", "--static", "-t", "60", timeout=120)
    if unblock.returncode != 0:
        raise ResetError(f"lbgate.unblock failed: {unblock.stdout.strip()} {unblock.stderr.strip()}")
    proc = sandbox.salt(
        "-L", hosts, "pkg.install", APP, f"version={OLD}", "--out=json", "--static", "-t", "120", timeout=300
    )
    got = last_json(proc.stdout) or {}
    upgraded, bad = [], []
    for host in sandbox.hosts:
        change = (got.get(host) or {}).get(APP) if isinstance(got.get(host), dict) else None
        if change:
            if change.get("new") != OLD:
                bad.append(f"{host}: {change}")
            elif change.get("old") == NEW:
                upgraded.append(host)
        elif not isinstance(got.get(host), dict):
            bad.append(f"{host}: {got.get(host)!r}")
        # An empty dict: already at OLD (nothing upgraded it since the last reset).
    if proc.returncode != 0 or bad:
        raise ResetError(f"pkg.install {APP}={OLD} failed (rc {proc.returncode}): {bad or proc.stderr.strip()}")
    return upgraded
