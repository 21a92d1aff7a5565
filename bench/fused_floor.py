"""C2, the true floor: exactly the publishes A makes, from one LocalClient in one process.

Run inside the master's network namespace:
    python bench/fused_floor.py MASTER_CONFIG PUBLISHES_JSON
PUBLISHES_JSON (bench/publishes.py, from the engine's plan):
    {"target", "hosts", "timeout", "discovery_timeout", "gather_job_timeout",
     "publishes": [[{"fun", "publish_fun", "args", "kwargs", "within"}, ...], ...]}

Like A it pings the compound target once, then sends each publish as one compound job
(`fun=[...]`, `arg=[[...], ...]`, keyword arguments as a dict marked `__kwarg__`) to the
pinned list with expect_minions, full_return and A's timeout and gather_job_timeout. It
judges nothing but retcodes; a call with `within` whose hosts failed is retried alone on
them until `within` seconds after its publish started, as A does. Prints one JSON line:
{"ok", "failed", "import_s", "calls_s", "per_call_s": [ping, publish, ...]}; exit 0 when ok.
"""

import json
import sys
import time

T0 = time.perf_counter()
import salt.client  # noqa: E402
import salt.config  # noqa: E402

IMPORTED = time.perf_counter()

from floor_result import finish  # noqa: E402

RETRY_INTERVAL = 1.0  # the engine's (running/calling.py)


def returns(client, job, tgt, fun, arg, tgt_type, timeout):
    """{minion: full return} of one job, every expected minion present (failed when silent)."""
    got = {}
    for item in client.cmd_iter(
        tgt,
        fun,
        arg=arg,
        tgt_type=tgt_type,
        timeout=timeout,
        gather_job_timeout=job["gather_job_timeout"],
        expect_minions=True,
        full_return=True,
    ):
        got.update(item or {})
    return got


def _code(reply, index, fun):
    """The retcode of call `index` (function `fun`) in a host's compound return; None when absent."""
    if not isinstance(reply, dict) or reply.get("failed"):
        return None
    codes = reply.get("retcode")
    key = index if isinstance(codes, list) else fun  # multifunc_ordered keys by position
    try:
        return codes[key]
    except (KeyError, IndexError, TypeError):
        return None  # the function raised on the minion: no retcode for it


def failing_compound(client, job, hosts, publish):
    """[[host, ...] failing each call] of one compound job on `hosts`."""
    funs = [c["publish_fun"] for c in publish]
    args = [[*c["args"], {"__kwarg__": True, **c["kwargs"]}] if c["kwargs"] else list(c["args"]) for c in publish]
    got = returns(client, job, hosts, funs, args, "list", job["timeout"])
    return [[h for h in hosts if _code(got.get(h), i, fun) != 0] for i, fun in enumerate(funs)]


def failing_alone(client, job, hosts, call):
    args = [*call["args"], {"__kwarg__": True, **call["kwargs"]}] if call["kwargs"] else list(call["args"])
    got = returns(client, job, hosts, call["fun"], args, "list", job["timeout"])
    return [h for h in hosts if not isinstance(got.get(h), dict) or got[h].get("failed") or got[h].get("retcode")]


def run_publish(client, job, hosts, publish):
    """None when every host passed every call of the publish, else {"call", "hosts"}."""
    started = time.perf_counter()
    per_call = failing_compound(client, job, hosts, publish)
    for call, failed in zip(publish, per_call, strict=True):
        todo = failed
        deadline = started + (call.get("within") or 0)
        while todo and time.perf_counter() < deadline:  # "pass within N seconds": A retries alone
            time.sleep(min(RETRY_INTERVAL, max(0.0, deadline - time.perf_counter())))
            todo = failing_alone(client, job, todo, call)
        if todo:
            # A halts at the first failed host too (failure budget 0): the later calls do not count.
            return {"call": call["fun"], "hosts": sorted(todo)}
    return None


def main(master_config, publishes_file):
    with open(publishes_file, encoding="utf-8") as fh:
        job = json.load(fh)
    hosts = list(job["hosts"])
    per_call, failed = [], None
    started = time.perf_counter()
    client = salt.client.LocalClient(mopts=salt.config.client_config(master_config))
    try:
        # A's discovery: one compound test.ping of the same target.
        t = time.perf_counter()
        answered = returns(client, job, job["target"], "test.ping", [], "compound", job["discovery_timeout"])
        per_call.append(time.perf_counter() - t)
        alive = sorted(h for h, r in answered.items() if isinstance(r, dict) and r.get("ret") is True)
        if alive != sorted(hosts):
            failed = {"call": "test.ping", "hosts": sorted(set(hosts) - set(alive))}
        for publish in job["publishes"] if failed is None else ():
            t = time.perf_counter()
            failed = run_publish(client, job, hosts, publish)
            per_call.append(time.perf_counter() - t)
            if failed:
                break
    finally:
        client.destroy()
    return finish(failed, IMPORTED - T0, started, per_call)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
