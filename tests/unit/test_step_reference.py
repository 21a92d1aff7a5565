"""The docs' step reference (docs/_ext/step_reference.py) lists exactly the registered steps,
each with an example that its own step matches and the Salt call the engine plans for it."""

import importlib.util

import pytest

from saltext.scenario.engine.running.prepare import builtin_registry
from saltext.scenario.engine.steps import step_docs
from tests.support.paths import REPO


@pytest.fixture(scope="module")
def ref():
    spec = importlib.util.spec_from_file_location("step_reference", REPO / "docs" / "_ext" / "step_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def page(ref):
    return ref.render()


def _registered():
    return [(d.kind, d.pattern) for d in builtin_registry().all()]


def test_the_reference_lists_exactly_the_registered_steps_in_order(page):
    headings = [line[4:] for line in page.splitlines() if line.startswith("### ")]
    listed = [(kind.lower(), pattern.strip("`")) for kind, _, pattern in (h.partition(" ") for h in headings)]
    assert listed == _registered()


def test_every_registered_step_has_an_example_and_no_entry_is_stale():
    registered = {pattern for _kind, pattern in _registered()}
    assert sorted(registered - set(step_docs.STEP_DOCS)) == [], "steps without an entry in steps/step_docs.py"
    assert sorted(set(step_docs.STEP_DOCS) - registered) == [], "entries in steps/step_docs.py of no registered step"


def test_each_example_is_matched_by_its_own_step(ref):
    reg = ref.registry()
    for stepdef in reg.all():
        assert stepdef.example.split(" ", 1)[0].lower() == stepdef.kind, stepdef.example
        planned = ref.planned_step(ref.plan_of(reg, stepdef.example))
        assert planned.stepdef is stepdef, f"{stepdef.example!r} matched {planned.stepdef.describe()}"


def test_each_step_shows_its_parameters_and_the_salt_call_of_its_example(page):
    section = page.split("### When `I update the package {package}[ to version {version}]`")[1].split("###")[0]
    assert "- Example: `When I update the package mywebapp to version 4.2.6-3`" in section
    assert "- Parameters: `package`: package name; `version`: package version (optional)" in section
    assert "- Salt call: `pkgcheck.update mywebapp version=4.2.6-3` on each host of the batch" in section
    nrpe = page.split("### Then `the NRPE check {check} should pass[ within {n} seconds]`")[1].split("###")[0]
    assert "`nrpe.run check_web` on each host of the batch, retried for up to 10 s until it passes" in nrpe
    fact = page.split("### Given `I want to update hosts with fact {fact}`")[1].split("###")[0]
    assert "none: shapes the run (nothing is sent to a host); the example adds `G@country:de`" in fact
    gate = page.split("### Then `I wait for approval[ within {n} minutes]`")[1].split("###")[0]
    assert "none: an approval gate (waits up to 1800 s for a person)" in gate
    assert page.count("- Salt call: ") == len(_registered())


def test_the_page_is_written_only_when_its_text_changed(ref, tmp_path):
    target = tmp_path / "reference" / "steps.md"
    assert ref.write(target) is True and target.read_text(encoding="utf-8") == ref.render()
    before = target.stat().st_mtime_ns
    assert ref.write(target) is False and target.stat().st_mtime_ns == before


def test_the_committed_page_is_the_one_the_registry_gives(ref, page):
    # `make docs` rewrites it; run it after changing a step or its entry in steps/step_docs.py.
    assert ref.PAGE.read_text(encoding="utf-8") == page
