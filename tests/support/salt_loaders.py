"""
Minimal minion opts and Salt loaders that load this repository's _modules/_states.

Shared by tests/functional/conftest.py (in-process loaders) and netns_minion.py (loaders
inside a network namespace), so both see exactly the same minion.
"""

import pathlib

import salt.config
import salt.utils.yaml
from saltfactories.utils.functional import Loaders

from tests.support.paths import REPO


def minion_opts(root_dir, config=None):
    """
    Opts of a masterless minion rooted in ``root_dir`` (every path salt writes is
    re-rooted under it), loading the repository's _modules/ and _states/.
    ``config`` adds or overrides minion config keys, e.g. ``{"lbgate.backend": "nftables"}``.
    """
    root = pathlib.Path(root_dir)
    for sub in ("conf", "srv/salt", "srv/pillar"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    settings = {
        "id": "functional",
        "root_dir": str(root),
        "file_client": "local",
        "master_type": "disable",
        "file_roots": {"base": [str(root / "srv/salt")]},
        "pillar_roots": {"base": [str(root / "srv/pillar")]},
        # Not the repo root itself: the execution-module loader also scans each
        # module_dirs entry as a module folder, and would try to import setup.py.
        "module_dirs": [str(REPO / "_modules")],
        "states_dirs": [str(REPO / "_states")],
        "log_level": "error",
    }
    settings.update(config or {})
    conf_file = root / "conf" / "minion"
    conf_file.write_text(salt.utils.yaml.safe_dump(settings), encoding="utf-8")
    return salt.config.minion_config(str(conf_file), minion_id=settings["id"])


def make_loaders(root_dir, config=None):
    """saltfactories Loaders (``.modules``, ``.states``, ``.context``) over minion_opts."""
    return Loaders(minion_opts(root_dir, config))
