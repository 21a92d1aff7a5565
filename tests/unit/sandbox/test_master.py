"""The spec's `master: {config: ...}`: extra salt-master options, merged over the sandbox's own."""

import copy

import pytest
import yaml

from saltext.scenario.sandbox.errors import SandboxError
from saltext.scenario.sandbox.master import Master
from saltext.scenario.sandbox.spec import DEFAULT_SPEC, load_spec

EAUTH = {"external_auth": {"file": {"deployer": ["@runner"]}}, "scenario_reactor_senders": ["web1"]}


def _spec(master):
    data = copy.deepcopy(yaml.safe_load(DEFAULT_SPEC.read_text()))
    data["master"] = master
    return data


def test_default_spec_has_no_extra_master_options():
    assert load_spec()["master"] == {"config": {}}


def test_master_config_is_kept_in_the_normal_form():
    assert load_spec(_spec({"config": EAUTH}))["master"] == {"config": EAUTH}


@pytest.mark.parametrize(
    "master, fragment",
    [
        ("eauth", "master: must be a mapping"),
        ({"options": {}}, "master: unknown field(s) ['options']"),
        ({"config": ["x"]}, "master.config: must be a mapping"),
        ({"config": {"sock_dir": "/tmp/x", "file_roots": {}}}, "['file_roots', 'sock_dir'] are set by the sandbox"),
    ],
)
def test_bad_master_config_is_refused_naming_the_key(master, fragment):
    with pytest.raises(SandboxError) as err:
        load_spec(_spec(master))
    assert fragment in str(err.value)


def test_write_config_merges_extra_options_over_the_defaults(tmp_path):
    master = Master(tmp_path, "unused-netns", tmp_path)
    master.write_config("198.51.100.10", [], EAUTH)
    config = yaml.safe_load((master.conf_dir / "master").read_text())
    assert config["external_auth"] == EAUTH["external_auth"]
    assert config["scenario_reactor_senders"] == ["web1"]  # overrides the sandbox's ["*"]
    assert config["scenario_reactor_allow"] == ["update_website", "rolling_update"]  # default kept
    assert config["reactor"] == [{"scenario/request": ["salt://reactor/scenario.sls"]}]
    assert config["sock_dir"] == str(master.sock_dir)


def test_file_roots_are_the_checkout_then_its_state_tree_then_the_extra_roots(tmp_path):
    from tests.support.paths import REPO

    master = Master(tmp_path, "unused-netns", tmp_path)
    master.write_config("198.51.100.10", [str(tmp_path / "extra")])
    roots = yaml.safe_load((master.conf_dir / "master").read_text())["file_roots"]["base"]
    # salt://mywebapp is states/mywebapp/init.sls; the test's own roots come last
    assert roots == [str(master.root / "repo-view"), str(REPO / "states"), str(tmp_path / "extra")]
    assert (REPO / "states" / "mywebapp" / "init.sls").is_file()
