"""Unit tests of _states/pkgcheck.py over the real execution module and a fake pkg provider."""

import pytest

from tests.support.fake_dunders import load
from tests.support.fake_pkg import FakePkg


@pytest.fixture
def pkg():
    return FakePkg(installed={"mywebapp": "4.2.5-1"}, repo={"mywebapp": ["4.2.5-1", "4.2.6-3"]})


def state(pkg, test=False):
    execmod = load("_modules/pkgcheck.py", salt=pkg.salt())
    salt = dict(pkg.salt(), **{"pkgcheck.verify": execmod.verify, "pkgcheck.update": execmod.update})
    return load("_states/pkgcheck.py", salt=salt, opts={"test": test})


@pytest.mark.parametrize("test", [False, True])
def test_version_passes(pkg, test):
    ret = state(pkg, test).version("mywebapp", ">=4.2")
    assert ret["result"] is True and ret["changes"] == {}
    assert "4.2.5-1" in ret["comment"]


def test_version_fails(pkg):
    ret = state(pkg).version("mywebapp", "4.2.6-3")
    assert ret["result"] is False and ret["changes"] == {}
    assert "expected 4.2.6-3" in ret["comment"]


def test_version_under_test_would_fail(pkg):
    ret = state(pkg, test=True).version("mywebapp", "4.2.6-3")
    assert ret["result"] is None and ret["changes"] == {}


def test_version_not_installed(pkg):
    ret = state(pkg).version("sctestapp", "1.0-1")
    assert ret["result"] is False and "not installed" in ret["comment"]


def test_version_bad_input_is_result_false(pkg):
    ret = state(pkg).version("mywebapp; touch /tmp/x", "1.0")
    assert ret["result"] is False and "invalid package name" in ret["comment"]


def test_version_changes_nothing(pkg):
    state(pkg).version("mywebapp", "4.2.6-3")
    assert pkg.install.calls == [] and pkg.installed == {"mywebapp": "4.2.5-1"}


def test_updated_under_test_changes_nothing(pkg):
    ret = state(pkg, test=True).updated("mywebapp", "4.2.6-3")
    assert ret["result"] is None
    assert ret["changes"] == {"old": "4.2.5-1", "new": "4.2.6-3"}
    assert pkg.install.calls == []


def test_updated_installs_then_is_idempotent(pkg):
    ret = state(pkg).updated("mywebapp", "4.2.6-3")
    assert ret["result"] is True
    assert ret["changes"] == {"old": "4.2.5-1", "new": "4.2.6-3"}
    again = state(pkg).updated("mywebapp", "4.2.6-3")
    assert again["result"] is True and again["changes"] == {}
    assert len(pkg.install.calls) == 1


def test_updated_newest(pkg):
    assert state(pkg, test=True).updated("mywebapp")["changes"] == {"old": "4.2.5-1", "new": "4.2.6-3"}
    assert state(pkg).updated("mywebapp")["changes"] == {"old": "4.2.5-1", "new": "4.2.6-3"}
    assert state(pkg).updated("mywebapp")["changes"] == {}


def test_updated_unavailable_is_result_false(pkg):
    ret = state(pkg).updated("mywebapp", "2.0-3")
    assert ret["result"] is False and "not available" in ret["comment"]
    assert ret["changes"] == {}


@pytest.mark.parametrize("test", [False, True])
def test_updated_refuses_operators(pkg, test):
    ret = state(pkg, test).updated("mywebapp", ">=4.2")
    assert ret["result"] is False and "exact version" in ret["comment"]
    assert pkg.install.calls == []


def test_updated_normalises_the_exact_operator(pkg):
    ret = state(pkg, test=True).updated("mywebapp", "==4.2.6-3")
    assert ret["changes"] == {"old": "4.2.5-1", "new": "4.2.6-3"}
