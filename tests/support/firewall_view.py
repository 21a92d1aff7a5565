"""
Read a network namespace's firewall the way an operator would, independently of
the lbgate module, so tests check the module against the tools' own output.
"""

import re
import subprocess


def run_in(ns, *argv, check=True):
    """Run argv inside network namespace ns; return the CompletedProcess."""
    return subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True, check=check)


def rule_lines(ns, backend, version, chain="SCENARIO-LB", table="scenario_lb", flavour=""):
    """
    The module's rules as the tools print them: `-A CHAIN ...` lines or nft `saddr`
    lines. flavour "-legacy" reads the legacy iptables instead of the default one.
    """
    if backend == "iptables":
        tool = ("iptables" if version == 4 else "ip6tables") + flavour
        out = run_in(ns, tool, "-w", "5", "-S").stdout
        return [line for line in out.splitlines() if line.startswith(f"-A {chain} ")]
    listing = run_in(ns, "nft", "list", "table", "inet", table, check=False)
    if listing.returncode != 0:
        return []
    family = "ip" if version == 4 else "ip6"
    return [line.strip() for line in listing.stdout.splitlines() if re.match(rf"\s*{family} saddr ", line)]


def full_ruleset(ns):
    """Everything in the namespace's firewall (nft and the iptables view of it), minus timestamps."""
    parts = [run_in(ns, "nft", "list", "ruleset").stdout]
    for tool in ("iptables-save", "ip6tables-save"):
        out = run_in(ns, tool, check=False).stdout
        parts.append("\n".join(line for line in out.splitlines() if not line.startswith("#")))
    return "\n----\n".join(parts)
