"""
States over the lbhaproxy execution module: keep hosts out of an HAProxy backend, or in it,
on the load balancer minion.

.. code-block:: yaml

    web1 out of the pool:
      lbhaproxy.drained:
        - backend: web
        - hosts: [web1]
        - timeout: 60

    web1:
      lbhaproxy.ready:
        - backend: web
"""

from salt.exceptions import SaltException

__virtualname__ = "lbhaproxy"


def __virtual__():
    if "lbhaproxy.drain" in __salt__:
        return __virtualname__
    return (False, "lbhaproxy state: the lbhaproxy execution module is not available")


def _comment(answer):
    return "; ".join(entry["reason"] for entry in answer["hosts"].values())


def _converge(name, call, backend, hosts, kwargs, new):
    """Preview with test=True, then (unless in test mode) run ``call``. ``new`` is what a changed
    host's status becomes, shown under test=True (``ready``: the status then follows the checks)."""
    ret = {"name": name, "result": False, "changes": {}, "comment": ""}
    hosts = name if hosts is None else hosts
    try:
        preview = __salt__[call](backend, hosts, test=True, **kwargs)
        pending = {minion: entry for minion, entry in preview["hosts"].items() if entry["changed"]}
        if not pending:
            ret["result"] = True
            ret["comment"] = _comment(preview)
            return ret
        if __opts__["test"]:
            ret["result"] = None
            ret["comment"] = _comment(preview)
            ret["changes"] = {minion: {"old": entry["status"], "new": new} for minion, entry in pending.items()}
            return ret
        done = __salt__[call](backend, hosts, **kwargs)
    except SaltException as exc:
        ret["comment"] = str(exc)
        return ret
    before = preview["hosts"]
    ret["result"] = done["ok"]
    ret["comment"] = _comment(done)
    ret["changes"] = {
        minion: {"old": before[minion]["status"], "new": entry["status"]}
        for minion, entry in done["hosts"].items()
        if entry["status"] != before[minion]["status"]
    }
    return ret


def drained(name, backend, hosts=None, timeout=30):
    """
    Ensure the servers of ``hosts`` are out of HAProxy backend ``backend``: in ``maint``,
    reached through ``drain`` (the sessions in flight end first, see ``lbhaproxy.drain``).
    Fails when sessions are left at the timeout; the servers stay in ``drain`` then.

    name
        The state ID; used as ``hosts`` (one minion id, also its server name) when
        ``hosts`` is not given.
    backend
        The HAProxy backend name.
    hosts
        Minion ids (each also its server name) or a mapping ``{minion id: server}``.
    timeout
        Seconds to wait for the sessions (0 to 3600, default 30).
    """
    return _converge(name, "lbhaproxy.drain", backend, hosts, {"timeout": timeout}, "MAINT")


def ready(name, backend, hosts=None):
    """
    Ensure the servers of ``hosts`` are back in HAProxy backend ``backend``: neither in
    ``maint`` nor in ``drain``. They take traffic once their health checks pass
    (``lbhaproxy.verify_up`` tells).

    name
        The state ID; used as ``hosts`` (one minion id, also its server name) when
        ``hosts`` is not given.
    backend
        The HAProxy backend name.
    hosts
        Minion ids (each also its server name) or a mapping ``{minion id: server}``.
    """
    return _converge(name, "lbhaproxy.ready", backend, hosts, {}, "ready")
