"""Build the sandbox's local apt repositories from a spec.

Each (package, version) becomes one small .deb holding only /opt/<package>/VERSION and
/opt/<package>/index.html, built once with dpkg-deb and cached under the state dir. A repo is
a flat directory (`deb [trusted=yes] file:<dir> ./`) indexed with dpkg-scanpackages.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .errors import SandboxError


def deb_path(debs_dir, package, version):
    return Path(debs_dir) / f"{package}_{version.replace(':', '%3a')}_all.deb"


def build_deb(debs_dir, package, version):
    """Build (or reuse) the .deb for package=version; return its path."""
    target = deb_path(debs_dir, package, version)
    if target.exists():
        return target
    Path(debs_dir).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=debs_dir, prefix=".build-") as staging:
        root = Path(staging)
        (root / "DEBIAN").mkdir()
        (root / "DEBIAN" / "control").write_text(
            f"Package: {package}\n"
            f"Version: {version}\n"
            "Architecture: all\n"
            "Maintainer: scenario-sandbox <sandbox@example.invalid>\n"
            "Section: web\n"
            "Priority: optional\n"
            f"Description: {package} {version}, a scenario sandbox test package\n"
            " Installs /opt/" + package + "/VERSION and index.html only.\n"
        )
        app = root / "opt" / package
        app.mkdir(parents=True)
        (app / "VERSION").write_text(f"{version}\n")
        (app / "index.html").write_text(f"<html><body>{package} {version}</body></html>\n")
        partial = target.with_suffix(".part")
        proc = subprocess.run(
            ["dpkg-deb", "--root-owner-group", "-Znone", "--build", str(root), str(partial)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise SandboxError(f"dpkg-deb --build {package} {version} failed: {proc.stderr.strip()}")
        partial.rename(target)
    return target


def build_repo(repo_dir, offers, debs_dir):
    """Create a flat apt repo in ``repo_dir`` offering ``offers`` ({package: [versions]})."""
    repo = Path(repo_dir)
    repo.mkdir(parents=True, exist_ok=True)
    for package, versions in offers.items():
        for version in versions:
            deb = deb_path(debs_dir, package, version)
            link = repo / deb.name
            if not link.exists():
                try:
                    os.link(deb, link)
                except OSError:
                    shutil.copy2(deb, link)
    # --multiversion: without it only the newest version of each package would be offered.
    proc = subprocess.run(
        ["dpkg-scanpackages", "--multiversion", ".", "/dev/null"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SandboxError(f"dpkg-scanpackages in {repo} failed: {proc.stderr.strip()}")
    (repo / "Packages").write_text(proc.stdout)
    return repo


def all_versions(spec):
    """Every (package, version) any repo of the spec offers or any host pre-installs."""
    wanted = set()
    for package, versions in spec["repo"].items():
        wanted.update((package, v) for v in versions)
    for host in spec["hosts"].values():
        for package, versions in (host["repo"] or {}).items():
            wanted.update((package, v) for v in versions)
        wanted.update(host["packages"].items())
    return sorted(wanted)
