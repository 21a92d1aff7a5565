"""State run returns shaped like the ones the sandbox's minions give for states/mywebapp
(``state.apply mywebapp``, with and without ``test=True``), copied from real runs, for unit tests."""

PKG = "pkg_|-mywebapp-package_|-mywebapp_|-installed"
SERVICE = "service_|-mywebapp-service_|-mywebapp_|-running"


def missing_comment(version="9.9.9-1"):
    return (
        "Problem encountered installing package(s). Additional info follows:\n\nerrors:\n"
        f"    - E: Version '{version}' for 'mywebapp' was not found"
    )


def item(tag, result, comment, changes=None, run_num=0):
    parts = tag.split("_|-")
    return {
        "name": parts[2],
        "changes": changes or {},
        "result": result,
        "comment": comment,
        "__sls__": "mywebapp",
        "__run_num__": run_num,
        "duration": 12.5,
        "__id__": parts[1],
    }


def applied(old="4.2.5-1", new="4.2.6-3"):
    """state.apply that updated the package and restarted the service (watch)."""
    return {
        PKG: item(
            PKG,
            True,
            f"The following packages were installed/updated: mywebapp={new}",
            {"mywebapp": {"old": old, "new": new}},
            0,
        ),
        SERVICE: item(SERVICE, True, "Service restarted", {"mywebapp": True}, 2),
    }


def unchanged():
    """state.apply (or test=True) on a host already in place."""
    return {
        PKG: item(PKG, True, "All specified packages are already installed and are at the desired version", None, 0),
        SERVICE: item(SERVICE, True, "The service mywebapp is already running", None, 1),
    }


def missing_version(version="9.9.9-1"):
    """state.apply with a pillar version the repository lacks: the package fails, the service's requisite too.

    The service is listed first on purpose: the judge must go by __run_num__, not by dict order.
    """
    service = item(SERVICE, False, "One or more requisite failed: mywebapp.mywebapp-package", None, 1)
    service["__state_ran__"] = False
    return {SERVICE: service, PKG: item(PKG, False, missing_comment(version), None, 0)}


def pending(new="4.2.6-3"):
    """state.apply test=True where the package would change: result None, with changes, and the
    service would restart (result None, no changes)."""
    return {
        PKG: item(
            PKG,
            None,
            "The following packages would be installed/updated: mywebapp",
            {"mywebapp": {"new": new, "old": ""}},
            0,
        ),
        SERVICE: item(SERVICE, None, "Service is set to be restarted", None, 2),
    }


def service_would_start():
    """test=True where only the service would start: result None and no changes at all."""
    return {
        PKG: item(PKG, True, "All specified packages are already installed", None, 0),
        SERVICE: item(SERVICE, None, "Service mywebapp is set to start", None, 1),
    }


RENDER_ERRORS = ["Rendering SLS 'base:mywebapp' failed: Jinja variable 'version' is undefined"]
NO_SLS = ["No matching sls found for 'nosuch' in env 'base'"]
NO_TOP = {
    "no_|-states_|-states_|-None": {
        "result": False,
        "comment": "No Top file or master_tops data matches found. Please see master log for details.",
        "name": "No States",
        "changes": {},
        "__run_num__": 0,
    }
}
