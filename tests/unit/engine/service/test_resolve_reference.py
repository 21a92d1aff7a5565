"""The Salt adapter resolves a webhook's URL reference: sdb:// through Salt's sdb (here its env
driver), pillar:<key> from the master's own pillar; a miss raises (the notifier warns)."""

import copy

import pytest
import salt.config
import salt.pillar

from saltext.scenario.engine import adapters


@pytest.fixture
def opts():
    opts = copy.deepcopy(salt.config.DEFAULT_MASTER_OPTS)
    opts["osenv"] = {"driver": "env"}
    opts["id"] = "salt_master"
    return opts


def test_sdb_reference(opts, monkeypatch):
    monkeypatch.setenv("CHAT_HOOK", "https://hooks.example/T0/B0/secret")
    assert adapters.resolve_reference(opts, "base", "sdb://osenv/CHAT_HOOK") == "https://hooks.example/T0/B0/secret"
    with pytest.raises(LookupError):
        adapters.resolve_reference(opts, "base", "sdb://osenv/NO_SUCH_VARIABLE_HERE")
    with pytest.raises(Exception, match="nope"):
        adapters.resolve_reference(opts, "base", "sdb://nope/CHAT_HOOK")


def test_pillar_reference_reads_the_masters_own_pillar(opts, monkeypatch):
    asked = []

    class Pillar:
        def __init__(self, opts_, grains, minion_id, saltenv=None):
            asked.append((minion_id, saltenv))

        def compile_pillar(self):
            return {"notify": {"chat": "https://hooks.example/x"}}

    monkeypatch.setattr(salt.pillar, "get_pillar", Pillar)
    assert adapters.resolve_reference(opts, "prod", "pillar:notify:chat") == "https://hooks.example/x"
    assert asked == [("salt_master", "prod")]
    with pytest.raises(LookupError):
        adapters.resolve_reference(opts, "base", "pillar:notify:missing")
