"""
A private package root for tests: real dpkg and apt, without touching the
machine's package state.

``PrivRoot(workdir, repo)`` starts a child process in a mount namespace of its
own (``unshare --mount --propagation private``). There, before anything else:

- /var/lib/dpkg, /var/lib/apt, /var/log, /var/cache/debconf and /opt become
  overlays whose writable layer is a tmpfs of the namespace: the machine's
  content is visible, every write stays private;
- /etc/apt, /var/lib/apt/lists and /var/cache/apt become empty tmpfs, and
  /etc/apt/sources.list names only ``deb [trusted=yes] file:<repo> ./``;
- ``apt-get update`` reads that repository.

Then the child serves Salt loader calls with the protocol of netns_minion.py
(``.call``, ``.call_full``, ``.state``, ``.run`` for a plain command). The
namespace, and every mount in it, ends with the child: ``close()`` or a crash
leaves nothing behind.

Also: ``build_deb`` and ``build_repo`` make a local apt repository of tiny
packages with dpkg-deb and dpkg-scanpackages.

Run as ``unshare ... python -m tests.support.private_package_root SPEC_JSON`` by PrivRoot only.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.netns_minion import NetnsMinion, child_env, serve

MODULE = "tests.support.private_package_root"

# Directories whose content must stay visible but whose writes must stay private.
OVERLAID = ["/var/lib/dpkg", "/var/lib/apt", "/var/log", "/var/cache/debconf", "/opt"]
# Directories that start empty in the private root.
EMPTIED = ["/etc/apt", "/var/lib/apt/lists", "/var/cache/apt"]


# ------------------------------------------------------------ packages


def build_deb(outdir, name, version, files=None):
    """
    Build ``name`` at ``version`` (architecture all) into ``outdir`` and return
    its path. ``files`` maps absolute paths to text; by default the package holds
    /opt/<name>/VERSION containing the version.
    """
    files = files or {f"/opt/{name}/VERSION": f"{version}\n"}
    outdir = Path(outdir)
    safe = version.replace(":", "%3a")
    tree = outdir / f"build-{name}-{safe}"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN" / "control").write_text(
        f"Package: {name}\nVersion: {version}\nArchitecture: all\n"
        "Maintainer: saltext-scenario tests <tests@example.invalid>\n"
        "Priority: optional\nSection: misc\n"
        f"Description: test package {name} {version}\n",
        encoding="utf-8",
    )
    for path, text in files.items():
        target = tree / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    deb = outdir / f"{name}_{safe}_all.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "--build", str(tree), str(deb)],
        check=True,
        capture_output=True,
    )
    shutil.rmtree(tree)
    return deb


def build_repo(repo, packages):
    """
    A flat apt repository in ``repo`` holding ``packages`` ({name: [versions]}):
    the .debs and a Packages index listing every version.
    """
    repo = Path(repo)
    repo.mkdir(parents=True, exist_ok=True)
    for name, versions in packages.items():
        for version in versions:
            build_deb(repo, name, version)
    index = subprocess.run(
        ["dpkg-scanpackages", "--multiversion", ".", "/dev/null"],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    (repo / "Packages").write_text(index, encoding="utf-8")
    return repo


# ------------------------------------------------------------ client side


class PrivRoot(NetnsMinion):
    """
    Salt loaders in a private package root (see the module docstring).
    ``workdir`` holds the minion's files; ``repo`` is a flat apt repository.
    """

    TIMEOUT = 120

    def __init__(self, workdir, repo, config=None):
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        spec = {
            "scratch": str(workdir / "scratch"),
            "minion_root": str(workdir / "minion"),
            "repo": str(Path(repo).resolve()),
            "config": config or {},
            "outer_mount_ns": os.readlink("/proc/self/ns/mnt"),
        }
        argv = ["unshare", "--mount", "--propagation", "private", "--"]
        argv += [sys.executable, "-m", MODULE, json.dumps(spec)]
        # Own session: the child is ours alone to stop, by pid.
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True, env=child_env()
        )
        self._read()

    def run(self, argv):
        """Run a command inside the private root: {"retcode", "stdout", "stderr"}."""
        ret = self.call("cmd.run_all", list(argv), python_shell=False, ignore_retcode=True)
        return {k: ret[k] for k in ("retcode", "stdout", "stderr")}


# ------------------------------------------------------------ child side


def _check(argv):
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)


def _make_private(spec):
    # The one thing that must never happen: these mounts in the machine's own
    # mount namespace. Refuse unless unshare really gave us a new one.
    if os.readlink("/proc/self/ns/mnt") == spec["outer_mount_ns"]:
        raise SystemExit("privroot: not in a private mount namespace, refusing to mount")
    scratch = Path(spec["scratch"])
    scratch.mkdir(parents=True, exist_ok=True)
    # overlayfs wants its upper layer on a real filesystem, not on the overlay
    # the machine's root may itself be.
    _check(["mount", "-t", "tmpfs", "-o", "mode=0755", "privroot", str(scratch)])
    for number, target in enumerate(OVERLAID):
        upper, work = scratch / f"upper{number}", scratch / f"work{number}"
        upper.mkdir()
        work.mkdir()
        options = f"lowerdir={target},upperdir={upper},workdir={work}"
        _check(["mount", "-t", "overlay", "-o", options, "privroot", target])
    for target in EMPTIED:
        os.makedirs(target, exist_ok=True)
        _check(["mount", "-t", "tmpfs", "-o", "mode=0755", "privroot", target])
    for sub in ("sources.list.d", "apt.conf.d", "preferences.d", "trusted.gpg.d"):
        os.makedirs(f"/etc/apt/{sub}")
    os.makedirs("/var/lib/apt/lists/partial")
    os.makedirs("/var/cache/apt/archives/partial")
    Path("/etc/apt/sources.list").write_text(f"deb [trusted=yes] file:{spec['repo']} ./\n", encoding="utf-8")
    update = subprocess.run(["apt-get", "-q", "update"], capture_output=True, text=True, check=False)
    if update.returncode != 0:
        raise SystemExit(f"privroot: apt-get update failed: {update.stderr}")


def main():
    spec = json.loads(sys.argv[1])
    _make_private(spec)
    serve(spec["minion_root"], spec["config"])


if __name__ == "__main__":
    main()
