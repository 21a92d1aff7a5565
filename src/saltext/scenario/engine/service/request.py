"""One runner call's arguments, checked once: ``RunRequest`` and who asked (``Caller``).

The runner's public signatures and ``RunRequest`` are the only places the run parameters
are declared; every stage after the runner takes the request. ``RunRequest.from_args``
refuses, with exit 2 and the argument's name, what is refused before a run is recorded:
the timeout (a whole number of seconds in range), the report directory (an absolute path)
and the fileserver environment. The feature name, the batch schedule, the failure budget,
the scenario and the tag expression are checked by the run itself (``parsing/names.py``,
``parsing/sizes.py``, ``running/plan.py``): a run refused for those is still journaled, so
the audit trail shows who tried to deploy what.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ...config_checks import seconds
from ..errors import InvalidScenario
from ..records.report_files import check_report_dir


def _timeout(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        return seconds(value)
    except ValueError as exc:
        raise InvalidScenario(f"timeout={value!r}: {exc}") from None


def _saltenv(value: Any) -> str:
    if isinstance(value, str) and value and not value.startswith("-"):
        return value
    raise InvalidScenario(f"saltenv={value!r}: must be a fileserver environment name like base")


def _flag(value: Any) -> bool:
    """True for True or "true" (any case), as `salt-run ... force=True` may pass either."""
    return value is True or str(value).lower() == "true"


@dataclass(frozen=True)
class RunRequest:
    """What a runner call asks for. ``resumes`` names the run that ``scenario.resume`` continues."""

    # As given where the run checks them (see the module doc): a run refused for them is journaled.
    name: Any
    scenario: Any = None
    tags: Any = None
    test: bool = False
    batch: Any = None  # 2, "25%", "1,10%,50%"
    timeout: int | None = None
    saltenv: str = "base"
    report_dir: str | None = None
    max_failures: Any = None  # 2, "10%"
    resumes: Any = None
    force: bool = False
    # Holds: leave held pinned hosts out of the run instead of refusing it (exit 4).
    exclude_held: bool = False

    @classmethod
    def from_args(
        cls,
        name: Any,
        scenario: Any = None,
        tags: Any = None,
        test: Any = False,
        batch: Any = None,
        timeout: Any = None,
        saltenv: Any = "base",
        report_dir: Any = None,
        max_failures: Any = None,
        resumes: Any = None,
        force: Any = False,
        exclude_held: Any = False,
    ) -> RunRequest:
        """The checked request of a runner's keyword arguments; InvalidScenario (exit 2) names the bad one."""
        return cls(
            name=name,
            scenario=scenario,
            tags=tags,
            test=bool(test),
            batch=batch,
            timeout=_timeout(timeout),
            saltenv=_saltenv(saltenv),
            report_dir=None if report_dir is None else check_report_dir(report_dir),
            max_failures=max_failures,
            resumes=resumes,
            force=_flag(force),
            exclude_held=_flag(exclude_held),
        )

    def resuming(self, name: str, args: Mapping[str, Any]) -> RunRequest:
        """This resume request with the earlier run's feature and its recorded arguments."""
        return replace(
            self, name=name, scenario=args.get("scenario"), tags=args.get("tags"), max_failures=args.get("max_failures")
        )

    def recorded_args(self) -> dict[str, Any]:
        """The arguments the journal keeps with the run (what ``scenario.resume`` reads back)."""
        return {"scenario": self.scenario, "tags": self.tags, "batch": self.batch, "max_failures": self.max_failures}


def _no_progress(line: str) -> None:
    return None


@dataclass(frozen=True)
class Caller:
    """Who runs this call and where its progress lines go (the runner's Salt-facing side)."""

    user: str | None = None
    jid: str | None = None
    progress: Callable[[str], Any] | None = None

    def say(self, line: str) -> None:
        (self.progress or _no_progress)(line)
