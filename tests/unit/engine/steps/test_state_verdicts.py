"""The master's judges of a state run: state.apply (every state applied) and state.apply test=True
(the state in place), over returns copied from real runs."""

import pytest

from saltext.scenario.engine.steps.state_verdicts import REASON_LIMIT, applied, in_place
from saltext.scenario.testing import state_returns as sr

# -- state.apply: every state's result must be True ------------------------------------------------


def test_applied_all_true_passes_and_counts_the_changes():
    assert applied(sr.applied()) == (None, "2 states, 2 changed")
    assert applied(sr.unchanged()) == (None, "2 states, 0 changed")


def test_applied_names_the_first_failing_state_in_run_order_with_its_comment():
    reason, summary = applied(sr.missing_version())
    # the package ran first (__run_num__ 0), though the service comes first in the dict
    assert reason == (
        "mywebapp-package (pkg.installed): Problem encountered installing package(s). "
        "Additional info follows: errors: - E: Version '9.9.9-1' for 'mywebapp' was not found"
    )
    assert summary == "2 states, 0 changed, 2 failed"


def test_applied_fails_a_result_none():
    # A minion with `test: True` in its config returns None: nothing was applied.
    reason, _summary = applied(sr.pending())
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
def test_not_a_state_run_fails_with_what_came_back(ret, why):
    for judge in (applied, in_place):
        reason, summary = judge(ret)
        assert reason.startswith(why) and summary is None, (judge.__name__, reason)


def test_no_top_file_match_is_named_by_salt_s_own_words():
    reason, _summary = applied(sr.NO_TOP)
    assert reason == "No States: No Top file or master_tops data matches found. Please see master log for details."


def test_long_and_list_comments_become_one_bounded_line():
    ret = sr.missing_version()
    ret[sr.PKG]["comment"] = ["first\nline", "second " * 200]
    reason, _summary = applied(ret)
    assert reason.startswith("mywebapp-package (pkg.installed): first line; second second")
    assert len(reason) <= len("mywebapp-package (pkg.installed): ") + REASON_LIMIT and reason.endswith("...")


# -- state.apply test=True: nothing would change, nothing fails -------------------------------------


def test_in_place_passes_when_nothing_would_change():
    assert in_place(sr.unchanged()) == (None, "2 states, 0 would change")


def test_in_place_fails_on_pending_changes_naming_the_first():
    reason, summary = in_place(sr.pending())
    assert reason == (
        "mywebapp-package (pkg.installed) would change: The following packages would be installed/updated: mywebapp"
    )
    assert summary == "2 states, 2 would change"


def test_in_place_fails_on_result_none_without_changes():
    # service.running in test mode: result None, changes {} (orchestrate's salt.state misses this)
    reason, summary = in_place(sr.service_would_start())
    assert reason == "mywebapp-service (service.running) would change: Service mywebapp is set to start"
    assert summary == "2 states, 1 would change"


def test_in_place_fails_on_changes_even_with_result_true():
    ret = sr.unchanged()
    ret[sr.PKG]["changes"] = {"mywebapp": {"old": "1", "new": "2"}}
    reason, _summary = in_place(ret)
    assert reason.startswith("mywebapp-package (pkg.installed) would change")


def test_in_place_names_a_failure_before_pending_changes():
    ret = sr.pending()
    ret[sr.SERVICE].update(result=False, comment="Service mywebapp is not available")
    reason, summary = in_place(ret)
    assert reason == "mywebapp-service (service.running): Service mywebapp is not available"
    assert summary == "2 states, 1 would change, 1 failed"
