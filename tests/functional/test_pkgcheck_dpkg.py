"""Functional tests of pkgcheck through Salt's loaders against real dpkg and apt,
in a private package root (privroot.py) fed by a local repository of built .debs.
The machine's own package state must come out unchanged; the last test checks."""

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from salt.exceptions import CommandExecutionError, SaltInvocationError

from tests.support.private_package_root import PrivRoot, build_repo

PACKAGE = "sctestapp"
# 2.0-10 > 2.0-3 (revisions compare as numbers); 1:0.9-1 beats both (epoch).
VERSIONS = ["1.0-1", "2.0-3", "2.0-10", "1:0.9-1"]

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not all(shutil.which(t) for t in ("unshare", "dpkg-deb", "dpkg-scanpackages", "apt-get")),
    reason="needs root, unshare, dpkg-deb, dpkg-scanpackages and apt-get",
)


def real_package_state():
    """What must not change on the machine: dpkg's database and log, apt's sources, /opt."""
    digest = {}
    for path in ("/var/lib/dpkg/status", "/var/log/dpkg.log", "/etc/apt/sources.list"):
        p = Path(path)
        digest[path] = hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else None
    digest["dpkg-query"] = subprocess.run(["dpkg-query", "-W"], capture_output=True, text=True, check=True).stdout
    digest["/opt"] = sorted(os.listdir("/opt")) if os.path.isdir("/opt") else None
    return digest


@pytest.fixture(scope="module")
def machine_before():
    return real_package_state()


@pytest.fixture(scope="module")
def privroot(machine_before, tmp_path_factory):
    # machine_before first: the snapshot is taken before the private root exists.
    base = tmp_path_factory.mktemp("pkgcheck")
    repo = build_repo(base / "repo", {PACKAGE: VERSIONS})
    root = PrivRoot(base / "root", repo)
    try:
        yield root
    finally:
        root.close()


@pytest.fixture
def root(privroot):
    """The private root with PACKAGE not installed."""
    privroot.run(["dpkg", "--purge", PACKAGE])
    assert privroot.call("pkgcheck.verify", PACKAGE, "1.0-1")["installed"] is None
    return privroot


def installed_files(root):
    return root.run(["cat", f"/opt/{PACKAGE}/VERSION"])["stdout"].strip()


def package_set(root):
    return root.run(["dpkg-query", "-W"])["stdout"]


def test_not_installed_is_not_ok(root):
    result, retcode = root.call_full("pkgcheck.verify", PACKAGE, "1.0-1")
    assert result == {"name": PACKAGE, "installed": None, "expected": "1.0-1", "ok": False}
    assert retcode == 1


def test_install_upgrade_downgrade(root):
    steps = []
    for version in ["1.0-1", "2.0-3", "1.0-1"]:
        result, retcode = root.call_full("pkgcheck.update", PACKAGE, version)
        steps.append((result["old"], result["new"], result["changed"], retcode, installed_files(root)))
        assert root.call_full("pkgcheck.verify", PACKAGE, version) == (
            {"name": PACKAGE, "installed": version, "expected": version, "ok": True},
            0,
        )
    assert steps == [
        (None, "1.0-1", True, 0, "1.0-1"),  # install
        ("1.0-1", "2.0-3", True, 0, "2.0-3"),  # upgrade
        ("2.0-3", "1.0-1", True, 0, "1.0-1"),  # downgrade
    ]


def test_update_is_idempotent(root):
    first = root.call("pkgcheck.update", PACKAGE, "2.0-3")
    before = package_set(root)
    second = root.call("pkgcheck.update", PACKAGE, "2.0-3")
    assert (first["changed"], second["changed"]) == (True, False)
    assert second == {"name": PACKAGE, "old": "2.0-3", "new": "2.0-3", "changed": False}
    assert package_set(root) == before


def test_update_uses_the_repository_spelling(root):
    # 2.0-03 equals 2.0-3 for dpkg; apt only knows the latter.
    result = root.call("pkgcheck.update", PACKAGE, "2.0-03")
    assert result == {"name": PACKAGE, "old": None, "new": "2.0-3", "changed": True}


def test_update_to_newest_respects_epoch(root):
    result = root.call("pkgcheck.update", PACKAGE)
    assert result == {"name": PACKAGE, "old": None, "new": "1:0.9-1", "changed": True}
    assert root.call("pkgcheck.update", PACKAGE)["changed"] is False


@pytest.mark.parametrize(
    "spec, ok",
    [
        ("2.0-3", True),
        ("=2.0-3", True),
        ("==2.0-3", True),
        ("2.0-03", True),  # dpkg compares the revision as a number
        ("2.0-10", False),
        ("!=2.0-3", False),
        (">=2.0", True),
        (">1.0-1", True),
        ("<=2.0-3", True),
        ("<2.0-10", True),  # revision 3 < 10, though "3" > "10" as text
        (">2.0-10", False),
        ("<1:0.9-1", True),  # any epoch beats no epoch
        ("1:2.0-3", False),
        ("0:2.0-3", True),  # epoch 0 is no epoch
        ("<2.0~rc1", False),  # ~ sorts before everything
    ],
)
def test_verify_against_real_dpkg(privroot, spec, ok):
    if privroot.call("pkg.version", PACKAGE) != "2.0-3":
        privroot.call("pkgcheck.update", PACKAGE, "2.0-3")
    result, retcode = privroot.call_full("pkgcheck.verify", PACKAGE, spec)
    assert (result["installed"], result["ok"], retcode) == ("2.0-3", ok, 0 if ok else 1)


def test_verify_epoch_installed(root):
    root.call("pkgcheck.update", PACKAGE, "1:0.9-1")
    assert root.call("pkgcheck.verify", PACKAGE, ">=2.0-10")["ok"] is True
    assert root.call("pkgcheck.verify", PACKAGE, "0.9-1")["ok"] is False
    assert root.call("pkgcheck.verify", PACKAGE, "1:0.9-1")["ok"] is True


def test_incomparable_version_is_an_error(root):
    root.call("pkgcheck.update", PACKAGE, "1.0-1")
    # Passes the character check, but dpkg rejects it: "epoch in version is empty".
    with pytest.raises(CommandExecutionError, match="cannot compare"):
        root.call("pkgcheck.verify", PACKAGE, "a:1")


def test_unavailable_version_fails_and_changes_nothing(root):
    root.call("pkgcheck.update", PACKAGE, "1.0-1")
    before = package_set(root)
    with pytest.raises(CommandExecutionError, match=r"version 3\.0-1 of sctestapp is not available"):
        root.call("pkgcheck.update", PACKAGE, "3.0-1")
    with pytest.raises(CommandExecutionError, match="not available"):
        root.call("pkgcheck.update", "sctestnothere")
    assert package_set(root) == before


def test_bad_input_is_rejected_and_changes_nothing(root, tmp_path):
    root.call("pkgcheck.update", PACKAGE, "1.0-1")
    before = package_set(root)
    marker = tmp_path / "pwned"
    for name in [f"{PACKAGE}; touch {marker}", "mywebapp; touch /tmp/x", "$(id)", "-x", f"{PACKAGE} -y"]:
        for fun, args in [("pkgcheck.verify", [name, "1.0-1"]), ("pkgcheck.update", [name, "2.0-3"])]:
            with pytest.raises(SaltInvocationError, match="invalid package name"):
                root.call(fun, *args)
    for version in [f"2.0-3; touch {marker}", "$(id)", "-x", "2.0-3 --force-yes"]:
        for fun in ("pkgcheck.verify", "pkgcheck.update"):
            with pytest.raises(SaltInvocationError, match="invalid version"):
                root.call(fun, PACKAGE, version)
    assert package_set(root) == before
    assert not marker.exists()


def test_version_state(root):
    root.call("pkgcheck.update", PACKAGE, "2.0-3")
    assert root.state("pkgcheck.version", name=PACKAGE, version=">=2.0")["result"] is True
    failing = root.state("pkgcheck.version", name=PACKAGE, version="2.0-10")
    assert failing["result"] is False and failing["changes"] == {}
    assert root.state("pkgcheck.version", name=PACKAGE, version="2.0-10", test=True)["result"] is None


def test_updated_state_honours_test(root):
    before = package_set(root)
    dry = root.state("pkgcheck.updated", name=PACKAGE, version="2.0-10", test=True)
    assert dry["result"] is None and dry["changes"] == {"old": None, "new": "2.0-10"}
    assert package_set(root) == before
    done = root.state("pkgcheck.updated", name=PACKAGE, version="2.0-10")
    assert done["result"] is True and done["changes"] == {"old": None, "new": "2.0-10"}
    again = root.state("pkgcheck.updated", name=PACKAGE, version="2.0-10")
    assert again["result"] is True and again["changes"] == {}


def test_machine_package_state_untouched(privroot, machine_before):
    # Runs last in this module, while the private root (with sctestapp
    # installed in it) is still alive.
    assert privroot.call("pkgcheck.verify", PACKAGE, ">=1.0-1")["ok"] is True
    assert real_package_state() == machine_before
    assert not os.path.exists(f"/opt/{PACKAGE}")
