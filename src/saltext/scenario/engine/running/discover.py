"""Discovery, once per run: who answers for the target, checked against what the master knows."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from ..contracts import HostFinder
from ..errors import DiscoveryError
from .context import Context

log = logging.getLogger(__name__)


@dataclass
class Discovery:
    target: str
    pinned: list[str]
    expected: list[str]
    missing: list[str] = field(default_factory=list)  # known to the master for the target, did not answer
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, str | list[str]]:
        return {
            "target": self.target,
            "pinned": self.pinned,
            "expected": self.expected,
            "missing": self.missing,
            "warnings": self.warnings,
        }


def discover(transport: HostFinder, context: Context) -> Discovery:
    target = context.compound
    expected = sorted(set(transport.expected(target)))
    pinned = sorted(set(transport.ping(target)))
    missing = sorted(set(expected) - set(pinned))
    found = Discovery(target=target, pinned=pinned, expected=expected, missing=missing)
    if missing and context.prediscover:
        raise DiscoveryError(
            f"pre-discovery: {len(missing)} known host(s) for {target!r} did not answer: "
            f"{', '.join(missing)}; nothing was changed"
        )
    if missing:
        found.warnings.append(f"left out, not answering: {', '.join(missing)}")
        log.warning("scenario target %r: left out, not answering: %s", target, ", ".join(missing))
    if not pinned:
        raise DiscoveryError(f"no host answered for target {target!r}; nothing was changed")
    if context.expect_exact is not None and len(pinned) != context.expect_exact:
        raise DiscoveryError(
            f"expected {context.expect_exact} hosts for {target!r}, found {len(pinned)}: {', '.join(pinned)}"
        )
    if context.expect_min is not None and len(pinned) < context.expect_min:
        raise DiscoveryError(
            f"expected at least {context.expect_min} hosts for {target!r}, found {len(pinned)}: {', '.join(pinned)}"
        )
    log.info("scenario target %r pinned to: %s", target, ", ".join(pinned))
    return found
