"""The install tools (tools/*.py) run with the machine's python3 as scripts; import them the same way."""

import pytest

from tests.support.paths import REPO


@pytest.fixture(autouse=True)
def _tools_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "tools"))
