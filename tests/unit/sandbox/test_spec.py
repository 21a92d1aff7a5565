"""Sandbox spec validation: the default spec's normal form, and clear errors naming the bad key."""

import copy

import pytest

from saltext.scenario.sandbox import SandboxError, load_spec
from saltext.scenario.sandbox.spec import DEFAULT_SPEC, address6

BASE = {
    "lb": "198.51.100.10",
    "repo": {"mywebapp": ["4.2.5-1", "4.2.6-3"]},
    "hosts": {"a1": {"packages": {"mywebapp": "4.2.5-1"}}, "b2": {}},
}


def spec_with(**changes):
    spec = copy.deepcopy(BASE)
    for path, value in changes.items():
        node = spec
        keys = path.split("__")
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
    return spec


def test_default_spec_normal_form():
    spec = load_spec()
    assert list(spec["hosts"]) == ["web1", "web2", "web3", "web4", "db1"]
    assert spec["lb"] == "198.51.100.10"
    assert spec["app"] == "mywebapp"
    assert spec["repo"] == {"mywebapp": ["4.2.5-1", "4.2.6-3"]}
    assert [h["address"] for h in spec["hosts"].values()] == [f"198.51.100.{n}" for n in range(11, 16)]
    assert spec["hosts"]["web4"]["grains"] == {"roles": ["dev_server"], "country": "fr"}
    assert spec["hosts"]["web1"]["packages"] == {"mywebapp": "4.2.5-1"}
    assert spec["hosts"]["db1"]["packages"] == {}
    assert spec["hosts"]["db1"]["repo"] is None


def test_path_and_dict_agree():
    assert load_spec(DEFAULT_SPEC) == load_spec(str(DEFAULT_SPEC)) == load_spec(None)


def test_host_repo_and_nrpe_override_are_kept():
    spec = load_spec(
        spec_with(
            hosts__b2={
                "repo": {"mywebapp": ["4.2.5-1"]},
                "nrpe": {"check_load": "/usr/lib/nagios/plugins/check_dummy 2 x"},
            }
        )
    )
    assert spec["hosts"]["b2"]["repo"] == {"mywebapp": ["4.2.5-1"]}
    assert spec["hosts"]["b2"]["nrpe"] == {"check_load": "/usr/lib/nagios/plugins/check_dummy 2 x"}


@pytest.mark.parametrize(
    "changes, fragment",
    [
        ({"hosts__a1__colour": "red"}, "hosts.a1: unknown field(s) ['colour']"),
        ({"extra": 1}, "spec: unknown key(s) ['extra']"),
        ({"repo__mywebapp": ["4.2.5-1", "4.2/6"]}, "repo.mywebapp: '4.2/6' is not a valid Debian version"),
        ({"repo__mywebapp": ["4.2.5-1", 4.2]}, "repo.mywebapp: version must be a string"),
        ({"repo__mywebapp": ["-1"]}, "repo.mywebapp: '-1' is not a valid Debian version"),
        ({"repo__mywebapp": ["1.0-"]}, "repo.mywebapp: '1.0-' is not a valid Debian version"),
        ({"repo__mywebapp": ["4.2.5-1", "4.2.5-1"]}, "repo.mywebapp: duplicate versions"),
        (
            {"repo": {"My_App": ["1.0"]}, "hosts": {"a1": {}}},
            "repo.My_App: 'My_App' is not a valid Debian package name",
        ),
        ({"hosts": {"Web_1": {}}}, "hosts.Web_1: bad host name"),
        ({"hosts": {"web1;rm": {}}}, "hosts.web1;rm: bad host name"),
        ({"hosts": {"a" * 21: {}}}, "bad host name"),
        ({"hosts": {}}, "hosts: must be a non-empty mapping"),
        ({"hosts__a1__packages": {"mywebapp": "9.9-1"}}, "hosts.a1.packages.mywebapp: version 9.9-1 is in neither"),
        ({"hosts__a1__packages": {"-x": "1.0"}}, "hosts.a1.packages.-x: '-x' is not a valid Debian package name"),
        ({"hosts__a1__repo": {"mywebapp": ["4.2.x-1!"]}}, "hosts.a1.repo.mywebapp: '4.2.x-1!' is not a valid"),
        ({"hosts__a1__grains": ["roles"]}, "hosts.a1.grains: must be a mapping"),
        ({"hosts__a1__nrpe": {"check load": "x"}}, "hosts.a1.nrpe.check load: bad check name"),
        ({"hosts__a1__nrpe": {"check_load": "a\nb"}}, "hosts.a1.nrpe.check_load: must be a one-line command"),
        ({"lb": "10.0.0.1"}, "lb: 10.0.0.1 is outside the sandbox network"),
        ({"lb": "198.51.100.11"}, "lb: 198.51.100.11 collides"),
        ({"lb": "198.51.100.2"}, "lb: 198.51.100.2 collides"),
        ({"lb": "not-an-ip"}, "lb: not an IPv4 address"),
        ({"app": "other"}, "app: must name a package of repo"),
    ],
)
def test_bad_specs_name_the_key(changes, fragment):
    with pytest.raises(SandboxError) as info:
        load_spec(spec_with(**changes))
    assert fragment in str(info.value)


def test_epoch_and_tilde_versions_are_valid():
    spec = load_spec(spec_with(repo__mywebapp=["1:4.2.5-1", "4.3~rc1", "4.2.5-1"]))
    assert spec["repo"]["mywebapp"] == ["1:4.2.5-1", "4.3~rc1", "4.2.5-1"]


def test_integer_version_becomes_string():
    spec = load_spec(spec_with(repo__mywebapp=[5, "4.2.5-1"]))
    assert spec["repo"]["mywebapp"] == ["5", "4.2.5-1"]


def test_unreadable_and_invalid_yaml_files(tmp_path):
    with pytest.raises(SandboxError, match="cannot read"):
        load_spec(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("hosts: [unclosed\n")
    with pytest.raises(SandboxError, match="not valid YAML"):
        load_spec(bad)
    listed = tmp_path / "list.yaml"
    listed.write_text("- web1\n- web2\n")
    with pytest.raises(SandboxError, match="top level must be a mapping"):
        load_spec(listed)


def test_address6_mirrors_the_ipv4_host_part():
    assert address6("198.51.100.11") == "2001:db8:100::11"
