"""The held hosts of one run, read from its return, as every report and the terminal say them.

Three kinds, each a key of the return (records/result.py's, completed by service/run.py):

- ``holds``: the hosts this run leaves held: a failed or interrupted run kept them out of the
  balancer, and no other run may touch them until this one is resumed and passes or
  ``scenario.release`` clears them.
- ``held``: pinned hosts that ``exclude_held=True`` left out, held by other runs.
- ``held_by``: the holds that refused this run (exit 4): host, holding run, feature, master.

The reports, the journal and the events are all built from that one return, so the held hosts
are read from it here, never asked of the fleet store a second time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class HeldHosts:
    holding: list[str]  # this run leaves them held
    left_out: list[str]  # exclude_held left them out: held by other runs
    refused_by: list[dict[str, Any]]  # the holds that refused the run (exit 4)

    def __bool__(self) -> bool:
        return bool(self.holding or self.left_out or self.refused_by)

    def refused_hosts(self) -> list[str]:
        return sorted({str(h.get("host")) for h in self.refused_by})

    def lines(self, run_id: object = None) -> list[str]:
        """One sentence per kind, for a human: which hosts, and why they are held."""
        out = []
        if self.holding:
            way = f"salt-run scenario.resume {run_id} passes or " if run_id else ""
            out.append(
                f"Held by this run, out of the balancer ({len(self.holding)}): {', '.join(self.holding)}"
                f" (until {way}salt-run scenario.release clears them)"
            )
        if self.left_out:
            out.append(f"Held by other runs, left out ({len(self.left_out)}): {', '.join(self.left_out)}")
        if self.refused_by:
            holders = "; ".join(
                f"{h.get('host')} held by run {h.get('run_id')} "
                f"(feature {h.get('feature')!r}, master {h.get('master')})"
                for h in sorted(self.refused_by, key=lambda h: str(h.get("host")))
            )
            out.append(f"Refused, held by other runs ({len(self.refused_by)}): {holders}")
        return out


def _hosts(value: object) -> list[str]:
    """Host names from a list of names (a return, a journal record) or of hold rows ({"host": ...})."""
    if not isinstance(value, (list, tuple)):
        return []
    return sorted({str(h.get("host")) if isinstance(h, Mapping) else str(h) for h in value})


def held_hosts(ret: Mapping[str, Any]) -> HeldHosts:
    """The held hosts of the return (or of a journal record, which keeps the same keys)."""
    refused = ret.get("held_by")
    return HeldHosts(
        holding=_hosts(ret.get("holds")),
        left_out=_hosts(ret.get("held")),
        refused_by=[dict(h) for h in refused if isinstance(h, Mapping)] if isinstance(refused, list) else [],
    )
