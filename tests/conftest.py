"""
Session-wide fixtures.

``salt_factories_config``
    pytest-salt-factories writes under a per-run temp dir from pytest's tmp_path_factory,
    never under the shared system temp dir.
``sandbox``
    A running sandbox on the default spec (web1..web4, db1), named ``t<pid>``, up for the
    whole session and removed at its end. Skips (with the reason) when not root.
``make_sandbox``
    ``make_sandbox(spec, name, up=True, file_roots=())`` -> a Sandbox; everything it made is
    taken down when the test module ends, also when a test failed half-way. (Not at session
    end: an idle sandbox's daemons still cost CPU, and a module's sandbox serves that module.)
"""

import os
import signal
import sys

import pytest


def _require_root():
    if os.geteuid() != 0:
        pytest.skip("the sandbox needs root (network and mount namespaces)")
    # A SIGTERM'd session (CI timeout, `kill`) must still run the teardowns below, or the
    # sandboxes would outlive it; pytest tears fixtures down on KeyboardInterrupt.
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session")
def salt_factories_config(tmp_path_factory):
    return {"root_dir": str(tmp_path_factory.mktemp("salt-factories"))}


@pytest.fixture(scope="module")
def make_sandbox():
    made = []

    def factory(spec, name, up=True, file_roots=()):
        _require_root()
        from saltext.scenario.sandbox import Sandbox

        sandbox = Sandbox(name=name)
        made.append(sandbox)
        if up:
            sandbox.up(spec=spec, file_roots=file_roots)
        return sandbox

    yield factory
    errors = []
    for sandbox in made:
        try:
            sandbox.down()
        except Exception as exc:  # noqa: BLE001 - take every sandbox down, then report every failure
            errors.append(f"{sandbox.name}: {exc}")
    assert not errors, f"sandbox teardown failed: {errors}"


@pytest.fixture(scope="session")
def sandbox():
    _require_root()
    from saltext.scenario.sandbox import Sandbox

    sandbox = Sandbox(name=f"t{os.getpid()}")
    try:
        sandbox.up()
        yield sandbox
    finally:
        sandbox.down()


def pytest_collection_modifyitems(config, items):
    """Keep each module on one pytest-xdist worker, and the session sandbox's users on one.

    `make test` runs `-n 2 --dist loadgroup`: xdist hands out whole groups, and a test without
    a group alone. Grouping by module keeps a module's tests, and so its module-scoped
    sandbox, on one worker (brought up once); the modules that use the session's default
    sandbox form one group, so only one worker brings that up. Without xdist the marks do nothing.
    """
    shared = {item.module.__name__ for item in items if _uses_session_sandbox(item)}
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            module = item.module.__name__
            item.add_marker(pytest.mark.xdist_group(SESSION_GROUP if module in shared else module))


SESSION_GROUP = "session-sandbox"


def _uses_session_sandbox(item):
    info = getattr(item, "_fixtureinfo", None)
    defs = info.name2fixturedefs.get("sandbox") if info is not None else None
    # Modules that define their own module-scoped `sandbox` fixture do not count.
    return bool(defs) and defs[-1].scope == "session"


@pytest.fixture(scope="session", autouse=True)
def _salt_deferred_log_handler():
    # Importing salt installs a handler that queues records until logging is configured and
    # flushes them at interpreter exit, when pytest has already closed the stream it holds
    # ("--- Logging error ---" noise). Hand the queue to pytest's handlers at session end.
    yield
    impl = sys.modules.get("salt._logging.impl")
    if impl is not None:
        impl.shutdown_temp_handler()
