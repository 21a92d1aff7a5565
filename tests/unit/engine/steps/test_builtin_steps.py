"""Built-in steps: Given steps shape the context, When/Then steps become Salt calls."""

import pytest

from saltext.scenario.engine.errors import InvalidScenario
from saltext.scenario.engine.parsing.parse import parse_feature
from saltext.scenario.engine.steps import builtin_steps
from saltext.scenario.engine.steps.registry import Registry
from tests.support.engine_calls import build_plan
from tests.support.paths import UNIT_DATA as DATA


def _plan(body, opts=None, **kw):
    text = "Feature: F\n  Scenario: S\n" + "".join(f"    {line}\n" for line in body)
    feature = parse_feature(text, "features/f.feature")
    return build_plan("f", feature, builtin_steps.register(Registry()), opts or {}, **kw)


def _calls(plan):
    return [(st.call.fun, st.call.args, st.call.kwargs) for st in plan.scenarios[0].steps if st.call]


def test_seed_verbatim_plans_with_lb_from_master_option():
    feature = parse_feature((DATA / "seed_verbatim.feature").read_text(), "features/seed.feature")
    plan = build_plan("seed", feature, builtin_steps.register(Registry()), {"scenario_lb_address": "198.51.100.10"})
    assert plan.target == "G@roles:dev_server and G@country:de"
    assert plan.context.prediscover is True
    assert plan.context.lb == "198.51.100.10"
    assert _calls(plan) == [
        ("lbgate.block", ["198.51.100.10"], {}),
        ("lbgate.verify_blocked", ["198.51.100.10"], {"expected": True}),
        ("pkgcheck.update", ["mywebapp"], {}),
        ("pkgcheck.verify", ["mywebapp", "4.2.6-3.el5"], {}),
        ("lbgate.unblock", ["198.51.100.10"], {}),
        ("lbgate.verify_blocked", ["198.51.100.10"], {"expected": False}),
    ]


def test_seed_without_lb_option_is_exit_2_at_the_step():
    feature = parse_feature((DATA / "seed_verbatim.feature").read_text(), "features/seed.feature")
    with pytest.raises(InvalidScenario) as err:
        build_plan("seed", feature, builtin_steps.register(Registry()), {})
    assert err.value.location == "features/seed.feature:2"
    assert "scenario_lb_address" in str(err.value)
    assert err.value.retcode == 2


def test_filters_are_anded_into_one_compound():
    plan = _plan(
        [
            "Given I want to update hosts with class a::b::c",
            "And I want to update hosts with grain os:Debian",
            "And I want to update hosts with pillar env:prod",
            'And I want to update hosts matching "web* or db1"',
            "And I want to update hosts in nodegroup web",
            "When I restart the service nginx",
        ]
    )
    assert plan.target == "G@a:b:c and G@os:Debian and I@env:prod and ( web* or db1 ) and N@web"
    assert _calls(plan) == [("service.restart", ["nginx"], {})]


def test_no_filter_is_refused_and_star_must_be_explicit():
    with pytest.raises(InvalidScenario, match="no target"):
        _plan(["When I restart the service nginx"])
    assert _plan(['Given I want to update hosts matching "*"', "When I restart the service nginx"]).target == "*"


def test_block_without_lb_names_the_block_step():
    with pytest.raises(InvalidScenario) as err:
        _plan(["Given I want to update hosts with class a::b", "When I block the load balancer"])
    assert err.value.location == "features/f.feature:4"


def test_update_with_comparison_is_refused():
    with pytest.raises(InvalidScenario, match="exact version"):
        _plan(["Given I want to update hosts with class a::b", "When I update the package app to version >=1.0"])


def test_expectations_batch_and_nrpe_within():
    plan = _plan(
        [
            "Given I want to update hosts with class a::b",
            "And I expect at least 2 hosts",
            "And I expect 3 hosts",
            "And I update 25% of the hosts at a time",
            "Then the NRPE check check_load should pass within 30 seconds",
            "And the service web should be running",
            "And the package version for app should be >=4.2",
        ]
    )
    assert (plan.context.expect_min, plan.context.expect_exact, plan.batch) == (2, 3, (("percent", 25),))
    nrpe = plan.scenarios[0].steps[4].call
    assert (nrpe.fun, nrpe.args, nrpe.within) == ("nrpe.run", ["check_load"], 30)
    assert _calls(plan)[1:] == [("service.status", ["web"], {}), ("pkgcheck.verify", ["app", ">=4.2"], {})]


def test_batch_argument_overrides_feature():
    plan = _plan(
        [
            "Given I want to update hosts with class a::b",
            "And I update 2 hosts at a time",
            "When I restart the service x",
        ],
        batch="25%",
    )
    assert plan.batch == (("percent", 25),)


def test_all_problems_reported_together():
    with pytest.raises(InvalidScenario) as err:
        _plan(["Given the load balancer has ip address 1.2.3.999", "When I fly", "Then the NRPE check a;b should pass"])
    msg = str(err.value)
    assert "3 problems" in msg
    for line in (3, 4, 5):
        assert f"features/f.feature:{line}" in msg


def test_assertions_over_returns():
    plan = _plan(
        [
            "Given the load balancer has ip address 198.51.100.10",
            "And I want to update hosts with class a::b",
            "When I block the load balancer",
            "Then traffic from the load balancer should be blocked",
            "When I update the package app",
            "Then the package version for app should be 2",
            "Then the NRPE check check_load should pass",
            "When I restart the service x",
        ]
    )
    steps = [st for st in plan.scenarios[0].steps if st.call]
    block, verify, update, pkg, nrpe, restart = [st.call for st in steps]
    assert block.judge({"blocked": True}) is None
    assert "blocked is False" in block.judge({"blocked": False})
    assert steps[0].effects.leaves_balancer and steps[0].call_info()["lb_effect"] == "block"
    assert steps[2].effects.records_version == "app" and not steps[1].effects.as_dict()
    assert verify.judge({"ok": True, "blocked": True}) is None
    assert verify.judge({"ok": False, "blocked": False}) == "traffic is open, expected blocked"
    assert verify.judge({"ok": False, "state": "drained"}) == "traffic is drained, expected blocked"
    assert update.judge({"changed": False}) is None and update.judge("oops")
    assert "installed '1'" in pkg.judge({"ok": False, "installed": "1", "expected": "2"})
    assert "CRITICAL" in nrpe.judge({"ok": False, "status": "CRITICAL", "output": "load high"})
    assert restart.judge(True) is None and restart.judge(False)
