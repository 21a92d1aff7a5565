"""
States over the nrpe execution module.

``nrpe.passing`` runs an NRPE check and passes when the check is ok. A check
changes nothing, so it also runs under test=True, and the result follows the
check there too.

.. code-block:: yaml

    the web check passes:
      nrpe.passing:
        - name: check_http
        - allow_warning: True
"""

from salt.exceptions import SaltException

__virtualname__ = "nrpe"


def __virtual__():
    if "nrpe.run" in __salt__:
        return __virtualname__
    return (False, "nrpe state: the nrpe execution module is not available")


def passing(name, allow_warning=False, timeout=None):
    """
    Pass when the NRPE command ``name`` (defined in nrpe.cfg) is OK, or
    WARNING with ``allow_warning``. Never has changes.
    """
    ret = {"name": name, "result": False, "changes": {}, "comment": ""}
    try:
        check = __salt__["nrpe.run"](name, timeout=timeout, allow_warning=allow_warning)
    except SaltException as exc:
        ret["comment"] = str(exc)
        return ret
    ret["result"] = bool(check["ok"])
    ret["comment"] = f"{name}: {check['status']} - {check['output']}"
    return ret
