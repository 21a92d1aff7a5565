"""Every package under src/ is in pyproject.toml's `packages` list.

The list is explicit (the Salt-facing folders at the root are mapped into the package), so a
new sub-package that is not listed is missing from the wheel: the runner then fails to load
on a pip-installed master while every checkout-based test passes.
"""

import tomllib

from tests.support.paths import REPO


def test_every_package_under_src_is_listed_in_pyproject():
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(init.parent.relative_to(REPO / "src").parts) for init in (REPO / "src").rglob("__init__.py")}
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
