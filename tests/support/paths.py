"""Where things are: the repository root, found once here instead of by counting parents in every test."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TESTS = REPO / "tests"
# Feature files and step libraries the unit tests parse and run.
UNIT_DATA = TESTS / "unit" / "data"
