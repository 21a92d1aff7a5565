"""
States over the pkgcheck execution module.

``pkgcheck.version`` asserts a package version and changes nothing.
``pkgcheck.updated`` installs a version (or the newest) and honours test=True.

.. code-block:: yaml

    mywebapp is at the promised version:
      pkgcheck.version:
        - name: mywebapp
        - version: '>=4.2.6'

    mywebapp is updated:
      pkgcheck.updated:
        - name: mywebapp
        - version: 4.2.6-3
"""

from salt.exceptions import SaltException

__virtualname__ = "pkgcheck"


def __virtual__():
    if "pkgcheck.verify" in __salt__:
        return __virtualname__
    return (False, "pkgcheck state: the pkgcheck execution module is not available")


def version(name, version):
    """
    Assert that package ``name`` is installed at ``version`` (operators such as
    ``>=4.2`` allowed). Changes nothing. Under test=True a failing assertion
    gives result None (it would fail), a passing one True.
    """
    ret = {"name": name, "result": False, "changes": {}, "comment": ""}
    try:
        found = __salt__["pkgcheck.verify"](name, version)
    except SaltException as exc:
        ret["comment"] = str(exc)
        return ret
    installed = found["installed"] or "not installed"
    if found["ok"]:
        ret["result"] = True
        ret["comment"] = f"{name} is {installed}, as expected ({found['expected']})"
    else:
        ret["result"] = None if __opts__.get("test") else False
        ret["comment"] = f"{name} is {installed}, expected {found['expected']}"
    return ret


def updated(name, version=None, refresh=False):
    """
    Make package ``name`` be at exactly ``version``, or the newest available
    version when none is given. Upgrades and downgrades.
    """
    ret = {"name": name, "result": False, "changes": {}, "comment": ""}
    try:
        if version is not None:
            found = __salt__["pkgcheck.verify"](name, version)
            if found["expected"][0] in "<>!":
                ret["comment"] = f"pkgcheck.updated needs an exact version, not {found['expected']}"
                return ret
            if found["ok"]:
                ret["result"] = True
                ret["comment"] = f"{name} is already {found['installed']}"
                return ret
            target, old = found["expected"], found["installed"]
        else:
            old = __salt__["pkg.version"](name) or None
            latest = __salt__["pkg.latest_version"](name, refresh=refresh)
            if isinstance(latest, dict):
                latest = latest.get(name, "")
            if old and not latest:
                ret["result"] = True
                ret["comment"] = f"{name} is already the newest version ({old})"
                return ret
            target = latest or "the newest version"
        if __opts__.get("test"):
            ret["result"] = None
            ret["changes"] = {"old": old, "new": target}
            ret["comment"] = f"{name} would be changed from {old or 'not installed'} to {target}"
            return ret
        done = __salt__["pkgcheck.update"](name, version, refresh=refresh)
    except SaltException as exc:
        ret["comment"] = str(exc)
        return ret
    ret["result"] = True
    if done["changed"]:
        ret["changes"] = {"old": done["old"], "new": done["new"]}
        ret["comment"] = f"{name} changed from {done['old'] or 'not installed'} to {done['new']}"
    else:
        ret["comment"] = f"{name} is already {done['new']}"
    return ret
