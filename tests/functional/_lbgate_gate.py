"""lbgate fixtures shared by the lbgate functional tests: a module-wide namespace and minion
per firewall backend, its ruleset flushed before each test. Import them into a test module
with ``from _lbgate_gate import backend, gate, gate_ns, minion  # noqa: F401``.
"""

import pytest
from _firewall_view import run_in

BACKENDS = ["iptables", "nftables"]


@pytest.fixture(scope="module", params=BACKENDS)
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
