"""House rule: every public function of every _modules/*.py has `CLI Example:` in
its docstring. Read with ast, so no module is imported (nor its dependencies)."""

import ast

import pytest

from tests.support.paths import REPO

MODULES = sorted((REPO / "_modules").glob("*.py"))


def public_functions(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
            yield node


def test_there_are_modules_to_check():
    assert {p.name for p in MODULES} >= {"pkgcheck.py", "nrpe.py"}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_every_public_function_has_a_cli_example(path):
    missing = [
        f"{path.name}:{node.lineno} {node.name}"
        for node in public_functions(path)
        if "CLI Example:" not in (ast.get_docstring(node) or "")
    ]
    assert missing == []


def test_the_check_sees_functions_without_examples(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        'def shown():\n    """CLI Example:\n\n    salt x"""\n\n'
        'def hidden():\n    """no example"""\n\n'
        "def _private():\n    pass\n",
        encoding="utf-8",
    )
    names = [n.name for n in public_functions(sample) if "CLI Example:" not in (ast.get_docstring(n) or "")]
    assert names == ["hidden"]
