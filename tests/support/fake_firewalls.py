"""
Fake firewalls for unit tests of _modules/lbgate.py: stand-ins for
__salt__["cmd.run_all"] that record every call and keep just enough state to answer
`iptables -S` and `nft -j list ruleset inet` the way the real tools do.
"""

import json
import shlex


def _ok(stdout=""):
    return {"retcode": 0, "stdout": stdout, "stderr": ""}


def _fail(stderr, retcode=1):
    return {"retcode": retcode, "stdout": "", "stderr": stderr}


class Recording:
    """Base: records (argv, kwargs) of every call in .calls."""

    def __init__(self):
        self.calls = []

    def __call__(self, argv, **kwargs):
        self.calls.append((argv, kwargs))
        return self.answer(argv, kwargs)

    @property
    def argvs(self):
        return [argv for argv, _ in self.calls]

    def answer(self, argv, kwargs):
        raise NotImplementedError


class FakeIptables(Recording):
    """iptables and ip6tables filter tables: chains of rule specs (token lists)."""

    def __init__(self):
        super().__init__()
        self.tables = {tool: {"INPUT": [], "FORWARD": [], "OUTPUT": []} for tool in ("iptables", "ip6tables")}

    def answer(self, argv, kwargs):
        tool, rest = argv[0], argv[3:]  # argv[1:3] is the lock wait: -w 5
        chains = self.tables[tool]
        op, chain, spec = rest[0], (rest[1] if len(rest) > 1 else None), rest[2:]
        if op == "-S":
            lines = [f"-P {name} ACCEPT" for name in ("INPUT", "FORWARD", "OUTPUT")]
            lines += [f"-N {name}" for name in chains if name not in ("INPUT", "FORWARD", "OUTPUT")]
            lines += [f"-A {name} {shlex.join(rule)}" for name, rules in chains.items() for rule in rules]
            return _ok("\n".join(lines))
        if op == "-N":
            if chain in chains:
                return _fail("iptables: Chain already exists.")
            chains[chain] = []
            return _ok()
        if chain not in chains:
            return _fail("iptables: No chain/target/match by that name.")
        if op == "-A":
            chains[chain].append(self._as_printed(tool, spec))
        elif op == "-I":
            chains[chain].insert(int(spec[0]) - 1, self._as_printed(tool, spec[1:]))
        elif op == "-D":
            wanted = self._as_printed(tool, spec)
            if wanted not in chains[chain]:
                return _fail("iptables: Bad rule (does a matching rule exist in that chain?).")
            chains[chain].remove(wanted)
        else:
            return _fail(f"fake iptables: unknown option {op}", 2)
        return _ok()

    @staticmethod
    def _as_printed(tool, spec):
        # iptables -S shows the default --reject-with that REJECT was given.
        spec = list(spec)
        if spec[-2:] == ["-j", "REJECT"]:
            spec += ["--reject-with", "icmp-port-unreachable" if tool == "iptables" else "icmp6-port-unreachable"]
        return spec


class FakeNft(Recording):
    """The inet family of an nft ruleset, in its JSON form."""

    def __init__(self):
        super().__init__()
        self.items = []
        self.handle = 0

    def answer(self, argv, kwargs):
        if argv == ["nft", "-j", "list", "ruleset", "inet"]:
            return _ok(json.dumps({"nftables": [{"metainfo": {"json_schema_version": 1}}, *self.items]}))
        if argv == ["nft", "-j", "-f", "-"]:
            for command in json.loads(kwargs["stdin"])["nftables"]:
                ((verb, body),) = command.items()
                ((kind, obj),) = body.items()
                if verb == "add":
                    self.handle += 1
                    self.items.append({kind: {**obj, "handle": self.handle}})
                elif verb == "delete" and kind == "rule":
                    self.items = [item for item in self.items if item.get("rule", {}).get("handle") != obj["handle"]]
            return _ok()
        return _fail(f"fake nft: unexpected {argv}")


class FailingCommand(Recording):
    """Every command fails with the given stderr."""

    def __init__(self, stderr):
        super().__init__()
        self.stderr = stderr

    def answer(self, argv, kwargs):
        return _fail(self.stderr, 4)
