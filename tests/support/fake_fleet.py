"""The fake fleet lives in saltext.scenario.testing, so the benchmarks can import it too."""

from saltext.scenario.testing.fake_fleet import FakeFleet, FakeHost, default_fleet

__all__ = ["FakeFleet", "FakeHost", "default_fleet"]
