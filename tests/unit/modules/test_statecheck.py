"""Unit tests of _modules/statecheck.py: the judges of a state run (shared with the engine) and
statecheck.in_place with a fake state.apply."""

import ast

import pytest
from salt.exceptions import SaltInvocationError

from tests.support import state_returns as sr
from tests.support.fake_dunders import Recorder, load
from tests.support.paths import REPO


@pytest.fixture
def mod():
    return load("_modules/statecheck.py")


# -- state.apply: every state's result must be True ------------------------------------------------


def test_applied_all_true_passes_and_counts_the_changes(mod):
    assert mod._applied(sr.applied()) == (None, "2 states, 2 changed")
    assert mod._applied(sr.unchanged()) == (None, "2 states, 0 changed")


def test_applied_names_the_first_failing_state_in_run_order_with_its_comment(mod):
    reason, summary = mod._applied(sr.missing_version())
    # the package ran first (__run_num__ 0), though the service comes first in the dict
    assert reason == (
        "mywebapp-package (pkg.installed): Problem encountered installing package(s). "
        "Additional info follows: errors: - E: Version '9.9.9-1' for 'mywebapp' was not found"
    )
    assert summary == "2 states, 0 changed, 2 failed"


def test_applied_fails_a_result_none(mod):
    # A minion with `test: True` in its config returns None: nothing was applied.
    reason, _summary = mod._applied(sr.pending())
    assert reason.startswith("mywebapp-package (pkg.installed) did not run (result None, test mode?)")


@pytest.mark.parametrize(
    "ret, why",
    [
        (sr.RENDER_ERRORS, "the state did not run: Rendering SLS 'base:mywebapp' failed"),
        (sr.NO_SLS, "the state did not run: No matching sls found for 'nosuch'"),
        ([], "the state did not run: no detail"),
        ({}, "no states ran"),
        (None, "unexpected return None"),
        ("'state.apply' is not available.", "unexpected return"),
        ({"x": "not a state"}, "the state did not run: x: not a state"),
    ],
)
def test_not_a_state_run_fails_with_what_came_back(mod, ret, why):
    for judge in (mod._applied, mod._in_place):
        reason, summary = judge(ret)
        assert reason.startswith(why) and summary is None, (judge.__name__, reason)


def test_no_top_file_match_is_named_by_salt_s_own_words(mod):
    reason, _summary = mod._applied(sr.NO_TOP)
    assert reason == "No States: No Top file or master_tops data matches found. Please see master log for details."


def test_long_and_list_comments_become_one_bounded_line(mod):
    ret = sr.missing_version()
    ret[sr.PKG]["comment"] = ["first\nline", "second " * 200]
    reason, _summary = mod._applied(ret)
    assert reason.startswith("mywebapp-package (pkg.installed): first line; second second")
    assert len(reason) <= len("mywebapp-package (pkg.installed): ") + mod.REASON_LIMIT and reason.endswith("...")


# -- state.apply test=True: nothing would change, nothing fails -------------------------------------


def test_in_place_passes_when_nothing_would_change(mod):
    assert mod._in_place(sr.unchanged()) == (None, "2 states, 0 would change")


def test_in_place_fails_on_pending_changes_naming_the_first(mod):
    reason, summary = mod._in_place(sr.pending())
    assert reason == (
        "mywebapp-package (pkg.installed) would change: The following packages would be installed/updated: mywebapp"
    )
    assert summary == "2 states, 2 would change"


def test_in_place_fails_on_result_none_without_changes(mod):
    # service.running in test mode: result None, changes {} (orchestrate's salt.state misses this)
    reason, summary = mod._in_place(sr.service_would_start())
    assert reason == "mywebapp-service (service.running) would change: Service mywebapp is set to start"
    assert summary == "2 states, 1 would change"


def test_in_place_fails_on_changes_even_with_result_true(mod):
    ret = sr.unchanged()
    ret[sr.PKG]["changes"] = {"mywebapp": {"old": "1", "new": "2"}}
    reason, _summary = mod._in_place(ret)
    assert reason.startswith("mywebapp-package (pkg.installed) would change")


def test_in_place_names_a_failure_before_pending_changes(mod):
    ret = sr.pending()
    ret[sr.SERVICE].update(result=False, comment="Service mywebapp is not available")
    reason, summary = mod._in_place(ret)
    assert reason == "mywebapp-service (service.running): Service mywebapp is not available"
    assert summary == "2 states, 1 would change, 1 failed"


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


def test_the_module_imports_no_salt_at_the_top():
    # The engine imports the judges from this file; the engine loads Salt only in its transport.
    tree = ast.parse((REPO / "_modules" / "statecheck.py").read_text(encoding="utf-8"))
    top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    names = [a.name for n in top for a in n.names] + [n.module for n in top if isinstance(n, ast.ImportFrom)]
    assert not [n for n in names if n and n.split(".")[0] == "salt"], names
