"""What the step reference says about each built-in step: an example line and what it does.

Keyed by the step's pattern, as registered (steps/builtin_steps.py). The reference is built
from the registry (docs/_ext/step_reference.py): the wording, the parameters and their types
come from each StepDef, and the Salt call is the one the engine plans for the example line,
so only what the registry cannot say lives here. `annotate()` copies an entry onto the
registered StepDef's `example` and `doc`. A registered step without an entry is reported by
the unit test of the reference, so a new step cannot go undocumented.
"""

from __future__ import annotations

from .registry import Registry

# A metric step's long query, in the doc string under the example line: the 5xx ratio of the batch's servers.
_SERVERS = 'server=~"{{ haproxy_servers }}"'
_RATIO_DOC = (
    '\n  """\n'
    "  sum(rate(haproxy_server_http_responses_total{" + _SERVERS + ',code="5xx"}[5s]))\n'
    "  /\n"
    "  sum(rate(haproxy_server_http_responses_total{" + _SERVERS + "}[5s]))\n"
    '  """'
)

# pattern -> (example line with its keyword, what it does)
STEP_DOCS: dict[str, tuple[str, str]] = {
    # -- Given: shape the run; no host is asked anything ------------------------------------------
    "the load balancer has ip address[ {ip}]": (
        "Given the load balancer has ip address 198.51.100.10",
        "The load balancer's address, which the `lbgate` steps block and unblock on each host. "
        "Without an address, the master option `scenario_lb_address` gives it.",
    ),
    "I want to update hosts with class {class}": (
        "Given I want to update hosts with class roles::dev_server",
        "Targets hosts by class: `a::b` becomes the grain match `G@a:b` (a Puppet class read as a "
        "Salt grain path). Target steps are AND-ed into one compound expression.",
    ),
    "I want to update hosts with fact {fact}": (
        "Given I want to update hosts with fact country=de",
        "Targets hosts by fact: `k=v` becomes the grain match `G@k:v`.",
    ),
    "I want to update hosts with grain {grain}": (
        "Given I want to update hosts with grain os_family:Debian",
        "Targets hosts by grain (`G@`).",
    ),
    "I want to update hosts with pillar {pillar}": (
        "Given I want to update hosts with pillar web:tier:front",
        "Targets hosts by pillar (`I@`).",
    ),
    'I want to update hosts matching "{compound}"': (
        'Given I want to update hosts matching "G@roles:web and not L@web9"',
        "Targets hosts by a Salt compound expression.",
    ),
    "I want to update hosts in nodegroup {name:nodegroup}": (
        "Given I want to update hosts in nodegroup webservers",
        "Targets the hosts of a master nodegroup (`N@`).",
    ),
    "I want to pre-discover how many hosts to update": (
        "Given I want to pre-discover how many hosts to update",
        "Every host the master knows for the target (its grains cache) must answer discovery; a "
        "known host that is down fails the run before anything changes (exit 3).",
    ),
    "I expect {n} host[s]": (
        "Given I expect 5 hosts",
        "Discovery must find exactly this many hosts, or the run stops before anything changes (exit 3).",
    ),
    "I expect at least {n} host[s]": (
        "Given I expect at least 3 hosts",
        "Discovery must find at least this many hosts (else exit 3).",
    ),
    "I update {n} host[s] at a time": (
        "Given I update 2 hosts at a time",
        "Rolling batches of this many hosts: each batch is blocked, updated, verified and "
        "unblocked before the next is touched.",
    ),
    "I update {percent}% of the hosts at a time": (
        "Given I update 25% of the hosts at a time",
        "Rolling batches of this share of the pinned hosts.",
    ),
    "I update hosts in batches of {schedule}": (
        "Given I update hosts in batches of 1, 10%, 50%",
        "A batch schedule (a canary first, then larger batches); the last size repeats.",
    ),
    "I pause {n} second[s] between batches": (
        "Given I pause 30 seconds between batches",
        "Waits this long after each batch but the last.",
    ),
    "up to {n} host[s] may fail": (
        "Given up to 2 hosts may fail",
        "The failure budget: a host that fails leaves the run and stays as it is; the run goes on "
        "while the failed hosts are within the budget (exit 5) and halts at one more (exit 1).",
    ),
    "up to {percent}% of the hosts may fail": (
        "Given up to 10% of the hosts may fail",
        "The failure budget as a share of the pinned hosts, rounded down.",
    ),
    "the load balancer is HAProxy backend {backend:haproxy_name} on {minion:minion}": (
        "Given the load balancer is HAProxy backend web_servers on lb1",
        "The load balancer steps act on that minion's HAProxy (its admin socket) instead of each host's firewall.",
    ),
    # -- When: act on the hosts of the batch ------------------------------------------------------
    "I block the load balancer": (
        "When I block the load balancer",
        "Each host drops traffic from the load balancer's address (its firewall).",
    ),
    "I unblock the load balancer": (
        "When I unblock the load balancer",
        "Each host lets the load balancer's traffic in again.",
    ),
    "I drain the load balancer[ within {n} seconds]": (
        "When I drain the load balancer within 60 seconds",
        "Each host refuses new connections from the load balancer and waits (default 30 s) for the "
        "established ones to end.",
    ),
    "I drain the hosts in the load balancer[ within {n} seconds]": (
        "When I drain the hosts in the load balancer within 60 seconds",
        "On the HAProxy minion: the batch's servers go to `drain`, then, when their sessions reach "
        "0 (default wait 30 s), to `maint`.",
    ),
    "I return the hosts to the load balancer": (
        "When I return the hosts to the load balancer",
        "On the HAProxy minion: the batch's servers go back to `ready`.",
    ),
    "I update the package {package}[ to version {version}]": (
        "When I update the package mywebapp to version 4.2.6-3",
        "Installs that version (without one, the newest the host's sources offer); the version it "
        "replaced is recorded for a rollback.",
    ),
    "I restart the service {service}": (
        "When I restart the service mywebapp",
        "Restarts the service; it must report success.",
    ),
    "I roll back the package {package}": (
        "When I roll back the package mywebapp",
        "Installs, per host, the version this run's update replaced (in an `@on-failure` scenario). "
        "The version is filled in per host when the step runs.",
    ),
    "I apply the state {sls}": (
        "When I apply the state mywebapp",
        "Applies the SLS; every state result must be True.",
    ),
    "I apply the state {sls} with pillar {key:pillar_key}={value:pillar_value}": (
        "When I apply the state mywebapp with pillar mywebapp:version=4.2.6-3",
        "Applies the SLS with that pillar value (`a:b` is a nested key); every state result must be True.",
    ),
    "I apply the highstate": (
        "When I apply the highstate",
        "Applies the highstate; every state result must be True.",
    ),
    # -- Then: verify on every host of the batch --------------------------------------------------
    "traffic from the load balancer should be blocked": (
        "Then traffic from the load balancer should be blocked",
        "Each host's firewall must drop the load balancer's traffic.",
    ),
    "traffic from the load balancer should be unblocked": (
        "Then traffic from the load balancer should be unblocked",
        "Each host's firewall must let the load balancer's traffic in.",
    ),
    "the load balancer should have no connections": (
        "Then the load balancer should have no connections",
        "No connection from the load balancer's address may be open on the host.",
    ),
    "the load balancer should report the hosts as up[ within {n} seconds]": (
        "Then the load balancer should report the hosts as up within 30 seconds",
        "HAProxy must report the batch's servers UP; with `within`, retried until then.",
    ),
    "the package version for {package} should be {version}": (
        "Then the package version for mywebapp should be 4.2.6-3",
        "The installed version must be exactly this one.",
    ),
    "the service {service} should be running": (
        "Then the service mywebapp should be running",
        "The service must be running.",
    ),
    "the NRPE check {check} should pass[ within {n} seconds]": (
        "Then the NRPE check check_web should pass within 10 seconds",
        "Runs the check the way Nagios defines it in the host's NRPE configuration; it must return "
        "OK. With `within`, retried until then.",
    ),
    "the state {sls} should be in place": (
        "Then the state mywebapp should be in place",
        "A test run of the SLS (`test=True`) must find nothing to change.",
    ),
    "the state {sls} should be in place with pillar {key:pillar_key}={value:pillar_value}": (
        "Then the state mywebapp should be in place with pillar mywebapp:version=4.2.6-3",
        "A test run of the SLS with that pillar value must find nothing to change.",
    ),
    "I wait for approval[ within {n} minutes]": (
        "Then I wait for approval within 30 minutes",
        "An approval gate: fires `saltext/scenario/<run_id>/approval/wanted` and waits (default "
        "60 minutes) for `salt-run scenario.approve RUN_ID` or `scenario.abort RUN_ID`. No host is asked.",
    ),
    "I wait for approval within {n} minute": (
        "Then I wait for approval within 1 minute",
        "The approval gate, with one minute to answer.",
    ),
    "I wait for approval within {n} seconds": (
        "Then I wait for approval within 90 seconds",
        "The approval gate, its wait in seconds.",
    ),
    # -- Then, master-side: a metric gate asks Prometheus once per batch (docs/metric-gates.md) ---
    'the metric "{query:promql}" should be {comparison} {threshold:number}': (
        "Then the metric \"sum(up{job='web'})\" should be at least 3",
        "A metric gate, checked once: the master sends the PromQL instant query (a template of the "
        "batch's `{{ hosts }}`, `{{ addresses }}`, `{{ haproxy_servers }}`) to "
        "`scenario_prometheus_url` and compares the one number it returns (`below`, `above`, "
        "`at most`, `at least`). The verdict covers every host of the batch; an empty result, NaN or "
        "an unreachable Prometheus is inconclusive, never a pass.",
    ),
    (
        'the metric "{query:promql}" should stay {comparison} {threshold:number} for {duration:duration}'
        "[, checked every {interval:duration}][, allowing {failures:failure_count}]"
    ): (
        'Then the metric "max(haproxy_server_current_queue)" should stay below 10 for 20 seconds, '
        "checked every 2 seconds, allowing 1 failure",
        "A metric gate over time: a check every interval (default 5 s) for the duration; the gate "
        "fails at the K+1st failed check, or after 2 inconclusive checks in a row, and passes only "
        "when the schedule ends on a conclusive check. `@metrics-dry-run` records and never fails.",
    ),
    "the metric should be {comparison} {threshold:number}": (
        "Then the metric should be below 0.05" + _RATIO_DOC,
        "The once-gate with its query in a doc string, for long queries.",
    ),
    (
        "the metric should stay {comparison} {threshold:number} for {duration:duration}"
        "[, checked every {interval:duration}][, allowing {failures:failure_count}]"
    ): (
        "Then the metric should stay below 0.05 for 20 seconds, checked every 2 seconds" + _RATIO_DOC,
        "The gate over time with its query in a doc string: here the 5xx ratio of the batch's HAProxy servers.",
    ),
}


def annotate(registry: Registry) -> Registry:
    """Copy each entry's example and text onto the registered step with that pattern."""
    for stepdef in registry.all():
        entry = STEP_DOCS.get(stepdef.pattern)
        if entry is not None:
            stepdef.example, stepdef.doc = entry
    return registry
