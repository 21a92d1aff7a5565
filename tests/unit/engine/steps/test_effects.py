"""What a step does to the fleet is declared where the step is built, as data (steps/effects.py)."""

import pytest

from saltext.scenario.engine.parsing.parse import parse_feature
from saltext.scenario.engine.steps import builtin_steps
from saltext.scenario.engine.steps.effects import NO_EFFECTS, Effects
from saltext.scenario.engine.steps.registry import Registry
from tests.support.engine_calls import build_plan

HEAD = """Feature: F
  Scenario: S
    Given the load balancer has ip address 198.51.100.10
    And the load balancer is HAProxy backend web on lb1
    And I want to update hosts matching "web*"
"""
STEPS = {
    "When I block the load balancer": Effects(leaves_balancer=True),
    "When I drain the load balancer within 5 seconds": Effects(leaves_balancer=True),
    "When I drain the hosts in the load balancer": Effects(leaves_balancer=True),
    "When I unblock the load balancer": Effects(rejoins_balancer=True),
    "When I return the hosts to the load balancer": Effects(rejoins_balancer=True),
    "When I update the package mywebapp to version 4.2.6-3": Effects(records_version="mywebapp"),
    "When I roll back the package billing-api": Effects(rolls_back="billing-api"),
    "When I restart the service nginx": NO_EFFECTS,
    "Then traffic from the load balancer should be blocked": NO_EFFECTS,
    "Then the NRPE check check_web should pass": NO_EFFECTS,
    "When I apply the state mywebapp": NO_EFFECTS,
}


def _step(line):
    text = HEAD + f"    {line}\n"
    plan = build_plan("f", parse_feature(text, "features/f.feature"), builtin_steps.register(Registry()), {})
    (pstep,) = [st for st in plan.scenarios[0].steps if st.call]
    return pstep


@pytest.mark.parametrize(("line", "effects"), list(STEPS.items()))
def test_each_built_in_step_declares_its_effects_with_its_parameters(line, effects):
    assert _step(line).effects == effects


def test_the_call_says_only_what_to_call_and_is_frozen():
    pstep = _step("When I roll back the package billing-api")
    assert pstep.call.as_dict() == {"fun": "pkgcheck.update", "args": ["billing-api"], "kwargs": {}}
    with pytest.raises(AttributeError):
        pstep.call.fun = "cmd.run"


def test_events_and_reports_keep_the_call_dict_they_always_had():
    assert _step("When I block the load balancer").call_info() == {
        "fun": "lbgate.block",
        "args": ["198.51.100.10"],
        "kwargs": {},
        "lb_effect": "block",
    }
    assert _step("When I roll back the package app").call_info()["rollback_of"] == "app"
    haproxy = _step("When I return the hosts to the load balancer").call_info()
    assert list(haproxy)[-2:] == ["lb_effect", "on"] and haproxy["on"] == "lb1"
    assert "lb_effect" not in _step("When I update the package app").call_info()


def test_the_declaration_travels_as_data_and_back():
    for effects in STEPS.values():
        assert Effects.from_dict(effects.as_dict()) == effects
    assert Effects(leaves_balancer=True).as_dict() == {"leaves_balancer": True}
    assert NO_EFFECTS.as_dict() == {}
    # Untrusted or absent data declares nothing.
    assert Effects.from_dict(None) == NO_EFFECTS
    assert Effects.from_dict({"leaves_balancer": "yes", "rolls_back": 3}) == NO_EFFECTS


def test_a_step_cannot_both_leave_and_rejoin_and_a_group_unites_its_steps():
    with pytest.raises(ValueError, match="both leave and rejoin"):
        Effects(leaves_balancer=True, rejoins_balancer=True)
    group = Effects(leaves_balancer=True).union(NO_EFFECTS).union(Effects(records_version="app"))
    assert group == Effects(leaves_balancer=True, records_version="app")
    assert Effects(rolls_back="app").per_host_args and not group.per_host_args
