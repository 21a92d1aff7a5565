"""The apt phase of `make demo` / `make test`: install the missing Debian packages, start no service.

    python3 tools/apt_packages.py --purpose 'the demo' --log build/install/apt.log PKG [PKG ...]

Prints one line (`apt: 3 packages installed in 41.2 s: ...`); apt's own output goes to the log,
whose path and last lines are printed when the phase fails. Packages already installed are
not touched, and nothing is asked of apt when none is missing.

Installing a package must not start its service on this machine (haproxy and the NRPE server
come with one; the sandbox runs its own copies inside namespaces). Debian's maintainer scripts
start services through invoke-rc.d (sysvinit) or deb-systemd-invoke (systemd), and both ask
/usr/sbin/policy-rc.d first: exit 101 means "do not". So `apt-get install` runs in a mount
namespace of its own in which tools/policy-rc.d (exit 101) is bind-mounted on that path: the
policy holds for that one apt-get and its children only, on either init system, and the
machine's own policy-rc.d (or its absence) stays as it was for everybody else. (RUNLEVEL=1
would only steer invoke-rc.d's runlevel check: under systemd deb-systemd-invoke ignores it.)
"""

import argparse
import ctypes
import os
import subprocess
import sys
from pathlib import Path

from phase import Phase, PhaseFailed

POLICY = Path(__file__).resolve().parent / "policy-rc.d"
POLICY_PATH = Path("/usr/sbin/policy-rc.d")

# <sched.h> and <sys/mount.h>
CLONE_NEWNS = 0x00020000
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18


def missing(packages):
    """The packages dpkg does not report as "install ok installed", in the order given."""
    proc = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package} ${Status}\\n", *packages],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    installed = {
        line.split(" ", 1)[0].split(":", 1)[0]
        for line in proc.stdout.splitlines()
        if line.endswith(" install ok installed")
    }
    return [p for p in packages if p not in installed]


def _check(result, what):
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _private_policy(policy, target):
    """A preexec_fn: a mount namespace of the child's own, ``policy`` bind-mounted on ``target``."""

    libc = ctypes.CDLL(None, use_errno=True)  # loaded before the fork, not in the child

    def enter():
        _check(libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
        # Private first, so the bind mount below never propagates back to the machine's namespace.
        _check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
        _check(libc.mount(os.fsencode(policy), os.fsencode(target), None, MS_BIND, None), f"mount --bind {target}")

    return enter


class PolicyPhase(Phase):
    """Phase.run, with the command in a mount namespace where ``policy`` is /usr/sbin/policy-rc.d."""

    def run_without_services(self, argv, env, policy=POLICY, target=POLICY_PATH, timeout=1800):
        target = Path(target)
        placeholder = not os.path.lexists(target)
        if placeholder:
            # A bind mount needs a file to cover. An empty file that is not executable is what
            # no file is to invoke-rc.d and deb-systemd-invoke (both test -x); it goes at the end.
            target.touch(mode=0o644)
            self.note(f"(created the empty placeholder {target}; removed again below)")
        try:
            self.note(f"(in a private mount namespace: {policy} on {target})")
            self.run(argv, env=env, timeout=timeout, preexec=_private_policy(policy, target))
        finally:
            if placeholder:
                target.unlink(missing_ok=True)


def install(packages, purpose, log, out=None, err=None):
    phase = PolicyPhase("apt", log, out=out, err=err)
    try:
        todo = missing(packages)
        if not todo:
            phase.say(f"the {len(packages)} packages for {purpose} are installed ({phase.elapsed:.1f} s)")
            return 0
        phase.note(f"missing for {purpose}: {' '.join(todo)}")
        if os.geteuid() != 0:
            raise PhaseFailed(
                f"{len(todo)} packages are missing ({' '.join(todo)}): run make as root, or install them "
                f"with apt-get install --no-install-recommends {' '.join(todo)}"
            )
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        phase.run(["apt-get", "update"], env=env, timeout=600)
        phase.run_without_services(
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", "-o", "Dpkg::Use-Pty=0", *todo], env
        )
        still = missing(todo)
        if still:
            raise PhaseFailed(f"apt-get exited 0 but these are still not installed: {' '.join(still)}")
    except (PhaseFailed, OSError) as exc:
        return phase.failed(str(exc))
    phase.say(f"{len(todo)} packages installed in {phase.elapsed:.1f} s: {' '.join(todo)} (log: {log})")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="tools/apt_packages.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--purpose", default="this target", help="what they are for, in the message (e.g. 'the demo')")
    parser.add_argument("--log", default="build/install/apt.log", help="apt's output goes here (appended)")
    parser.add_argument("packages", nargs="+", metavar="PKG", help="Debian package names")
    args = parser.parse_args(argv)
    return install(args.packages, args.purpose, Path(args.log))


if __name__ == "__main__":
    sys.exit(main())
