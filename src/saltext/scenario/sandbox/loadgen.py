"""A bounded stream of HTTP requests: `scenario-sandbox load` runs this inside the client namespace.

Standalone (stdlib only), because it runs as a script in the client's network namespace:
    python -I loadgen.py --target 198.51.100.10 --port 80 --rate 20 --seconds 60 [--timeout 30] [--slow-every K]
It sends GET / at a steady rate (one request every 1/rate seconds, each on a new connection,
HTTP/1.0), never more than rate x seconds requests, waits at most --timeout seconds for each
answer, and prints one JSON summary: sent, ok (answered 200), failed, the failures by kind,
the bodies seen with their counts (the web hosts answer "mywebapp <version>") and the
latency of the answered ones (median, 99th percentile, maximum). It stops
by itself: the last request is sent after --seconds, the last answer awaited --timeout later.
"""

import argparse
import json
import signal
import socket
import sys
import threading
import time
from pathlib import Path

SCRIPT = Path(__file__)
MAX_RATE = 1000
MAX_SECONDS = 3600
MAX_TIMEOUT = 120


def _one(target, port, timeout, path="/"):
    """("ok", body) or (failure kind, detail) for one GET path."""
    family = socket.AF_INET6 if ":" in target else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect((target, port))
            request = f"GET {path} HTTP/1.0\r\nHost: {target}\r\nUser-Agent: scenario-sandbox-load\r\n\r\n"
            sock.sendall(request.encode())
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
    except TimeoutError:
        return "timeout", None
    except OSError as exc:
        return type(exc).__name__, None
    head, _, body = data.partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1:2]
    if status != [b"200"]:
        return f"status {status[0].decode(errors='replace') if status else 'none'}", None
    return "ok", body.decode(errors="replace").strip()


def generate(
    target, port, rate, seconds, timeout, slow_every=0, clock=time.monotonic, sleep=time.sleep, stopped=lambda: False
):
    """Send rate x seconds requests at a steady rate; return the summary dict.

    With ``slow_every`` K, every K-th request asks for GET /slow (the sandbox's web service
    answers it after 2 s), so some requests are always in flight. Once ``stopped()`` (SIGTERM),
    no more are sent: the ones in flight are awaited and the summary counts what was sent.
    """
    total = int(rate * seconds)
    results, lock, threads = [], threading.Lock(), []

    def worker(path):
        began = clock()
        kind, body = _one(target, port, timeout, path)
        with lock:
            results.append((kind, body, clock() - began))

    started = clock()
    for index in range(total):
        due = started + index / rate
        delay = due - clock()
        if delay > 0:
            sleep(delay)
        if stopped():
            total = index
            break
        path = "/slow" if slow_every and index % slow_every == slow_every - 1 else "/"
        thread = threading.Thread(target=worker, args=(path,), daemon=True)
        thread.start()
        threads.append(thread)
    deadline = clock() + timeout + 1
    for thread in threads:
        thread.join(max(0.0, deadline - clock()))
    with lock:
        done = list(results)
    failures, versions = {}, {}
    latencies = sorted(took for kind, _body, took in done if kind == "ok")
    for kind, body, _took in done:
        if kind == "ok":
            versions[body] = versions.get(body, 0) + 1
        else:
            failures[kind] = failures.get(kind, 0) + 1
    unanswered = total - len(done)
    if unanswered:
        failures["unanswered"] = unanswered
    ok = sum(versions.values())
    return {
        "target": f"{target}:{port}",
        "rate": rate,
        "seconds": seconds,
        "slow_every": slow_every,
        "sent": total,
        "ok": ok,
        "failed": total - ok,
        "failures": failures,
        "versions": versions,
        "latency": _percentiles(latencies),
        "duration": round(clock() - started, 3),
    }


def _percentiles(values):
    """Seconds per answered request: median, 99th percentile and maximum (None when none)."""
    if not values:
        return None

    def at(fraction):
        return round(values[min(len(values) - 1, int(fraction * len(values)))], 3)

    return {"p50": at(0.5), "p99": at(0.99), "max": round(values[-1], 3)}


def argv(target, port, rate, seconds, timeout, slow_every=0, python=sys.executable):
    """The command line that runs this script with those bounds."""
    return [
        python,
        "-I",
        str(SCRIPT),
        "--target",
        target,
        "--port",
        str(port),
        "--rate",
        str(rate),
        "--seconds",
        str(seconds),
        "--timeout",
        str(timeout),
        "--slow-every",
        str(slow_every),
    ]


def check_bounds(rate, seconds, timeout, slow_every=0):
    """The message for out-of-bounds values, or None."""
    if not isinstance(slow_every, int) or slow_every < 0:
        return f"--slow-every must be 0 (none) or a positive count, not {slow_every}"
    if not 0 < rate <= MAX_RATE:
        return f"--rate must be more than 0 and at most {MAX_RATE} requests per second, not {rate}"
    if not 0 < seconds <= MAX_SECONDS:
        return f"--seconds must be more than 0 and at most {MAX_SECONDS}, not {seconds}"
    if not 0 < timeout <= MAX_TIMEOUT:
        return f"--timeout must be more than 0 and at most {MAX_TIMEOUT} seconds, not {timeout}"
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", required=True)
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--timeout", type=float, default=30)
    parser.add_argument("--slow-every", type=int, default=0)
    args = parser.parse_args()
    problem = check_bounds(args.rate, args.seconds, args.timeout, args.slow_every)
    if problem:
        parser.error(problem)
    # SIGTERM ends the stream early (a test stops it when its run is over) and still prints the summary.
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    summary = generate(
        args.target, args.port, args.rate, args.seconds, args.timeout, args.slow_every, stopped=stop.is_set
    )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
