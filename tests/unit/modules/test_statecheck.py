"""Unit tests of _modules/statecheck.py: statecheck.in_place with a fake state.apply, and its judge
agreeing with the engine's (tests/unit/engine/steps/test_state_verdicts.py tests the judging itself)."""

import pytest
from salt.exceptions import SaltInvocationError

from saltext.scenario.engine.steps import state_verdicts
from saltext.scenario.testing import state_returns as sr
from tests.support.fake_dunders import Recorder, load


@pytest.fixture
def mod():
    return load("_modules/statecheck.py")


# -- the minion's judge and the master's agree ----------------------------------------------------

SAMPLES = {
    "unchanged": sr.unchanged(),
    "applied": sr.applied(),
    "pending": sr.pending(),
    "service_would_start": sr.service_would_start(),
    "missing_version": sr.missing_version(),
    "render_errors": sr.RENDER_ERRORS,
    "no_sls": sr.NO_SLS,
    "no_top": sr.NO_TOP,
    "empty": {},
    "not_a_dict": "'state.apply' is not available.",
    "none": None,
    "not_a_state": {"x": "not a state"},
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_minion_and_master_judge_a_state_run_alike(mod, name):
    # statecheck.in_place (orchestrate's verdict) and the runner's "should be in place" step.
    sample = SAMPLES[name]
    reason, summary = mod._in_place(sample)
    assert (reason, summary) == state_verdicts.in_place(sample)
    assert reason is None if name == "unchanged" else reason


# -- statecheck.in_place on a minion ---------------------------------------------------------------


def _with_state_apply(answer, retcode=2):
    def state_apply(mods, **kwargs):
        mod.__context__["retcode"] = retcode  # what Salt's state module leaves behind
        return answer

    recorder = Recorder(state_apply)
    mod = load("_modules/statecheck.py", salt={"state.apply": recorder})
    return mod, recorder


def test_in_place_runs_state_apply_in_test_mode_with_pillar_as_data():
    mod, state_apply = _with_state_apply(sr.unchanged(), retcode=0)
    ret = mod.in_place("mywebapp", pillar={"mywebapp": {"version": "4.2.6-3"}})
    assert state_apply.calls == [(("mywebapp",), {"test": True, "pillar": {"mywebapp": {"version": "4.2.6-3"}}})]
    assert ret == {"ok": True, "reason": None, "summary": "2 states, 0 would change", "states": sr.unchanged()}
    assert mod.__context__["retcode"] == 0


def test_in_place_sets_retcode_1_when_a_state_would_change():
    # state.apply test=True leaves retcode 0 while changes are pending; in_place must not
    mod, _state_apply = _with_state_apply(sr.pending(), retcode=0)
    ret = mod.in_place("mywebapp")
    assert ret["ok"] is False and "would change" in ret["reason"]
    assert mod.__context__["retcode"] == 1


def test_in_place_sets_retcode_1_on_render_errors_and_says_why():
    mod, _state_apply = _with_state_apply(sr.RENDER_ERRORS, retcode=1)
    ret = mod.in_place("mywebapp", saltenv="base")
    assert ret["ok"] is False and ret["reason"].startswith("the state did not run: Rendering SLS")
    assert mod.__context__["retcode"] == 1


@pytest.mark.parametrize(
    "args, kwargs, fragment",
    [
        (["../x"], {}, "invalid SLS name '../x'"),
        (["a/b"], {}, "invalid SLS name"),
        (["{{ x }}"], {}, "invalid SLS name"),
        (["a b"], {}, "invalid SLS name"),
        (["-x"], {}, "invalid SLS name"),
        (["a;b"], {}, "invalid SLS name"),
        ([None], {}, "invalid SLS name"),
        (["mywebapp"], {"pillar": "mywebapp:version=1"}, "pillar must be a dictionary"),
        (["mywebapp"], {"saltenv": "../prod"}, "invalid saltenv"),
    ],
)
def test_bad_arguments_raise_before_state_apply_is_called(args, kwargs, fragment):
    mod, state_apply = _with_state_apply(sr.unchanged())
    with pytest.raises(SaltInvocationError, match=fragment.replace("{", r"\{").replace("(", r"\(")):
        mod.in_place(*args, **kwargs)
    assert state_apply.calls == []


def test_several_sls_names_comma_separated_are_accepted():
    mod, state_apply = _with_state_apply(sr.unchanged(), retcode=0)
    assert mod.in_place("mywebapp,web.nginx")["ok"] is True
    assert state_apply.calls[0][0] == ("mywebapp,web.nginx",)
