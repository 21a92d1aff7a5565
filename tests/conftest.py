"""
Session-wide fixtures.

``salt_factories_config``
    pytest-salt-factories writes under a per-run temp dir from pytest's tmp_path_factory,
    never under the shared system temp dir.
``sandbox``
    A running sandbox on the default spec (web1..web4, db1), named ``t<pid>``, up for the
    whole session and removed at its end. Its extra file root is the integration tests' own
    features (tests/integration/scenario_files). Modules that only need that share it instead
    of bringing up their own (each costs 10-20 s to build); its users do not assume a pristine
    fleet: they reset what they change. Skips (with the reason) when not root.
``make_sandbox``
    ``make_sandbox(spec, name, up=True, file_roots=())`` -> a Sandbox; everything it made is
    taken down when the test module ends, also when a test failed half-way. (Not at session
    end: an idle sandbox's daemons still cost CPU, and a module's sandbox serves that module.)

Under pytest-xdist (`make test`: ``-n 2 --dist loadfile``) each worker is a process of its own:
sandbox names carry its pid, so the workers' sandboxes never collide. The users of the session
sandbox (SESSION_SANDBOX_MODULES) are scheduled on one worker, so it is built once.
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
    from tests.support.scenario_cli import FILES

    sandbox = Sandbox(name=f"t{os.getpid()}")
    try:
        sandbox.up(file_roots=[str(FILES)])
        yield sandbox
    finally:
        sandbox.down()


# The modules that use the session's `sandbox`. Under pytest-xdist they run on one worker, so
# only one worker brings that sandbox up (see pytest_xdist_make_scheduler). Collection checks
# the list: a module that starts using the session sandbox must be added here.
SESSION_SANDBOX_MODULES = frozenset(
    f"tests/integration/{name}.py"
    for name in (
        "test_modules_on_minions",
        "test_orchestrate",
        "test_reports_events",
        "test_sandbox_demo",
        "test_sandbox_isolation",
        "test_scenario_run",
    )
)


def pytest_collection_modifyitems(config, items):
    unlisted = sorted(
        {item.nodeid.split("::", 1)[0] for item in items if _uses_session_sandbox(item)} - SESSION_SANDBOX_MODULES
    )
    if unlisted:
        raise pytest.UsageError(
            f"{', '.join(unlisted)} use(s) the session sandbox: add it to SESSION_SANDBOX_MODULES"
            " in tests/conftest.py (its users share one pytest-xdist worker)"
        )


def _uses_session_sandbox(item):
    info = getattr(item, "_fixtureinfo", None)
    defs = info.name2fixturedefs.get("sandbox") if info is not None else None
    # Modules that define their own module-scoped `sandbox` fixture do not count.
    return bool(defs) and defs[-1].scope == "session"


def pytest_xdist_make_scheduler(config, log):
    """`make test` runs `-n 2 --dist loadfile`: xdist hands a whole file to one worker, so a
    module's tests, and its module-scoped sandbox, stay together; this scheduler only makes the
    files of SESSION_SANDBOX_MODULES one unit, so one worker brings the session sandbox up.
    (xdist's own `loadgroup` marks cannot do it with pytest 9: its renaming of node ids no
    longer takes effect.) Any other --dist keeps xdist's own scheduler."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            path = nodeid.split("::", 1)[0]
            return "session sandbox" if path in SESSION_SANDBOX_MODULES else path

    return ModuleScheduling(config, log)


@pytest.fixture(scope="session", autouse=True)
def _salt_deferred_log_handler():
    # Importing salt installs a handler that queues records until logging is configured and
    # flushes them at interpreter exit, when pytest has already closed the stream it holds
    # ("--- Logging error ---" noise). Hand the queue to pytest's handlers at session end.
    yield
    impl = sys.modules.get("salt._logging.impl")
    if impl is not None:
        impl.shutdown_temp_handler()
