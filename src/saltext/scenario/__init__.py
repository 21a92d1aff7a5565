"""saltext-scenario: test-driven deployment for SaltStack.

Where things are:

- ``engine/``: a feature file becomes a run here (``engine/__init__.py`` tells the way).
- ``config.py``: every master option the extension reads, with its default (its value
  checkers in ``config_checks.py``, the webhooks of ``scenario_notify`` in ``config_webhooks.py``).
- ``sandbox/``: the embedded Salt cluster behind ``make demo`` and the tests.
- The Salt-facing modules (``_modules``, ``_states``, ``_runners``, ``_output``) live at
  the repository root, where file_roots/gitfs users sync them from; a pip install maps
  them into this package as ``saltext.scenario._modules`` etc.
"""

import importlib.util
from pathlib import Path

from .version import __version__

__all__ = ["__version__", "loader_dirs", "salt_dirs_root"]

_KINDS = {"modules": "_modules", "states": "_states", "runners": "_runners", "output": "_output"}


def _package_dir(folder: str) -> Path | None:
    # The import system knows where pip put the folder: beside this file in a wheel, the
    # checkout's root folder in an editable install.
    spec = importlib.util.find_spec(f"{__name__}.{folder}")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def loader_dirs() -> dict[str, list[str]]:
    """Entry point for Salt's loader: where our modules, states, runners and outputters live."""
    found = {kind: _package_dir(folder) for kind, folder in _KINDS.items()}
    return {kind: [str(path)] for kind, path in found.items() if path is not None and path.is_dir()}


def salt_dirs_root() -> Path:
    """The folder holding ``_modules/`` and its siblings (the checkout's root in a checkout)."""
    path = _package_dir("_modules")
    if path is None:
        raise RuntimeError("saltext-scenario is not installed: saltext.scenario._modules cannot be found")
    return path.parent
