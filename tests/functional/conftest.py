"""
Shared fixtures for functional tests: Salt loaders over this repository, run
against real tools.

Fixtures
--------
``minion_config``
    Extra minion config keys for ``loaders`` (default ``{}``). Override it in a test
    module, or with ``@pytest.mark.parametrize("minion_config", [...], indirect=True)``.
``loaders``
    saltfactories ``Loaders`` of a masterless minion rooted in a temp dir, loading
    ``_modules/`` and ``_states/`` of this repository (module_dirs, states_dirs):
    ``loaders.modules.pkgcheck.verify(...)``, ``loaders.states.nrpe.passing(...)``
    (a ``StateResult``: ``.result``, ``.changes``, ``.comment``), and
    ``loaders.context`` (the modules' ``__context__``, e.g. ``"retcode"``).
    Runs in the test process, so it sees the machine's own network: never use it
    for firewall calls.
``netns_factory``
    ``netns_factory()`` creates a throwaway network namespace ``lbt-<random>``
    (loopback up) and returns its name; all are deleted at teardown, also on failure.
    Needs root.
``netns``
    One such namespace.
``netns_minion``
    ``netns_minion(ns, config=None, env=None)`` starts the same minion loaders inside network
    namespace ``ns`` (a child process under ``ip netns exec``, see tests/support/netns_minion.py)
    and returns a ``NetnsMinion``: ``.call(fun, *args, **kwargs)``,
    ``.call_full(...)`` -> ``(return, retcode)``, ``.state(fun, **kwargs)``. Salt
    exceptions raised inside come back as the same exception class. Every minion is
    stopped at teardown.
``module_netns_factory`` / ``module_netns_minion``
    The same, kept for a whole test module: starting a minion costs 2-4 s, so tests
    that can share one reset the namespace between tests themselves (e.g.
    ``nft flush ruleset`` inside it).

lbgate, one namespace and minion per firewall backend for a whole test module
(test_lbgate_rules.py, test_lbgate_states.py):

``backend``
    ``"iptables"`` or ``"nftables"``: every test that uses the fixtures below runs once
    per backend. A test may parametrize ``backend`` itself instead.
``gate``
    ``(namespace, minion)`` for the module and backend; the minion has
    ``lbgate.backend`` set.
``gate_ns``
    That namespace, its firewall emptied (``nft flush ruleset``) before each test.
``minion``
    That minion.
"""

import contextlib
import os
import secrets
import shutil
import subprocess

import pytest

from tests.support.firewall_view import run_in
from tests.support.netns_minion import NetnsMinion
from tests.support.salt_loaders import make_loaders

LBGATE_BACKENDS = ["iptables", "nftables"]


@pytest.fixture
def minion_config():
    return {}


@pytest.fixture
def loaders(tmp_path, minion_config):
    made = make_loaders(tmp_path / "minion", minion_config)
    try:
        yield made
    finally:
        made.reset_state()


def _need_netns():
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    if not shutil.which("ip"):
        pytest.skip("the ip command (iproute2) is not installed")


@contextlib.contextmanager
def _namespaces():
    made = []

    def create():
        name = f"lbt-{secrets.token_hex(4)}"
        subprocess.run(["ip", "netns", "add", name], check=True)
        made.append(name)
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        return name

    try:
        yield create
    finally:
        for name in reversed(made):
            subprocess.run(["ip", "netns", "delete", name], check=False)


@contextlib.contextmanager
def _minions(root):
    started = []

    def start(ns, config=None, env=None):
        minion = NetnsMinion(ns, root / f"minion-{ns}-{len(started)}", config, env)
        started.append(minion)
        return minion

    try:
        yield start
    finally:
        for minion in started:
            minion.close()


@pytest.fixture
def netns_factory():
    _need_netns()
    with _namespaces() as create:
        yield create


@pytest.fixture
def netns(netns_factory):
    return netns_factory()


@pytest.fixture
def netns_minion(tmp_path, netns_factory):
    # Depending on netns_factory makes the minions stop before their namespaces go.
    with _minions(tmp_path) as start:
        yield start


@pytest.fixture(scope="module")
def module_netns_factory():
    _need_netns()
    with _namespaces() as create:
        yield create


@pytest.fixture(scope="module")
def module_netns_minion(tmp_path_factory, module_netns_factory):
    with _minions(tmp_path_factory.mktemp("netns-minions")) as start:
        yield start


# ------------------------------------------------------------ lbgate


@pytest.fixture(scope="module", params=LBGATE_BACKENDS)
def backend(request):
    return request.param


@pytest.fixture(scope="module")
def gate(module_netns_factory, module_netns_minion, backend):
    """One namespace and one minion per backend for the whole module (minions are slow to start)."""
    ns = module_netns_factory()
    return ns, module_netns_minion(ns, {"lbgate.backend": backend})


@pytest.fixture
def gate_ns(gate):
    """The shared namespace, its firewall emptied before each test."""
    run_in(gate[0], "nft", "flush", "ruleset")
    assert run_in(gate[0], "nft", "list", "ruleset").stdout.strip() == ""
    return gate[0]


@pytest.fixture
def minion(gate, gate_ns):
    return gate[1]
