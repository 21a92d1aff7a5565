"""A listener on a sandbox master's event bus, for tests that check what a run announces."""

import json
import sys

# Prints "ready" once subscribed, then the master bus's saltext/scenario/* and scenario/request
# events as JSON lines with the time seen. It stops `grace` seconds after every "SUFFIX=COUNT" wait
# is met, or at `limit`: waiting for all expected events, not for a fixed time after the first,
# keeps a slow CI box from cutting the record short.
_LISTEN = """
import json, sys, time
import salt.config, salt.utils.event
conf, grace, limit = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
want = {s: int(n) for s, n in (a.rsplit("=", 1) for a in sys.argv[4:])}
opts = salt.config.master_config(conf)
event = salt.utils.event.get_master_event(opts, opts["sock_dir"], listen=True)
event.connect_pub()
print("ready", flush=True)
seen, stop = dict.fromkeys(want, 0), time.time() + limit
while time.time() < stop:
    got = event.get_event(wait=0.5, full=True)
    if not got or not got["tag"].startswith(("saltext/scenario/", "scenario/request")):
        continue
    print(json.dumps({"tag": got["tag"], "data": got["data"], "at": time.time()}, default=str), flush=True)
    for suffix in want:
        seen[suffix] += got["tag"].endswith(suffix)
    if all(seen[s] >= want[s] for s in want):
        stop = min(stop, time.time() + grace)
"""


class Bus:
    """Listens on the master bus until `want` ({tag suffix: count}) has been seen, then `grace` more.

    Start it before the run: it returns once subscribed, so no event of the run is missed.
    """

    def __init__(self, sb, want, grace=3.0, limit=90.0):
        conf = str(sb.master_conf_dir / "master")
        waits = [f"{suffix}={count}" for suffix, count in want.items()]
        self.proc = sb.popen_in_master([sys.executable, "-c", _LISTEN, conf, str(grace), str(limit), *waits])
        assert self.proc.stdout.readline().strip() == "ready", self.proc.stderr.read()

    def events(self, timeout=200):
        out, err = self.proc.communicate(timeout=timeout)
        assert self.proc.returncode == 0, err[-2000:]
        return [json.loads(line) for line in out.splitlines() if line.startswith("{")]
