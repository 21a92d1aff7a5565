"""saltext-scenario: test-driven deployment for SaltStack."""
from pathlib import Path

__version__ = "0.1.0"

_KINDS = {"modules": "_modules", "states": "_states", "runners": "_runners", "output": "_output"}


def _salt_root():
    # A wheel install carries _modules/ etc. beside this file; a checkout or an
    # editable install keeps them at the repository root, two levels up.
    here = Path(__file__).resolve().parent
    for root in (here, here.parent.parent):
        if (root / "_modules").is_dir():
            return root
    raise RuntimeError(f"saltext-scenario: no _modules/ beside {here} or at the checkout root")


def loader_dirs():
    """Entry point for Salt's loader: where our modules, states, runners and outputters live."""
    root = _salt_root()
    return {kind: [str(root / folder)] for kind, folder in _KINDS.items() if (root / folder).is_dir()}
