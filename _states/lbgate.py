"""
States over the lbgate execution module: keep a load balancer's source address
blocked or unblocked on this minion.

.. code-block:: yaml

    lb blocked during deploy:
      lbgate.blocked:
        - lb: 198.51.100.10
        - target: REJECT

    198.51.100.10:
      lbgate.unblocked
"""

from salt.exceptions import SaltException

__virtualname__ = "lbgate"


def __virtual__():
    if "lbgate.block" in __salt__:
        return __virtualname__
    return (False, "lbgate state: the lbgate execution module is not available")


def _changes(before, after):
    changes = {}
    if before["blocked"] != after["blocked"]:
        changes["blocked"] = {"old": before["blocked"], "new": after["blocked"]}
    if before["blocked"] and after["blocked"] and before["target"] != after["target"]:
        changes["target"] = {"old": before["target"], "new": after["target"]}
    if not changes:
        # The ruleset changed without changing the verdict, e.g. a duplicate rule
        # removed, or a rule removed from a chain that nothing jumped to.
        changes["ruleset"] = after["comment"]
    return changes


def _converge(name, lb, call, kwargs):
    ret = {"name": name, "result": False, "changes": {}, "comment": ""}
    try:
        before = __salt__["lbgate.is_blocked"](lb, chain=kwargs.get("chain"))
        preview = __salt__[call](lb, test=True, **kwargs)
        if not preview["changed"]:
            ret["result"] = True
            ret["comment"] = preview["comment"]
            return ret
        if __opts__["test"]:
            ret["result"] = None
            ret["comment"] = preview["comment"]
            ret["changes"] = _changes(before, preview)
            return ret
        done = __salt__[call](lb, **kwargs)
    except SaltException as exc:
        ret["comment"] = str(exc)
        return ret
    ret["result"] = True
    ret["comment"] = done["comment"]
    ret["changes"] = _changes(before, done)
    return ret


def blocked(name, lb=None, target=None, chain=None):
    """
    Ensure traffic from the load balancer ``lb`` (default: ``name``) is blocked.

    name
        The state ID; used as the address when ``lb`` is not given.
    lb
        IPv4/IPv6 address or network (CIDR) of the load balancer.
    target
        ``DROP`` or ``REJECT``; default from the ``lbgate.target`` config.
    chain
        The module's chain; default from the ``lbgate.chain`` config.
    """
    return _converge(name, lb or name, "lbgate.block", {"target": target, "chain": chain})


def unblocked(name, lb=None, chain=None):
    """
    Ensure traffic from the load balancer ``lb`` (default: ``name``) is not blocked.

    name
        The state ID; used as the address when ``lb`` is not given.
    lb
        IPv4/IPv6 address or network (CIDR) of the load balancer.
    chain
        The module's chain; default from the ``lbgate.chain`` config.
    """
    return _converge(name, lb or name, "lbgate.unblock", {"chain": chain})
