"""
Is the package at the version the deploy promised? Verify and update packages
through Salt's own ``pkg`` module, so every package manager Salt knows works.

Self-contained (stdlib + salt): ``saltutil.sync_modules`` is all a minion needs.

Comparisons go through ``pkg.version_cmp`` (epoch and revision aware). A version
may carry an operator: ``>=4.2``, ``<=``, ``>``, ``<``, ``==``, ``=``, ``!=``;
none means equal.
"""

import logging
import re

from salt.exceptions import CommandExecutionError, SaltInvocationError

log = logging.getLogger(__name__)

__virtualname__ = "pkgcheck"

# Debian policy names (lower case) plus '_' for RPM; never a leading '-' so a
# name can not turn into an option of the package tool.
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9+.\-_]*$")
# Characters Debian/RPM versions use; the first one may not be '-' for the same reason.
_VERSION_RE = re.compile(r"^[0-9A-Za-z.+~:][0-9A-Za-z.+~:\-]*$")
# Longest operators first, so '>=' is not read as '>' followed by '=...'.
_OPERATOR_RE = re.compile(r"^(>=|<=|==|!=|=|>|<)?\s*(.*)$", re.S)

# Which version_cmp results satisfy each operator.
_ACCEPT = {
    "==": {0},
    "!=": {-1, 1},
    ">=": {0, 1},
    "<=": {-1, 0},
    ">": {1},
    "<": {-1},
}


def __virtual__():
    if "pkg.version_cmp" in __salt__:
        return __virtualname__
    return (False, "pkgcheck: no pkg.version_cmp on this minion (no supported package manager)")


def _check_name(name):
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise SaltInvocationError(
            f"invalid package name {name!r}: expected lower-case letters, digits and "
            "'+.-_', starting with a letter or digit"
        )
    return name


def _check_version(version):
    if not isinstance(version, str) or not _VERSION_RE.match(version):
        raise SaltInvocationError(
            f"invalid version {version!r}: expected letters, digits and '.+~:-', not starting with '-'"
        )
    return version


def _parse_spec(spec):
    """
    Split ``'>=4.2'`` into ``('>=', '4.2')``; no operator means ``==``.
    """
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        # YAML and the CLI turn 4.2 into a float; its text is what was meant.
        spec = str(spec)
    if not isinstance(spec, str) or not spec.strip():
        raise SaltInvocationError(f"invalid version {spec!r}: a version is required")
    operator, version = _OPERATOR_RE.match(spec.strip()).groups()
    operator = "==" if operator in (None, "=") else operator
    return operator, _check_version(version)


def _installed_versions(name):
    # pkg providers cache list_pkgs in __context__ for the life of the loader;
    # a verification must read the live package database.
    __context__.pop("pkg.list_pkgs", None)
    # pkg.version gives '' when not installed and 'v1,v2' when several are
    # (multi-arch, kernels).
    raw = __salt__["pkg.version"](name)
    if not raw:
        return []
    return [v for v in str(raw).split(",") if v]


def _compare(installed, version):
    try:
        result = __salt__["pkg.version_cmp"](installed, version)
    except SaltInvocationError:
        raise
    except Exception as exc:
        raise CommandExecutionError(f"cannot compare versions {installed!r} and {version!r}: {exc}") from exc
    if result not in (-1, 0, 1):
        raise CommandExecutionError(
            f"cannot compare versions {installed!r} and {version!r} (pkg.version_cmp returned {result!r})"
        )
    return result


def _satisfies(installed, operator, version):
    return _compare(installed, version) in _ACCEPT[operator]


def verify(name, version):
    """
    Check that package ``name`` is installed at ``version``.

    ``version`` may start with an operator (``>=``, ``<=``, ``>``, ``<``, ``==``,
    ``=``, ``!=``); without one the installed version must be equal. Comparison
    uses ``pkg.version_cmp``, so epochs (``1:0.9``) and revisions (``2.0-3``)
    count. A package that is not installed is not ok. When several versions are
    installed, every one of them must satisfy the version.

    Returns ``{"name", "installed", "expected", "ok"}``; ``installed`` is None
    when the package is not installed. Sets the retcode to 1 when not ok. A
    comparison that can not be made raises CommandExecutionError.

    CLI Example:

    .. code-block:: bash

        salt '*' pkgcheck.verify mywebapp 4.2.6-3
        salt '*' pkgcheck.verify mywebapp '>=4.2'
    """
    name = _check_name(name)
    operator, expected = _parse_spec(version)
    installed = _installed_versions(name)
    ok = bool(installed) and all(_satisfies(v, operator, expected) for v in installed)
    # Always set, also to 0: the package tools called on the way (dpkg
    # --compare-versions exits 1 for "no") leave their exit code in __context__.
    __context__["retcode"] = 0 if ok else 1
    return {
        "name": name,
        "installed": ",".join(installed) if installed else None,
        "expected": expected if operator == "==" else f"{operator}{expected}",
        "ok": ok,
    }


def _available_versions(name):
    # Not every pkg provider has list_repo_pkgs; without it the install itself
    # is the availability check.
    if "pkg.list_repo_pkgs" not in __salt__:
        return None
    try:
        found = __salt__["pkg.list_repo_pkgs"](name)
    except Exception as exc:  # noqa: BLE001 - any package manager may fail its own way; "unknown" is the answer
        log.debug("pkgcheck: pkg.list_repo_pkgs %s failed: %s", name, exc)
        return None
    versions = found.get(name, []) if isinstance(found, dict) else []
    # Some providers nest versions per repository.
    if isinstance(versions, dict):
        versions = [v for vs in versions.values() for v in vs]
    return [str(v) for v in versions]


def _install(name, version, refresh):
    kwargs = {"refresh": refresh}
    if version is not None:
        kwargs["version"] = version
    try:
        return __salt__["pkg.install"](name, **kwargs)
    except CommandExecutionError as exc:
        info = exc.info if isinstance(getattr(exc, "info", None), dict) else {}
        errors = info.get("errors") or []
        detail = "; ".join(str(e).strip() for e in errors) or str(exc)
        raise CommandExecutionError(f"installing {name} failed: {detail}") from exc


def _unchanged(name, installed):
    __context__["retcode"] = 0
    return {"name": name, "old": installed, "new": installed, "changed": False}


def update(name, version=None, refresh=False):
    """
    Install package ``name`` at exactly ``version``, or at the newest available
    version when ``version`` is not given. Upgrades and downgrades alike.
    Idempotent: a package already at that version is left alone (``changed``
    False). Installs through ``pkg.install``, so every package manager Salt
    knows works.

    refresh : False
        Refresh the package database first.

    Returns ``{"name", "old", "new", "changed"}``; ``old`` is None when the
    package was not installed. Raises CommandExecutionError when the version is
    not available or the install did not end at the requested version.

    CLI Example:

    .. code-block:: bash

        salt '*' pkgcheck.update mywebapp 4.2.6-3
        salt '*' pkgcheck.update mywebapp refresh=True
    """
    name = _check_name(name)
    if version is not None:
        operator, version = _parse_spec(version)
        if operator != "==":
            raise SaltInvocationError(
                f"update needs an exact version, not {operator!r}: pkgcheck.update {name} <version>"
            )
    if not isinstance(refresh, bool):
        raise SaltInvocationError(f"refresh must be True or False, not {refresh!r}")

    old = _installed_versions(name)
    old_text = ",".join(old) if old else None

    if version is not None:
        if old and all(_compare(v, version) == 0 for v in old):
            return _unchanged(name, old_text)
        if refresh:
            __salt__["pkg.refresh_db"]()
            refresh = False
        available = _available_versions(name)
        if available is not None:
            same = [v for v in available if _compare(v, version) == 0]
            if not same:
                raise CommandExecutionError(
                    f"version {version} of {name} is not available (available: {', '.join(available) or 'none'})"
                )
            # The package manager wants the repository's spelling: 2.0-3, not 2.0-03.
            version = same[0]
    else:
        latest = __salt__["pkg.latest_version"](name, refresh=refresh)
        if isinstance(latest, dict):
            # aptpkg answers {name: ''} instead of '' for a package it does not know.
            latest = latest.get(name, "")
        refresh = False
        if old and not latest:
            # latest_version is '' when the installed version is the newest.
            return _unchanged(name, old_text)
        if not old and not latest:
            raise CommandExecutionError(f"package {name} is not available")
        version = latest

    _install(name, version, refresh)
    new = _installed_versions(name)
    new_text = ",".join(new) if new else None
    if not new or not all(_compare(v, version) == 0 for v in new):
        raise CommandExecutionError(f"installing {name} {version} left {new_text or 'nothing'} installed")
    __context__["retcode"] = 0
    return {"name": name, "old": old_text, "new": new_text, "changed": new_text != old_text}
