"""Site step libraries: YAML data only, an allow-list of functions, typed placeholders."""

import pytest

from saltext.scenario import config
from saltext.scenario.engine.errors import InvalidScenario
from saltext.scenario.engine.parsing.model import Step
from saltext.scenario.engine.parsing.source import DirSource
from saltext.scenario.engine.steps import builtin_steps
from saltext.scenario.engine.steps.library import DEFAULT_ALLOWED, load_libraries, load_library
from saltext.scenario.engine.steps.registry import Registry
from tests.support.paths import REPO

FILES_YAML = """
- step: "the file {path} should exist"
  kind: then
  function: file.file_exists
  args: ["{path}"]
  expect: true
- step: "the file {path} should contain {word}"
  kind: then
  function: file.search
  args: ["{path}", "{word}"]
  kwargs: {ignore_if_missing: true, note: "pattern {word}"}
  expect: {ok: true}
  within: 5
"""


def _step(text):
    return Step(keyword="Then", kind="then", text=text, uri="features/f.feature", line=3)


def test_library_step_builds_call_from_typed_params():
    reg = Registry()
    for d in load_library(FILES_YAML, "features/steps/files.yaml", DEFAULT_ALLOWED):
        reg.add(d)
    m = reg.match(_step("the file /opt/app/VERSION should exist"))
    call = m.stepdef.handler(None, m.step, **m.params)
    assert (call.fun, call.args, call.kwargs) == ("file.file_exists", ["/opt/app/VERSION"], {})
    assert call.judge(True) is None and call.judge(False) == "returned False, expected True"
    m = reg.match(_step("the file /etc/x should contain hello"))
    call = m.stepdef.handler(None, m.step, **m.params)
    assert call.kwargs == {"ignore_if_missing": True, "note": "pattern hello"} and call.within == 5
    assert call.judge({"ok": True}) is None and "expected True" in call.judge({"ok": False})


def test_library_params_are_validated():
    reg = Registry()
    for d in load_library(FILES_YAML, "features/steps/files.yaml", DEFAULT_ALLOWED):
        reg.add(d)
    with pytest.raises(InvalidScenario, match="absolute path"):
        reg.match(_step("the file ../etc/passwd should exist"))


@pytest.mark.parametrize(
    "yaml_text,why",
    [
        ("- step: x\n  kind: then\n  function: cmd.run\n", "not allowed"),
        ("- step: x\n  kind: then\n  function: 'file.file_exists; id'\n", "module.function"),
        ("- step: x\n  kind: later\n  function: test.ping\n", "kind"),
        ("- step: x\n  kind: then\n  function: test.ping\n  python: 'import os'\n", "unknown keys"),
        ("- step: x\n  kind: then\n", "function"),
        ("- step: 'a {x:nosuch}'\n  kind: then\n  function: test.ping\n", "unknown parameter type"),
        ("- step: x\n  kind: then\n  function: test.ping\n  within: -1\n", "within"),
        ("steps: {a: 1}\n", "list of steps"),
        ("- [unclosed\n", "invalid YAML"),
        ("- !!python/object/apply:os.system ['id']\n", "invalid YAML"),
    ],
)
def test_bad_libraries_are_refused(yaml_text, why):
    reg = Registry()
    with pytest.raises(InvalidScenario, match=why) as err:
        for d in load_library(yaml_text, "features/steps/bad.yaml", DEFAULT_ALLOWED):
            reg.add(d)
    assert "features/steps/bad.yaml" in str(err.value)


def test_allow_list_comes_from_master_option(tmp_path):
    steps = tmp_path / "features" / "steps"
    steps.mkdir(parents=True)
    (steps / "svc.yaml").write_text(
        "- step: the service {service} is enabled\n  kind: then\n  function: service.enabled\n"
    )
    with pytest.raises(InvalidScenario, match="not allowed"):
        load_libraries(DirSource(tmp_path), Registry(), config.load({}))
    reg = Registry()
    assert load_libraries(DirSource(tmp_path), reg, config.load({"scenario_step_functions": ["service.*"]})) == [
        "features/steps/svc.yaml"
    ]
    assert [d.pattern for d in reg.all()] == ["the service {service} is enabled"]


def test_library_clashing_with_builtin_is_refused(tmp_path):
    steps = tmp_path / "features" / "steps"
    steps.mkdir(parents=True)
    (steps / "dup.yaml").write_text("- step: I block the load balancer\n  kind: when\n  function: test.ping\n")
    with pytest.raises(InvalidScenario, match="same pattern"):
        load_libraries(DirSource(tmp_path), builtin_steps.register(Registry()), config.load({}))


def test_repository_library_loads():
    reg = builtin_steps.register(Registry())
    loaded = load_libraries(DirSource(REPO), reg, config.load({}))
    assert "features/steps/files.yaml" in loaded
    assert reg.match(_step("the file /opt/x should exist")).stepdef.origin.startswith("features/steps/files.yaml")
