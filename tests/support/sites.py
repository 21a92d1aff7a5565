"""Feature directories ("sites") for unit tests, made from tests/unit/data/site.

That directory holds copies of the shipped examples (features/update_website.feature,
rolling_update.feature, steps/files.yaml) as they were when these tests were written. The
tests pin their step counts and line numbers, so the shipped examples can change without
breaking a unit test. The shipped step library is still loaded by
tests/unit/engine/steps/test_library.py; the shipped features run in the integration tier.
"""

import shutil
from pathlib import Path

from tests.support.paths import UNIT_DATA

SITE = UNIT_DATA / "site"


def copy_site(root, extra=()):
    """A file root at ``root`` holding the copies in SITE, plus the ``extra`` feature files."""
    shutil.copytree(SITE / "features", root / "features", dirs_exist_ok=True)
    for path in extra:
        shutil.copy(path, root / "features" / Path(path).name)
    return root
