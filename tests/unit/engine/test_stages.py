"""The engine's stages import one way, and only adapters.py imports Salt.

errors/contracts/ports (stage 0) -> parsing -> steps -> running -> records -> service: a
module may import its own stage and earlier ones, never a later one. ``config`` (outside the
engine, with config_checks and config_webhooks) imports nothing of the engine. Imports under
``if TYPE_CHECKING:`` are annotations only (no import at run time, no cycle) and are not counted.
"""

import ast

import pytest

from tests.support.paths import REPO

PACKAGE = REPO / "src" / "saltext" / "scenario"
ENGINE = PACKAGE / "engine"
STAGES = ["stage0", "parsing", "steps", "running", "records", "service"]
STAGE0 = {"errors", "contracts", "ports", "__init__"}
# The composition root: it builds the Salt adapters the service hands down, so it sits with the service.
SERVICE_STAGE = {"adapters"}
# Metric gates are placed module by module: the placeholder grammar is read by the parser,
# the Prometheus client and the verdict policy import nothing of the engine, the metric steps
# are step definitions.
PLACED = {
    ("gates", "__init__"): "stage0",
    ("gates", "template"): "parsing",
    ("gates", "prometheus"): "parsing",
    ("gates", "gate"): "parsing",
    ("gates", "steps"): "steps",
    # The fleet store keeps the run's fleet-wide records (claims, holds, live runs, answers):
    # the records stage, beside the journal; the service opens it and hands it down.
    ("store", "__init__"): "records",
    ("store", "base"): "records",
    ("store", "local"): "records",
    ("store", "local_files"): "records",
    ("store", "local_run"): "records",
    ("store", "etcd"): "records",
    ("store", "etcd_client"): "records",
    ("store", "etcd_keys"): "records",
    ("store", "etcd_run"): "records",
}
# The fleet store's backends read the journal's run ids and write files as the records do. An
# earlier stage that needs the store gets it as a Protocol of ports.py, never from here.
PACKAGES = {"store": "records"}


def _stage(parts):
    """The stage of a module inside the engine, from its path parts relative to ENGINE."""
    head = parts[0].removesuffix(".py")
    if len(parts) == 1:
        if head in SERVICE_STAGE:
            return "service"
        assert head in STAGE0, f"engine/{head}.py belongs to no stage: add it to a stage here"
        return "stage0"
    if head in PACKAGES:
        return PACKAGES[head]
    if head not in STAGES:
        module = parts[1].removesuffix(".py") if len(parts) > 1 else "__init__"
        assert (head, module) in PLACED, f"engine/{head}/{module}.py belongs to no stage: place it here"
        return PLACED[head, module]
    return head


def _runtime_imports(tree):
    """Import nodes outside `if TYPE_CHECKING:` blocks."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for child in node.body for n in ast.walk(child))
    return [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) and id(n) not in skipped]


def _targets(path, node):
    """Dotted names an import node reaches ("saltext.scenario.engine.running.plan", "salt.client")."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level == 0:
        base = node.module or ""
    else:
        package = path.relative_to(PACKAGE.parent.parent).with_suffix("").parts[:-1]
        base = ".".join(package[: len(package) - node.level + 1] + ((node.module,) if node.module else ()))
    return [base] + [f"{base}.{alias.name}" for alias in node.names]


def _engine_parts(dotted):
    prefix = "saltext.scenario.engine."
    return dotted[len(prefix) :].split(".") if dotted.startswith(prefix) else None


def _modules():
    return sorted(ENGINE.rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ENGINE)))
def test_no_engine_module_imports_a_later_stage(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    own = STAGES.index(_stage(path.relative_to(ENGINE).parts))
    later = set()
    for node in _runtime_imports(tree):
        for dotted in _targets(path, node):
            parts = _engine_parts(dotted)
            if not parts or not parts[0]:
                continue
            if (ENGINE / parts[0]).is_dir():
                module = parts[1] if len(parts) > 1 and (ENGINE / parts[0] / f"{parts[1]}.py").is_file() else "__init__"
                stage = _stage([parts[0], module + ".py"])
            elif (ENGINE / f"{parts[0]}.py").is_file():
                stage = _stage([parts[0] + ".py"])
            else:
                continue  # a name from the engine package itself, e.g. ``from .. import config``
            if STAGES.index(stage) > own:
                later.add(f"line {node.lineno}: {dotted} ({stage})")
    assert not later, f"{path.relative_to(ENGINE)} ({STAGES[own]}) imports a later stage: {sorted(later)}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ENGINE)))
def test_only_adapters_imports_salt(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    salt = [
        f"line {node.lineno}: {dotted}"
        for node in _runtime_imports(tree)
        for dotted in _targets(path, node)[:1]
        if dotted == "salt" or dotted.startswith("salt.")
    ]
    if path == ENGINE / "adapters.py":
        assert salt, "adapters.py is where the engine reaches Salt"
    else:
        assert not salt, f"{path.relative_to(ENGINE)} imports salt (only adapters.py may): {salt}"


@pytest.mark.parametrize("name", ["config.py", "config_checks.py", "config_webhooks.py"])
def test_config_imports_nothing_of_the_engine(name):
    # config.py and the checkers and webhooks it is made of: every engine stage imports them.
    tree = ast.parse((PACKAGE / name).read_text(encoding="utf-8"))
    reached = [d for node in _runtime_imports(tree) for d in _targets(PACKAGE / name, node)]
    assert not [d for d in reached if d.startswith("saltext.scenario.engine")], reached


def test_the_checker_sees_a_later_import(tmp_path):
    # The rules above catch what they are meant to: a relative import one stage too far.
    tree = ast.parse("from ..service.request import RunRequest\nimport salt.client\n")
    path = ENGINE / "running" / "example.py"
    targets = [d for node in _runtime_imports(tree) for d in _targets(path, node)]
    assert "saltext.scenario.engine.service.request" in targets and "salt.client" in targets
    typed = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..service import x\n")
    assert [n for n in _runtime_imports(typed) if isinstance(n, ast.ImportFrom) and n.level] == []
