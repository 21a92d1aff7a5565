"""What the Given steps establish for a run: LB address, target, expectations, batches, budget."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...config import Settings
from ..contracts import Schedule, Size


@dataclass
class Context:
    settings: Settings = field(default_factory=Settings, repr=False)
    lb: str | None = None
    lb_location: str | None = None
    filters: list[tuple[str, str]] = field(default_factory=list)  # [(compound part, location)]
    prediscover: bool = False
    expect_exact: int | None = None
    expect_min: int | None = None
    batch: Schedule | None = None  # (("n", 1), ("percent", 50)); one size is a schedule of one
    budget: Size | None = None  # ("n", 2) or ("percent", 10): hosts that may fail before the run halts
    pause: int = 0  # seconds between batches
    haproxy: tuple[str, str] | None = None  # (backend, minion id of the balancer running HAProxy)

    def add_filter(self, expr: str, location: str) -> None:
        self.filters.append((expr, location))

    @property
    def compound(self) -> str:
        """All filters AND-ed; multi-word parts get spaced parentheses, as Salt's compound matcher wants."""
        parts = [f"( {expr} )" if " " in expr else expr for expr, _ in self.filters]
        return " and ".join(parts)

    def signature(self) -> tuple[object, ...]:
        return (
            self.lb,
            self.compound,
            self.prediscover,
            self.expect_exact,
            self.expect_min,
            self.batch,
            self.budget,
            self.pause,
            self.haproxy,
        )
