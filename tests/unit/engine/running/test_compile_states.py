"""scenario.compile of the state steps: `salt.state` for applying a state or the highstate,
`statecheck.in_place` for "should be in place", checked as data (parsed back as YAML)."""

import shutil

import pytest
import yaml

from saltext.scenario.engine.parsing.source import DirSource
from tests.support.engine_calls import compile_sls
from tests.support.fake_fleet import default_fleet
from tests.support.paths import REPO
from tests.support.sites import copy_site

FEATURE = "features/update_website_states.feature"
BACKGROUND = (
    "Feature: F\n  Background:\n    Given the load balancer has ip address 198.51.100.10\n"
    "    And I want to update hosts with class roles::dev_server\n  Scenario: S\n"
)


@pytest.fixture
def site(tmp_path):
    root = copy_site(tmp_path / "site")
    shutil.copy(REPO / FEATURE, root / FEATURE)
    return root


@pytest.fixture
def opts(tmp_path):
    return {"cachedir": str(tmp_path / "cache"), "scenario_lb_address": "198.51.100.10"}


def _compile(opts, site, name, **kw):
    return compile_sls(opts, name, DirSource(site), default_fleet, **kw)


def _states(ret):
    """{state id: (state function, {argument: value})}, in definition (= execution) order."""
    data = yaml.safe_load(ret["sls"])
    assert list(data) == ret["states"]
    out = {}
    for sid, body in data.items():
        ((kind, items),) = body.items()
        out[sid] = (kind, {k: v for item in items for k, v in item.items()})
    return out


def _feature(site, name, steps):
    (site / "features" / f"{name}.feature").write_text(BACKGROUND + "".join(f"    {s}\n" for s in steps))


def test_the_states_feature_compiles_its_state_steps_to_salt_state_and_statecheck(opts, site):
    ret = _compile(opts, site, "update_website_states")
    assert ret["retcode"] == 0, ret
    states = _states(ret)
    ids = list(states)
    apply_id = f"{FEATURE}:15 When I apply the state mywebapp with pillar mywebapp:version=4.2.6-3"
    in_place_id = f"{FEATURE}:17 Then the state mywebapp should be in place"
    assert states[apply_id] == (
        "salt.state",
        {
            "sls": "mywebapp",
            "tgt": ["web1", "web2", "web3"],
            "tgt_type": "list",
            "pillar": {"mywebapp": {"version": "4.2.6-3"}},
            "expect_minions": True,
            "failhard": True,
            "require": [{"salt": ids[ids.index(apply_id) - 1]}],
        },
    )
    kind, in_place = states[in_place_id]
    assert kind == "salt.function" and in_place["name"] == "statecheck.in_place" and in_place["arg"] == ["mywebapp"]
    assert "kwarg" not in in_place and in_place["expect_minions"] is True and in_place["failhard"] is True
    assert in_place["require"] == [{"salt": ids[ids.index(in_place_id) - 1]}]
    # the rest of the chain is as for any feature
    assert [k for k, _ in states.values()].count("salt.state") == 1 and len(states) == 9
    assert ret["summary"] == "8 salt.function, 1 salt.state state(s) on 3 host(s) in 1 batch(es)"


def test_the_header_says_how_the_state_steps_are_judged(opts, site):
    header = "\n".join(
        line for line in _compile(opts, site, "update_website_states")["sls"].splitlines() if line[:1] == "#"
    )
    assert "# State steps. " in header
    assert "statecheck.in_place" in header and "salt.state with test: True" in header
    # where the verdicts may differ, said precisely
    assert "scenario.run also\n#   fails a result None" in header and "here that minion passes" in header
    plain = _compile(opts, site, "update_website")["sls"]
    assert "# State steps" not in plain and "salt.state" not in plain


def test_highstate_and_in_place_with_pillar(opts, site):
    _feature(
        site,
        "hs",
        [
            "When I apply the highstate",
            "Then the state mywebapp should be in place with pillar mywebapp:version=4.20",
        ],
    )
    (highstate, in_place) = _states(_compile(opts, site, "hs")).values()
    assert highstate[0] == "salt.state" and highstate[1]["highstate"] is True and "sls" not in highstate[1]
    assert in_place[0] == "salt.function"
    # a string, not the float 4.2
    assert in_place[1]["kwarg"] == {"pillar": {"mywebapp": {"version": "4.20"}}}


def test_rolling_batches_apply_the_state_batch_by_batch(opts, site):
    _feature(site, "roll", ["When I apply the state mywebapp", "Then the state mywebapp should be in place"])
    ret = _compile(opts, site, "roll", batch="1")
    states = list(_states(ret).values())
    assert [(kind, args["tgt"]) for kind, args in states] == [
        ("salt.state", ["web1"]),
        ("salt.function", ["web1"]),
        ("salt.state", ["web2"]),
        ("salt.function", ["web2"]),
        ("salt.state", ["web3"]),
        ("salt.function", ["web3"]),
    ]
    assert "pillar" not in states[0][1]


def test_the_runner_timeout_reaches_salt_state_too(opts, site):
    _feature(site, "t", ["When I apply the state mywebapp"])
    ((kind, args),) = _states(_compile(opts, site, "t", timeout=30)).values()
    assert kind == "salt.state" and args["timeout"] == 30
