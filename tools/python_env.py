"""The python phase of `make demo` / `make test`: a virtualenv with this package and one Salt.

    python3 tools/python_env.py --venv .venv --salt 3008.4 --log build/install/python-3008.4.log

Prints one line (`python: .venv ready in 38.0 s (salt 3008.4, uv 0.13.9)`); the installers'
output goes to the log, whose path and last lines are printed when the phase fails.

Where the time goes on a fresh machine (measured, see docs/user-guide/install-and-test.md): salt 3008.4 and
timelib come as sources, so both are built (timelib is C: tools/python_build_packages.py); the
rest is downloading about 100 distributions and byte-compiling salt's modules. With empty
caches uv took 27 s to prepare the 99 distributions, 2.5 s to resolve and 54 ms to install.
uv (pinned below, installed from PyPI into the venv by its own pip) downloads and builds in
parallel; when uv cannot be installed (no wheel for this platform, say), pip does the same
install, only slower.

The venv is up to date when its stamp holds the hash of pyproject.toml, the Salt version, the
installer pins and the interpreter: then nothing is run at all.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from phase import Phase, PhaseFailed

REPO = Path(__file__).resolve().parent.parent
UV = "uv==0.13.9"
EXTRAS = "tests,lint,docs"
STAMP = ".installed"


def wanted(salt, python):
    """What the stamp must say for the venv to count as up to date."""
    digest = hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()
    return {"pyproject.toml": digest, "salt": salt, "uv": UV, "python": str(python), "extras": EXTRAS}


def up_to_date(venv, want):
    try:
        have = json.loads((venv / STAMP).read_text())
    except (OSError, ValueError):
        return False
    return have == want and (venv / "bin" / "python").exists()


def _env():
    # The installers' own chatter (pip's version check, uv's progress bars) goes nowhere useful.
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", UV_NO_PROGRESS="1")
    env.pop("VIRTUAL_ENV", None)
    return env


def install(venv, salt, python, log, out=None, err=None):
    phase = Phase("python", log, out=out, err=err)
    venv = Path(venv)
    want = wanted(salt, python)
    if up_to_date(venv, want):
        phase.say(f"{venv} up to date (salt {salt})")
        return 0
    env = _env()
    py = venv / "bin" / "python"
    requirements = ["-e", f"{REPO}[{EXTRAS}]", f"salt=={salt}"]
    try:
        (venv / STAMP).unlink(missing_ok=True)
        phase.run([python, "-m", "venv", venv], env=env, timeout=300)
        installer = _install(phase, venv, requirements, env)
        version = _salt_version(py, env)
        if version != salt:
            raise PhaseFailed(f"salt {salt} was asked for, the venv has {version}")
    except PhaseFailed as exc:
        return phase.failed(str(exc))
    (venv / STAMP).write_text(json.dumps(want, indent=1))
    phase.say(f"{venv} ready in {phase.elapsed:.1f} s (salt {salt}, {installer}; log: {log})")
    return 0


def _install(phase, venv, requirements, env):
    """Install with uv; with pip when uv cannot be installed or fails. Returns which one did."""
    py = venv / "bin" / "python"
    try:
        phase.run([py, "-m", "pip", "install", "-q", UV], env=env, timeout=300)
    except PhaseFailed as exc:
        phase.note(f"uv is not installable here ({exc}): pip installs instead")
    else:
        try:
            # --compile-bytecode: pip compiles by default and uv does not; without the .pyc
            # files every salt process (minions, salt-run, salt-call) compiles salt again
            # each time it starts (PYTHONDONTWRITEBYTECODE is common in CI images).
            phase.run(
                [venv / "bin" / "uv", "pip", "install", "--python", py, "--compile-bytecode", *requirements], env=env
            )
            return UV.replace("==", " ")
        except PhaseFailed as exc:
            # uv has its own network stack (proxies, TLS roots): pip may still get through.
            phase.note(f"uv failed ({exc}): pip tries the same install")
            phase.run([py, "-m", "pip", "install", *requirements], env=env)
            return "pip after uv failed: see the log"
    phase.run([py, "-m", "pip", "install", *requirements], env=env)
    return "pip"


def _salt_version(py, env):
    proc = subprocess.run(
        [str(py), "-c", "import salt.version; print(salt.version.__version__)"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    if proc.returncode != 0:
        raise PhaseFailed(f"the venv cannot import salt: {proc.stderr.strip()[-300:]}")
    return proc.stdout.strip()


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="tools/python_env.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--venv", default=".venv", help="the virtualenv's directory (default .venv)")
    parser.add_argument("--salt", required=True, help="the Salt release to install, e.g. 3008.4")
    parser.add_argument("--python", default=sys.executable, help="the interpreter that makes the venv")
    parser.add_argument("--log", help="the installers' output (default build/install/python-SALT.log)")
    args = parser.parse_args(argv)
    log = Path(args.log or f"build/install/python-{args.salt}.log")
    return install(Path(args.venv), args.salt, args.python, log)


if __name__ == "__main__":
    sys.exit(main())
