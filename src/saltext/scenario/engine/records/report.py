"""Reporters listening to execution events: the result collector and the live progress lines.

Every listener is a callable taking each event; the journal's RunRecorder is one too.
"""

from ..contracts import Event, RunReturn

MARKS = {"passed": "\u2714", "failed": "\u2718", "skipped": "-"}


def _plural(n, word):
    return f"{n} {word}{'' if n == 1 else 's'}"


def _counts(statuses):
    order = ("passed", "failed", "skipped")
    parts = [f"{statuses.count(s)} {s}" for s in order if statuses.count(s)]
    return f" ({', '.join(parts)})" if parts else ""


def summary_line(scenario_statuses, step_statuses, hosts, duration):
    return (
        f"{_plural(len(scenario_statuses), 'scenario')}{_counts(scenario_statuses)}, "
        f"{_plural(len(step_statuses), 'step')}{_counts(step_statuses)}, "
        f"{_plural(hosts, 'host')}, {duration:.1f}s"
    )


class ResultCollector:
    """Builds the runner's structured return from the events of one run."""

    def __init__(self, plan):
        self.plan = plan
        self.started = None
        self.finished = None
        self.batch_skipped = []
        self.host_status = {}  # (scenario, step) -> {host: {...}}
        self.step_meta = {}  # (scenario, step) -> {"duration", "jids"}

    def __call__(self, event: Event) -> None:
        kind = event["event"]
        if kind == "run_started":
            self.started = event
        elif kind == "run_finished":
            self.finished = event
        elif kind == "batch_skipped":
            self.batch_skipped.extend(event["hosts"])
        elif kind == "step_finished":
            key = (event["scenario"], event["step"])
            hosts = self.host_status.setdefault(key, {})
            meta = self.step_meta.setdefault(key, {"duration": 0.0, "jids": [], "ran": False})
            meta["duration"] += event["duration"]
            meta["jids"].extend(event["jids"])
            meta["ran"] = meta["ran"] or event["status"] != "skipped"
            for host in event["hosts_in_batch"]:
                res = event["results"].get(host)
                if res is None:
                    hosts[host] = {"status": event["status"]}
                else:
                    hosts[host] = {
                        "status": "passed" if res["ok"] else "failed",
                        "reason": res["reason"],
                        "ret": res["ret"],
                    }

    def _step(self, key, pstep, pinned):
        hosts = self.host_status.get(key, {})
        meta = self.step_meta.get(key, {"duration": 0.0, "jids": [], "ran": False})
        if pstep.context_only:
            per_host = {}
            status = "passed" if meta["ran"] else "skipped"
        else:
            per_host = {h: hosts.get(h, {"status": "skipped"}) for h in pinned}
            statuses = [v["status"] for v in per_host.values()]
            if "failed" in statuses:
                status = "failed"
            elif statuses and all(s == "passed" for s in statuses):
                status = "passed"
            else:
                status = "skipped"
        return {
            "keyword": pstep.step.keyword,
            "text": pstep.step.text,
            "location": pstep.step.location,
            "status": status,
            "duration": round(meta["duration"], 3),
            "jids": meta["jids"],
            "call": pstep.call.as_dict() if pstep.call else None,
            "hosts": per_host,
        }

    def result(self) -> RunReturn:
        pinned = self.started["pinned"] if self.started else []
        scenarios, step_statuses, failed_hosts = [], [], {}
        for s_index, ps in enumerate(self.plan.scenarios):
            steps = [self._step((s_index, i), st, pinned) for i, st in enumerate(ps.steps)]
            statuses = [s["status"] for s in steps]
            step_statuses.extend(statuses)
            status = (
                "failed" if "failed" in statuses else "passed" if all(s == "passed" for s in statuses) else "skipped"
            )
            scenarios.append(
                {
                    "name": ps.scenario.name,
                    "location": ps.scenario.location,
                    "tags": list(ps.scenario.tags),
                    "status": status,
                    "steps": steps,
                }
            )
            for step in steps:
                for host, res in step["hosts"].items():
                    if res["status"] == "failed" and host not in failed_hosts:
                        failed_hosts[host] = {
                            "step": f"{step['keyword']} {step['text']}",
                            "location": step["location"],
                            "reason": res.get("reason"),
                        }
        finished = self.finished or {}
        retcode = finished.get("retcode", 1)
        duration = finished.get("duration", 0.0)
        return {
            "retcode": retcode,
            "result": "passed" if retcode == 0 else "failed",
            "name": self.plan.name,
            "feature": self.plan.feature.name,
            "uri": self.plan.feature.uri,
            "run_id": self.started["run_id"] if self.started else None,
            "target": self.plan.target,
            "pinned": pinned,
            "batches": self.started["batches"] if self.started else [],
            "scenarios": scenarios,
            "failed_hosts": failed_hosts,
            "still_blocked": finished.get("still_blocked", []),
            "not_started": sorted(self.batch_skipped),
            "duration": duration,
            "warnings": list(self.plan.warnings),
            "summary": summary_line([s["status"] for s in scenarios], step_statuses, len(pinned), duration),
        }


def progress_line(event, batches=None):
    """One line per finished step, or per batch that will not start."""
    if event["event"] == "batch_skipped":
        return f"- batch {event['batch'] + 1}: not started ({', '.join(event['hosts'])})"
    if event["event"] != "step_finished":
        return None
    prefix = ""
    if batches and len(batches) > 1:
        prefix = f"[batch {event['batch'] + 1}/{len(batches)}] "
    head = f"{prefix}{MARKS[event['status']]} {event['keyword']} {event['text']}  # {event['location']}"
    if event["status"] == "skipped" or event["call"] is None:
        return head if event["status"] != "skipped" else f"{head}  skipped"
    tail = f"{len(event['passed'])} passed, {len(event['failed'])} failed, {event['duration']:.2f}s"
    if event["failed"]:
        reasons = "; ".join(f"{h}: {event['results'][h]['reason']}" for h in event["failed"])
        tail += f" ({reasons})"
    return f"{head}  {tail}"


class ProgressReporter:
    """Calls `write(line)` for every finished step, as it finishes."""

    def __init__(self, write):
        self.write = write
        self.batches = None

    def __call__(self, event):
        if event["event"] == "run_started":
            self.batches = event["batches"]
            self.write(f"pinned {len(event['pinned'])} host(s) for {event['target']}: {', '.join(event['pinned'])}")
            return
        line = progress_line(event, self.batches)
        if line:
            self.write(line)


class BusReporter:
    """Puts start, every step and the end onto the master event bus under our own tag prefix."""

    TAG_PREFIX = "saltext/scenario"

    def __init__(self, fire, name):
        self.fire = fire
        self.name = name

    def __call__(self, event):
        kind = event["event"]
        if kind not in ("run_started", "step_finished", "run_finished", "batch_skipped"):
            return
        data = {k: v for k, v in event.items() if k != "results"}
        if kind == "step_finished":
            # Per-host verdicts without full returns keep events small.
            data["hosts"] = {h: {"ok": r["ok"], "reason": r["reason"]} for h, r in event["results"].items()}
        data["name"] = self.name
        self.fire(data, f"{self.TAG_PREFIX}/{event['run_id']}/{kind.replace('_', '/')}")
