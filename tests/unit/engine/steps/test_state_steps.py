"""The state steps: apply a state (with pillar as data), the highstate, and "should be in place"
(state.apply test=True), and how each host's return is judged."""

import pytest

from saltext.scenario.engine.parsing.parse import parse_feature
from saltext.scenario.engine.running.calling import NO_RESPONSE, judge
from saltext.scenario.engine.steps import builtin_steps
from saltext.scenario.engine.steps.registry import Registry
from saltext.scenario.testing import state_returns as sr
from tests.support.engine_calls import build_plan


def _calls(*steps):
    text = 'Feature: F\n  Scenario: S\n    Given I want to update hosts matching "web*"\n'
    text += "".join(f"    {line}\n" for line in steps)
    plan = build_plan("f", parse_feature(text, "features/f.feature"), builtin_steps.register(Registry()), {})
    return [st.call for st in plan.scenarios[0].steps if st.call]


def _one(step):
    (call,) = _calls(step)
    return call


def _orch(step):
    text = 'Feature: F\n  Scenario: S\n    Given I want to update hosts matching "web*"\n' + f"    {step}\n"
    plan = build_plan("f", parse_feature(text, "features/f.feature"), builtin_steps.register(Registry()), {})
    (pstep,) = [st for st in plan.scenarios[0].steps if st.call]
    return pstep.orch


def test_each_state_step_becomes_one_call_with_pillar_as_data():
    calls = _calls(
        "When I apply the state mywebapp",
        "When I apply the state mywebapp with pillar mywebapp:version=4.2.6-3",
        "When I apply the highstate",
        "Then the state web.nginx should be in place",
        "Then the state mywebapp should be in place with pillar mywebapp:version=4.20",
    )
    assert [(c.fun, c.args, c.kwargs) for c in calls] == [
        ("state.apply", ["mywebapp"], {}),
        ("state.apply", ["mywebapp"], {"pillar": {"mywebapp": {"version": "4.2.6-3"}}}),
        ("state.highstate", [], {}),
        ("state.apply", ["web.nginx"], {"test": True}),
        # a version stays text: 4.20 is not the number 4.2
        ("state.apply", ["mywebapp"], {"test": True, "pillar": {"mywebapp": {"version": "4.20"}}}),
    ]


def test_pillar_keys_nest_on_colons_like_pillar_get():
    call = _one("When I apply the state app with pillar app:release:channel=stable")
    assert call.kwargs == {"pillar": {"app": {"release": {"channel": "stable"}}}}
    assert _one("When I apply the state app with pillar release=r42").kwargs == {"pillar": {"release": "r42"}}


def test_only_the_then_runs_in_test_mode():
    # The When changes things; the Then only reads (state.apply test=True).
    assert "test" not in _one("When I apply the state mywebapp").kwargs
    assert _one("Then the state mywebapp should be in place").kwargs["test"] is True


def test_steps_say_how_scenario_compile_expresses_them():
    assert _orch("When I apply the state mywebapp with pillar mywebapp:version=4.2.6-3") == (
        "salt.state",
        [{"sls": "mywebapp"}, {"pillar": {"mywebapp": {"version": "4.2.6-3"}}}],
    )
    assert _orch("When I apply the highstate") == ("salt.state", [{"highstate": True}])
    assert _orch("Then the state mywebapp should be in place with pillar release=r42") == (
        "salt.function",
        [{"name": "statecheck.in_place"}, {"arg": ["mywebapp"]}, {"kwarg": {"pillar": {"release": "r42"}}}],
    )


# -- verdicts on one host's reply ---------------------------------------------------------------------

APPLY = "When I apply the state mywebapp with pillar mywebapp:version=9.9.9-1"
IN_PLACE = "Then the state mywebapp should be in place"


@pytest.mark.parametrize("step", [APPLY, "When I apply the highstate"])
def test_apply_passes_when_every_state_is_true_and_summarises_the_changes(step):
    call = _one(step)
    assert judge(call, {"ret": sr.applied(), "retcode": 0}) == (True, None)
    assert call.summary(sr.applied()) == "2 states, 2 changed"
    assert call.summary(sr.unchanged()) == "2 states, 0 changed"


def test_apply_fails_with_the_first_failing_state_s_id_and_comment():
    ok, reason = judge(_one(APPLY), {"ret": sr.missing_version(), "retcode": 2})
    assert ok is False
    assert reason.startswith("mywebapp-package (pkg.installed): Problem encountered installing package(s).")
    assert reason.endswith("E: Version '9.9.9-1' for 'mywebapp' was not found")
    assert _one(APPLY).summary(sr.missing_version()) == "2 states, 0 changed, 2 failed"


def test_apply_fails_a_none_result_even_with_retcode_0():
    ok, reason = judge(_one(APPLY), {"ret": sr.pending(), "retcode": 0})
    assert ok is False and "did not run (result None, test mode?)" in reason


def test_render_errors_fail_with_salt_s_message():
    for step in (APPLY, IN_PLACE):
        ok, reason = judge(_one(step), {"ret": sr.RENDER_ERRORS, "retcode": 1})
        assert ok is False and "Rendering SLS 'base:mywebapp' failed" in reason, reason
        assert _one(step).summary(sr.RENDER_ERRORS) is None


@pytest.mark.parametrize("reply", [None, {"ret": None, "retcode": None, "failed": True}])
def test_no_response_fails(reply):
    for step in (APPLY, IN_PLACE):
        assert judge(_one(step), reply) == (False, NO_RESPONSE)


def test_in_place_passes_only_when_nothing_would_change():
    call = _one(IN_PLACE)
    assert judge(call, {"ret": sr.unchanged(), "retcode": 0}) == (True, None)
    assert call.summary(sr.unchanged()) == "2 states, 0 would change"


@pytest.mark.parametrize(
    "ret, reason",
    [
        (
            sr.pending(),
            "mywebapp-package (pkg.installed) would change: "
            "The following packages would be installed/updated: mywebapp",
        ),
        (sr.service_would_start(), "mywebapp-service (service.running) would change: Service mywebapp is set to start"),
    ],
)
def test_in_place_fails_on_pending_changes_though_salt_says_retcode_0(ret, reason):
    assert judge(_one(IN_PLACE), {"ret": ret, "retcode": 0}) == (False, reason)


def test_in_place_fails_on_a_false_result():
    ok, reason = judge(_one(IN_PLACE), {"ret": sr.missing_version(), "retcode": 2})
    assert ok is False and reason.startswith("mywebapp-package (pkg.installed): Problem encountered")
