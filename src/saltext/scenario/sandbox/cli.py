"""scenario-sandbox: stand up, use and remove an embedded Salt cluster (see --help)."""

import argparse
import json
import os
import sys

from .cluster import Sandbox
from .errors import SandboxError

USAGE = "scenario-sandbox [--name NAME] [--master N] COMMAND [ARGS...]"

DESCRIPTION = """\
A real Salt cluster on this machine, in network and mount namespaces of its own:
a salt-master, one salt-minion per host of the spec (each with private dpkg/apt state,
/opt, nrpe.cfg and a small web service on port 80), and a load-balancer namespace.
Addresses come from 198.51.100.0/24; nothing is routed to the real network. Needs root.

commands:
  up [--spec FILE] [--file-root DIR ...]   build and start the cluster (default spec: web1-4, db1)
  status [--json]                          what runs; exit 0 when everything is up, 1 otherwise
  down                                     remove everything (idempotent)
  salt ARGS...                             salt on the sandbox master (--master N: on master N)
  salt-run ARGS...                         salt-run on the sandbox master (--master N: on master N)
  salt-call HOST ARGS...                   salt-call on HOST, inside its namespaces
  probe HOST [--ipv6]                      TCP from the LB to HOST's web port:
                                           prints reachable (exit 0) or blocked (exit 1)
  stop HOST | start HOST                   stop/start HOST's salt-minion only; a service's name
                                           (etcd) stops/starts that service
  restart-master                           stop the salt-master (--master N: master N) and start it
                                           again (same config, keys, cache); waits until every
                                           running minion answers
  load --rate R --seconds S [--timeout T]  (spec with haproxy) GET / through HAProxy from the client
                                           namespace, R per second for S seconds; prints requests
                                           sent, answered 200, failed and the versions seen;
                                           exit 0 when none failed, 1 otherwise
  exec HOST -- CMD...                      run CMD inside HOST's namespaces
  api-url                                  (spec with api: true) print salt-api's URL
  webhook --seconds S --out FILE           a webhook receiver in a namespace of its own: prints
                                           its URL, records every POST to FILE as JSON lines,
                                           ends by itself after S seconds
"""

EPILOG = """\
examples:
  scenario-sandbox up
  scenario-sandbox salt -C 'G@roles:dev_server and G@country:de' test.ping
  scenario-sandbox salt-call web1 pkg.version mywebapp
  scenario-sandbox probe web1
  scenario-sandbox exec web1 -- iptables -I INPUT -s 198.51.100.10 -j DROP
  scenario-sandbox salt-run scenario.run update_website
  scenario-sandbox --name ci2 up --spec my-spec.yaml --file-root ./salt
  scenario-sandbox --name ha up --spec "$(python -c 'import saltext.scenario.sandbox as s; print(s.HAPROXY_SPEC)')"
  scenario-sandbox --name ha load --rate 20 --seconds 60 &
  scenario-sandbox --name ha salt-run scenario.run update_website_haproxy batch=1
  scenario-sandbox down

The sandbox name also comes from $SCENARIO_SANDBOX; state lives in
/run/scenario-sandbox/NAME (root dir: $SCENARIO_SANDBOX_ROOT). Pass-through commands
exit with the wrapped command's exit code.
"""

COMMANDS = {
    "up",
    "status",
    "down",
    "salt",
    "salt-run",
    "salt-call",
    "probe",
    "stop",
    "start",
    "exec",
    "restart-master",
    "load",
    "api-url",
    "webhook",
}


# The commands that talk to one salt-master: --master N picks which.
MASTER_COMMANDS = {"salt", "salt-run", "restart-master"}


def _global_parser():
    parser = argparse.ArgumentParser(
        prog="scenario-sandbox",
        usage=USAGE,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--name",
        default=os.environ.get("SCENARIO_SANDBOX", "default"),
        help="which sandbox (default: $SCENARIO_SANDBOX or 'default')",
    )
    parser.add_argument(
        "--master",
        type=int,
        default=1,
        metavar="N",
        help="which salt-master salt, salt-run and restart-master use (spec key masters; default 1)",
    )
    parser.add_argument("command", metavar="COMMAND", choices=sorted(COMMANDS), help=argparse.SUPPRESS)
    parser.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


def _split(argv):
    """Global options stop at the command; everything after it belongs to the command verbatim."""
    for index, token in enumerate(argv):
        if token in COMMANDS:
            prefix = argv[:index]
            if prefix and prefix[-1] == "--name":
                continue  # `--name up`: a sandbox called "up"
            return [*prefix, token], argv[index + 1 :]
    return argv, []


def _sub_parser(command, description, epilog=None):
    return argparse.ArgumentParser(
        prog=f"scenario-sandbox {command}",
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _host_arg(command, args, description):
    parser = _sub_parser(command, description)
    parser.add_argument("host")
    return parser.parse_args(args).host


def _print_status(status):
    if not status.get("exists"):
        print(f"sandbox {status['name']}: down")
        return
    state = "up" if status["up"] else ("incomplete" if not status.get("complete") else "degraded")
    print(f"sandbox {status['name']}: {state}   (state {status['state_dir']})")
    for master in status["masters"]:
        label = "master" if master["index"] == 1 else f"master{master['index']}"
        print(
            f"  {label:<7} {master['address']:<15} {'running' if master['running'] else 'STOPPED':<8}"
            f" pid {master['pid']}   salt -c {master['conf_dir']}"
        )
    lb = status["lb"]
    if "haproxy" in lb:
        haproxy = "running" if lb["haproxy"]["running"] else "STOPPED"
        minion = "running" if lb["minion"]["running"] else "STOPPED"
        print(f"  lb      {lb['address']:<15} minion {minion:<8} haproxy {haproxy} (backend {lb['backend']})")
    else:
        print(f"  lb      {lb['address']:<15}")
    for name, service in status.get("services", {}).items():
        state = "running" if service["running"] else "STOPPED"
        print(f"  {name:<7} {service['address']:<15} {state:<8} pid {service['pid']}   {service['url']}")
    if status.get("webhook"):
        state = "running" if status["webhook"]["running"] else "ended"
        print(f"  webhook {status['webhook']['url']} {state}")
    for name, host in status["hosts"].items():
        minion = "running" if host["minion"]["running"] else "STOPPED"
        web = "running" if host["web"]["running"] else "STOPPED"
        grains = " ".join(f"{k}={v}" for k, v in host["grains"].items())
        print(f"  {name:<7} {host['address']:<15} minion {minion:<8} web {web:<8} {grains}")
    for note in status.get("notes", []):
        print(f"  note: {note}")
    if status.get("timings", {}).get("up"):
        print(f"  up took {status['timings']['up']} s")


def run(argv):
    head, rest = _split(argv)
    opts = _global_parser().parse_args(head)
    sandbox = Sandbox(opts.name)
    command = opts.command
    if opts.master != 1 and command not in MASTER_COMMANDS:
        raise SandboxError(f"--master applies to {', '.join(sorted(MASTER_COMMANDS))} only, not {command}")

    if command == "up":
        parser = _sub_parser(
            "up", "Build and start the sandbox.", "example: scenario-sandbox up --spec spec.yaml --file-root ./salt"
        )
        parser.add_argument("--spec", help="YAML spec (default: the shipped default-spec.yaml)")
        parser.add_argument(
            "--file-root",
            action="append",
            default=[],
            metavar="DIR",
            help="extra master file_roots dir, after the repository root (repeatable)",
        )
        args = parser.parse_args(rest)
        sandbox.up(spec=args.spec, file_roots=args.file_root)
        _print_status(sandbox.status())
        return 0
    if command == "status":
        parser = _sub_parser("status", "Show what runs. Exit 0 when everything is up.")
        parser.add_argument("--json", action="store_true", help="machine-readable output")
        args = parser.parse_args(rest)
        status = sandbox.status()
        if args.json:
            print(json.dumps(status, indent=2))
        else:
            _print_status(status)
        return 0 if status["up"] else 1
    if command == "down":
        _sub_parser("down", "Stop and remove everything of this sandbox.").parse_args(rest)
        sandbox.down()
        print(f"sandbox {opts.name}: down")
        return 0
    if command == "salt":
        return sandbox.salt(*rest, capture=False, master=opts.master).returncode
    if command == "salt-run":
        return sandbox.salt_run(*rest, capture=False, master=opts.master).returncode
    if command == "salt-call":
        if not rest or rest[0].startswith("-"):
            raise SandboxError("usage: scenario-sandbox salt-call HOST ARGS...")
        return sandbox.salt_call(rest[0], *rest[1:], capture=False).returncode
    if command == "probe":
        parser = _sub_parser("probe", "TCP from the LB to HOST's web port: prints reachable (exit 0) or blocked (1).")
        parser.add_argument("host")
        parser.add_argument("--ipv6", action="store_true", help="probe over the IPv6 twins (2001:db8:100::/64)")
        args = parser.parse_args(rest)
        reachable = sandbox.probe(args.host, ipv6=args.ipv6)
        print("reachable" if reachable else "blocked")
        return 0 if reachable else 1
    if command == "stop":
        sandbox.stop(_host_arg("stop", rest, "Stop HOST's salt-minion (namespaces and web stay), or a service (etcd)."))
        return 0
    if command == "start":
        sandbox.start(
            _host_arg("start", rest, "Start HOST's salt-minion (or a service: etcd) and wait until it is ready.")
        )
        return 0
    if command == "restart-master":
        _sub_parser(
            "restart-master",
            "Stop the sandbox's salt-master (by its pid) and start it again with the same config, keys and\n"
            "cache; return once it listens and every minion that was running answers test.ping again.",
        ).parse_args(rest)
        took = sandbox.restart_master(master=opts.master)
        print(f"sandbox {opts.name}: master {opts.master} restarted, {len(sandbox.minions)} minion(s) back in {took} s")
        return 0
    if command == "load":
        parser = _sub_parser(
            "load",
            "Send GET / through the HAProxy frontend (LB address, port 80) from the client namespace at a\n"
            "steady rate, each request on a new connection, and print what came back. Bounded: it stops\n"
            "by itself after --seconds, plus at most --timeout for the last answers. Needs a spec with haproxy.",
            "example: scenario-sandbox load --rate 20 --seconds 60",
        )
        parser.add_argument("--rate", type=float, required=True, help="requests per second (at most 1000)")
        parser.add_argument("--seconds", type=float, required=True, help="how long to send (at most 3600)")
        parser.add_argument("--timeout", type=float, default=30, help="seconds to wait for each answer (default 30)")
        parser.add_argument(
            "--slow-every", type=int, default=0, metavar="K", help="make every K-th request GET /slow (2 s)"
        )
        parser.add_argument("--json", action="store_true", help="print the summary as JSON")
        args = parser.parse_args(rest)
        summary = sandbox.load(args.rate, args.seconds, args.timeout, args.slow_every)
        if args.json:
            print(json.dumps(summary, indent=2))
        else:
            print(f"requests sent:  {summary['sent']}")
            print(f"answered 200:   {summary['ok']}")
            print(f"failed:         {summary['failed']}")
            for kind, count in sorted(summary["failures"].items()):
                print(f"  {kind}: {count}")
            versions = ", ".join(f"{body} ({n})" for body, n in sorted(summary["versions"].items())) or "none"
            print(f"versions seen:  {versions}")
            if summary.get("latency"):
                lat = summary["latency"]
                print(f"latency:        median {lat['p50']} s, p99 {lat['p99']} s, max {lat['max']} s")
        return 0 if summary["failed"] == 0 else 1
    if command == "api-url":
        _sub_parser("api-url", "Print salt-api's URL (spec api: true); users in <state>/api/users.txt.").parse_args(
            rest
        )
        print(sandbox.api_url())
        return 0
    if command == "webhook":
        parser = _sub_parser(
            "webhook",
            "Run a webhook receiver in a sandbox namespace (198.51.100.7): print its URL, record every POST\n"
            "(path, headers, JSON body) to FILE as one JSON line each, and end by itself after S seconds.",
            "example: scenario-sandbox webhook --seconds 120 --out hooks.jsonl &",
        )
        parser.add_argument("--seconds", type=float, required=True, help="how long it listens (at most 3600)")
        parser.add_argument("--out", required=True, metavar="FILE", help="where the POSTs go, as JSON lines")
        args = parser.parse_args(rest)
        url, proc = sandbox.webhook(args.seconds, args.out)
        print(url, flush=True)
        proc.wait(timeout=args.seconds + 30)
        return 0
    if command == "exec":
        if not rest or rest[0].startswith("-"):
            raise SandboxError("usage: scenario-sandbox exec HOST -- CMD...")
        host, cmd = rest[0], rest[1:]
        if cmd and cmd[0] == "--":
            cmd = cmd[1:]
        if not cmd:
            raise SandboxError("usage: scenario-sandbox exec HOST -- CMD...")
        return sandbox.exec(host, cmd, capture=False).returncode
    raise SandboxError(f"unknown command {command!r}")  # argparse's choices make this unreachable


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if os.geteuid() != 0 and not ({"-h", "--help"} & set(_split(argv)[0])):
        print("scenario-sandbox: needs root (network and mount namespaces)", file=sys.stderr)
        return 2
    try:
        return run(argv)
    except SandboxError as exc:
        print(f"scenario-sandbox: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
