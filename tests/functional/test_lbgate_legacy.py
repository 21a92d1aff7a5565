"""
lbgate with the legacy iptables flavour: `iptables` on PATH is xtables-legacy-multi,
the way it is on a host whose alternatives point at iptables-legacy.
"""

import shutil

import pytest

from tests.support.firewall_view import rule_lines, run_in

ADDRESSES = {4: "198.51.100.10", 6: "2001:db8::10"}


@pytest.fixture
def legacy_path(tmp_path):
    """A PATH whose iptables/ip6tables are the legacy ones (the multi binary dispatches on its name)."""
    legacy = shutil.which("xtables-legacy-multi")
    if not legacy:
        pytest.skip("xtables-legacy-multi is not installed")
    bindir = tmp_path / "legacy-bin"
    bindir.mkdir()
    for name in ("iptables", "ip6tables"):
        (bindir / name).symlink_to(legacy)
    return f"{bindir}:/usr/sbin:/usr/bin:/sbin:/bin"


@pytest.mark.parametrize("version", [4, 6])
def test_legacy_block_twice_unblock_twice(netns, netns_minion, legacy_path, version):
    minion = netns_minion(netns, {"lbgate.backend": "iptables"}, env={"PATH": legacy_path})
    lb = ADDRESSES[version]
    seen = []
    for fun in ("lbgate.block", "lbgate.block", "lbgate.unblock", "lbgate.unblock"):
        ret = minion.call(fun, lb)
        seen.append((ret["changed"], len(rule_lines(netns, "iptables", version, flavour="-legacy"))))
    assert seen == [(True, 1), (False, 1), (True, 0), (False, 0)]
    assert minion.call("lbgate.status")["flavour"] == "legacy"
    # Nothing went to the nf_tables side.
    assert run_in(netns, "nft", "list", "ruleset").stdout.strip() == ""
