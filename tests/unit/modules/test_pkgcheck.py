"""Unit tests of _modules/pkgcheck.py with a fake pkg provider."""

import ast
import sys

import pytest
from salt.exceptions import CommandExecutionError, SaltInvocationError

from tests.support.fake_dunders import Recorder, load
from tests.support.fake_pkg import FakePkg, fake_cmp
from tests.support.paths import REPO


@pytest.fixture
def pkg():
    return FakePkg(
        installed={"mywebapp": "4.2.5-1"},
        repo={"mywebapp": ["4.2.5-1", "4.2.6-3"], "sctestapp": ["1.0-1", "2.0-3", "1:0.9-1"]},
    )


@pytest.fixture
def mod(pkg):
    return load("_modules/pkgcheck.py", salt=pkg.salt())


def test_virtual_needs_version_cmp():
    bare = load("_modules/pkgcheck.py", salt={})
    verdict = bare.__virtual__()
    assert verdict[0] is False and "pkg.version_cmp" in verdict[1]
    assert load("_modules/pkgcheck.py", salt={"pkg.version_cmp": fake_cmp}).__virtual__() == "pkgcheck"


def test_verify_exact_ok(mod):
    assert mod.verify("mywebapp", "4.2.5-1") == {
        "name": "mywebapp",
        "installed": "4.2.5-1",
        "expected": "4.2.5-1",
        "ok": True,
    }
    assert mod.__context__["retcode"] == 0


def test_verify_exact_mismatch_sets_retcode(mod):
    result = mod.verify("mywebapp", "4.2.6-3")
    assert result["ok"] is False and result["installed"] == "4.2.5-1"
    assert mod.__context__["retcode"] == 1


@pytest.mark.parametrize(
    "spec, ok",
    [
        ("4.2.5-1", True),
        ("=4.2.5-1", True),
        ("==4.2.5-1", True),
        ("!=4.2.5-1", False),
        ("!=4.2.6-3", True),
        (">=4.2", True),
        (">= 4.2", True),
        (">=4.2.6-3", False),
        (">4.2", True),
        (">4.2.5-1", False),
        ("<4.2.6-3", True),
        ("<4.2.5-1", False),
        ("<=4.2.5-1", True),
        ("<=4.2", False),
        ("<1:0.9-1", True),  # the epoch outranks every version without one
    ],
)
def test_verify_operators(mod, spec, ok):
    result = mod.verify("mywebapp", spec)
    assert result["ok"] is ok
    assert mod.__context__["retcode"] == (0 if ok else 1)


def test_verify_expected_keeps_operator(mod):
    assert mod.verify("mywebapp", ">=4.2")["expected"] == ">=4.2"
    assert mod.verify("mywebapp", "==4.2.5-1")["expected"] == "4.2.5-1"


def test_verify_float_version_from_yaml(pkg):
    pkg.installed["mywebapp"] = "4.2"
    mod = load("_modules/pkgcheck.py", salt=pkg.salt())
    assert mod.verify("mywebapp", 4.2)["ok"] is True


def test_verify_not_installed_is_not_ok(mod):
    assert mod.verify("sctestapp", ">=0.9-1") == {
        "name": "sctestapp",
        "installed": None,
        "expected": ">=0.9-1",
        "ok": False,
    }
    assert mod.__context__["retcode"] == 1


def test_verify_incomparable_raises(mod):
    with pytest.raises(CommandExecutionError, match="cannot compare"):
        mod.verify("mywebapp", "7.7")


def test_verify_version_cmp_exception_raises(pkg):
    salt = pkg.salt()
    salt["pkg.version_cmp"] = Recorder(RuntimeError("dpkg exploded"))
    mod = load("_modules/pkgcheck.py", salt=salt)
    with pytest.raises(CommandExecutionError, match="dpkg exploded"):
        mod.verify("mywebapp", "4.2")


def test_verify_several_installed_must_all_match(pkg):
    pkg.installed["mywebapp"] = "4.2.5-1,4.2.6-3"
    mod = load("_modules/pkgcheck.py", salt=pkg.salt())
    assert mod.verify("mywebapp", ">=4.2")["ok"] is True
    assert mod.verify("mywebapp", "4.2.6-3")["ok"] is False


BAD_NAMES = ["mywebapp; touch /tmp/x", "$(id)", "-x", "", "My App", "a|b", "../etc", None, 7, "Mywebapp"]
BAD_VERSIONS = ["-1", "1.0; rm -rf /", "$(id)", "1 2", ">=", "", "   ", "1.0`id`", ">=-x", None, True, "1.0\n2"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_names_rejected_before_anything_runs(name):
    spy = Recorder("4.2.5-1")
    mod = load("_modules/pkgcheck.py", salt={"pkg.version": spy, "pkg.version_cmp": spy, "pkg.install": spy})
    with pytest.raises(SaltInvocationError):
        mod.verify(name, "4.2")
    with pytest.raises(SaltInvocationError):
        mod.update(name, "4.2")
    assert spy.calls == []


@pytest.mark.parametrize("version", BAD_VERSIONS)
def test_bad_versions_rejected_before_anything_runs(version):
    spy = Recorder("4.2.5-1")
    mod = load("_modules/pkgcheck.py", salt={"pkg.version": spy, "pkg.version_cmp": spy, "pkg.install": spy})
    with pytest.raises(SaltInvocationError):
        mod.verify("mywebapp", version)
    if version is not None:
        with pytest.raises(SaltInvocationError):
            mod.update("mywebapp", version)
    assert spy.calls == []


def test_update_to_version(mod, pkg):
    assert mod.update("mywebapp", "4.2.6-3") == {
        "name": "mywebapp",
        "old": "4.2.5-1",
        "new": "4.2.6-3",
        "changed": True,
    }
    assert pkg.install.calls == [(("mywebapp",), {"refresh": False, "version": "4.2.6-3"})]


def test_update_is_idempotent(mod, pkg):
    mod.__context__["retcode"] = 1  # as a failed dpkg call on the way would leave it
    assert mod.update("mywebapp", "4.2.5-1") == {
        "name": "mywebapp",
        "old": "4.2.5-1",
        "new": "4.2.5-1",
        "changed": False,
    }
    assert pkg.install.calls == []
    assert mod.__context__["retcode"] == 0


def test_update_downgrade(pkg):
    pkg.installed["mywebapp"] = "4.2.6-3"
    mod = load("_modules/pkgcheck.py", salt=pkg.salt())
    assert mod.update("mywebapp", "4.2.5-1")["new"] == "4.2.5-1"


def test_update_fresh_install_reports_old_none(mod):
    assert mod.update("sctestapp", "2.0-3") == {
        "name": "sctestapp",
        "old": None,
        "new": "2.0-3",
        "changed": True,
    }


def test_update_unavailable_version_fails_without_installing(mod, pkg):
    with pytest.raises(CommandExecutionError, match=r"not available.*4\.2\.5-1, 4\.2\.6-3"):
        mod.update("mywebapp", "2.0-3")
    assert pkg.install.calls == []


def test_update_without_list_repo_pkgs_reports_apt_stderr(pkg):
    salt = pkg.salt()
    del salt["pkg.list_repo_pkgs"]
    mod = load("_modules/pkgcheck.py", salt=salt)
    with pytest.raises(CommandExecutionError, match=r"Version '2\.0-3' for 'mywebapp' was not found"):
        mod.update("mywebapp", "2.0-3")


def test_update_that_lands_elsewhere_fails(pkg):
    salt = pkg.salt()
    salt["pkg.install"] = Recorder({})  # the install "succeeds" but nothing moves
    mod = load("_modules/pkgcheck.py", salt=salt)
    with pytest.raises(CommandExecutionError, match=r"left 4\.2\.5-1 installed"):
        mod.update("mywebapp", "4.2.6-3")


def test_update_to_newest(mod, pkg):
    assert mod.update("mywebapp")["new"] == "4.2.6-3"
    assert pkg.install.calls[0][1]["version"] == "4.2.6-3"
    assert mod.update("mywebapp") == {
        "name": "mywebapp",
        "old": "4.2.6-3",
        "new": "4.2.6-3",
        "changed": False,
    }
    assert len(pkg.install.calls) == 1


def test_update_newest_of_unknown_package_fails(mod, pkg):
    with pytest.raises(CommandExecutionError, match="not available"):
        mod.update("nosuchpkg")
    assert pkg.install.calls == []


def test_update_newest_when_latest_version_answers_a_dict(pkg):
    salt = pkg.salt()
    salt["pkg.latest_version"] = lambda name, refresh=False: {name: ""}  # aptpkg, unknown package
    mod = load("_modules/pkgcheck.py", salt=salt)
    with pytest.raises(CommandExecutionError, match="not available"):
        mod.update("nosuchpkg")


def test_update_refuses_operators(mod, pkg):
    with pytest.raises(SaltInvocationError, match="exact version"):
        mod.update("mywebapp", ">=4.2")
    assert pkg.install.calls == []


def test_update_refresh_is_passed_once(pkg):
    salt = pkg.salt()
    salt["pkg.refresh_db"] = refresh = Recorder({})
    mod = load("_modules/pkgcheck.py", salt=salt)
    mod.update("mywebapp", "4.2.6-3", refresh=True)
    assert len(refresh.calls) == 1
    assert pkg.install.calls[0][1]["refresh"] is False
    with pytest.raises(SaltInvocationError):
        mod.update("mywebapp", "4.2.6-3", refresh="yes")


def test_self_contained_stdlib_and_salt_only():
    # saltutil.sync_modules is all a minion gets: nothing else may be imported.
    tree = ast.parse((REPO / "_modules/pkgcheck.py").read_text(encoding="utf-8"))
    roots = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    roots |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert {r for r in roots if r != "salt" and r not in sys.stdlib_module_names} == set()
