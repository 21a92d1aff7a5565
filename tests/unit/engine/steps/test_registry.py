"""Step registry: pattern compiling, ambiguity at registration and at match time, undefined steps."""

import pytest

from saltext.scenario.engine.errors import InvalidScenario
from saltext.scenario.engine.parsing.model import Step
from saltext.scenario.engine.steps import builtin_steps
from saltext.scenario.engine.steps.registry import Registry, StepDef, compile_pattern


def _step(text, kind="then", line=7):
    return Step(keyword=kind.capitalize(), kind=kind, text=text, uri="features/x.feature", line=line)


def test_compile_pattern_placeholders_and_optional_parts():
    regex, types = compile_pattern("the check {check} should pass[ within {n} seconds]")
    assert set(types) == {"check", "n"}
    assert regex.match("the check c1 should pass").groupdict() == {"check": "c1", "n": None}
    assert regex.match("the check c1 should pass within 5 seconds").groupdict() == {"check": "c1", "n": "5"}
    regex, types = compile_pattern("the file {where:path} exists")
    assert types["where"].name == "path"


@pytest.mark.parametrize("pattern", ["a [b", "a ]", "a [[b]]", "{x} {x}", "{x:nosuchtype}", "{1bad}"])
def test_bad_patterns(pattern):
    with pytest.raises(InvalidScenario):
        Registry().add(StepDef("then", pattern, None, origin="lib.yaml (step #1)"))


def test_same_pattern_twice_is_refused_at_registration():
    reg = Registry()
    reg.add(StepDef("then", "the file {path} should exist", None, origin="a.yaml (step #1)"))
    with pytest.raises(InvalidScenario) as err:
        reg.add(StepDef("then", "the file {p:path} should exist", None, origin="b.yaml (step #2)"))
    assert "a.yaml (step #1)" in str(err.value) and "b.yaml (step #2)" in str(err.value)


def test_same_pattern_different_kind_is_fine():
    reg = Registry()
    reg.add(StepDef("given", "x", None))
    reg.add(StepDef("then", "x", None))
    assert len(reg.all()) == 2


def test_two_definitions_matching_one_text_is_ambiguous_with_location():
    reg = Registry()
    reg.add(StepDef("then", "the page should say {word}", None, origin="a.yaml (step #1)"))
    reg.add(StepDef("then", "the page should {word} hello", None, origin="a.yaml (step #2)"))
    with pytest.raises(InvalidScenario) as err:
        reg.match(_step("the page should say hello"))
    assert err.value.location == "features/x.feature:7"
    assert "ambiguous" in str(err.value) and "step #1" in str(err.value) and "step #2" in str(err.value)


def test_undefined_step_suggests_closest():
    reg = builtin_steps.register(Registry())
    with pytest.raises(InvalidScenario) as err:
        reg.match(_step("traffic from the load balancer should be blockd"))
    assert err.value.location == "features/x.feature:7"
    assert "undefined step" in str(err.value)
    assert "did you mean Then 'traffic from the load balancer should be blocked'" in str(err.value)


def test_undefined_step_of_wrong_kind_says_so():
    reg = builtin_steps.register(Registry())
    with pytest.raises(InvalidScenario, match="defined as When 'I block the load balancer'"):
        reg.match(_step("I block the load balancer", kind="then"))


def test_star_steps_match_any_kind():
    reg = builtin_steps.register(Registry())
    step = Step(keyword="*", kind=None, text="I block the load balancer", uri="f", line=1)
    assert reg.match(step).stepdef.kind == "when"


def test_bad_parameter_names_value_type_and_location():
    reg = builtin_steps.register(Registry())
    with pytest.raises(InvalidScenario) as err:
        reg.match(_step("I update the package mywebapp; rm -rf /", kind="when", line=9))
    msg = str(err.value)
    assert err.value.location == "features/x.feature:9"
    assert "'mywebapp; rm -rf /'" in msg and "package name" in msg


def test_builtin_table_has_no_internal_ambiguity():
    reg = builtin_steps.register(Registry())
    texts = {
        "given": [
            "the load balancer has ip address 198.51.100.10",
            "the load balancer has ip address",
            "I want to update hosts with class roles::dev_server",
            "I want to update hosts with fact country=de",
            "I want to update hosts with grain roles:web",
            "I want to update hosts with pillar env:prod",
            'I want to update hosts matching "G@os:Debian"',
            "I want to update hosts in nodegroup web",
            "I want to pre-discover how many hosts to update",
            "I expect 3 hosts",
            "I expect 1 host",
            "I expect at least 2 hosts",
            "I update 2 hosts at a time",
            "I update 1 host at a time",
            "I update 25% of the hosts at a time",
            "I update hosts in batches of 1, 10%, 50%",
            "I pause 30 seconds between batches",
            "up to 2 hosts may fail",
            "up to 10% of the hosts may fail",
            "the load balancer is HAProxy backend web_servers on lb1.example.com",
        ],
        "when": [
            "I block the load balancer",
            "I unblock the load balancer",
            "I update the package mywebapp",
            "I update the package mywebapp to version 4.2.6-3",
            "I restart the service mywebapp",
            "I roll back the package mywebapp",
            "I apply the state mywebapp",
            "I apply the state mywebapp with pillar mywebapp:version=4.2.6-3",
            "I apply the highstate",
            "I drain the load balancer",
            "I drain the load balancer within 60 seconds",
            "I drain the hosts in the load balancer",
            "I drain the hosts in the load balancer within 60 seconds",
            "I return the hosts to the load balancer",
        ],
        "then": [
            "traffic from the load balancer should be blocked",
            "traffic from the load balancer should be unblocked",
            "the package version for mywebapp should be 4.2.6-3",
            "the service mywebapp should be running",
            "the NRPE check check_load should pass",
            "the NRPE check check_load should pass within 30 seconds",
            "I wait for approval",
            "I wait for approval within 15 minutes",
            "I wait for approval within 1 minute",
            "I wait for approval within 90 seconds",
            "the state mywebapp should be in place",
            "the state mywebapp should be in place with pillar mywebapp:version=4.2.6-3",
            "the load balancer should have no connections",
            "the load balancer should report the hosts as up",
            "the load balancer should report the hosts as up within 10 seconds",
        ],
    }
    seen = set()
    for kind, items in texts.items():
        for text in items:
            seen.add(reg.match(_step(text, kind)).stepdef.pattern)
    assert seen == {d.pattern for d in reg.all()}


def test_update_with_version_splits_parameters():
    reg = builtin_steps.register(Registry())
    m = reg.match(_step("I update the package mywebapp to version 4.2.6-3", "when"))
    assert m.params == {"package": "mywebapp", "version": "4.2.6-3"}


@pytest.mark.parametrize(
    "text, kind, pattern, params",
    [
        ("I apply the state web.nginx", "when", "I apply the state {sls}", {"sls": "web.nginx"}),
        (
            "I apply the state mywebapp with pillar mywebapp:version=4.2.6-3",
            "when",
            "I apply the state {sls} with pillar {key:pillar_key}={value:pillar_value}",
            {"sls": "mywebapp", "key": "mywebapp:version", "value": "4.2.6-3"},
        ),
        (
            "the state mywebapp should be in place with pillar release=blue",
            "then",
            "the state {sls} should be in place with pillar {key:pillar_key}={value:pillar_value}",
            {"sls": "mywebapp", "key": "release", "value": "blue"},
        ),
    ],
)
def test_state_steps_with_and_without_pillar_never_match_one_text_twice(text, kind, pattern, params):
    m = builtin_steps.register(Registry()).match(_step(text, kind))
    assert (m.stepdef.pattern, m.params) == (pattern, params)


@pytest.mark.parametrize(
    "text, kind, named",
    [
        ("I apply the state ../x", "when", "sls '../x' is not a valid SLS name"),
        ("I apply the state {{ x }}", "when", "sls '{{ x }}' is not a valid SLS name"),
        ("I apply the state a b", "when", "sls 'a b' is not a valid SLS name"),
        ("I apply the state -x", "when", "sls '-x' is not a valid SLS name"),
        ("I apply the state a;b", "when", "sls 'a;b' is not a valid SLS name"),
        ("the state a/b should be in place", "then", "sls 'a/b' is not a valid SLS name"),
        ("I apply the state x with pillar v=4.2 6", "when", "value '4.2 6' is not a valid pillar value"),
        ('I apply the state x with pillar v="4.2"', "when", "value '\"4.2\"' is not a valid pillar value"),
        ("I apply the state x with pillar v=-x", "when", "value '-x' is not a valid pillar value"),
        ("I apply the state x with pillar my key=1", "when", "key 'my key' is not a valid pillar key"),
        ("I apply the state x with pillar a.b=1", "when", "nest pillar keys with ':'"),
        ("I apply the state x with pillar a=b=c", "when", "value 'b=c' is not a valid pillar value"),
    ],
)
def test_state_step_parameters_are_refused_naming_the_value_and_the_step(text, kind, named):
    with pytest.raises(InvalidScenario) as err:
        builtin_steps.register(Registry()).match(_step(text, kind, line=12))
    assert named in str(err.value) and err.value.location == "features/x.feature:12"
    assert err.value.retcode == 2
