"""Render a host's /etc/nagios/nrpe.cfg.

The daemon is not started by the sandbox; the file is there for nrpe.run (which reads the
command[] lines) and for tests that start their own daemon bound to the host address.
"""

PLUGINS = "/usr/lib/nagios/plugins"


def default_commands(address, port):
    # The load average is the whole machine's, shared with every other sandbox host and
    # test run; per-CPU (-r) thresholds this wide keep a busy 2-core CI box from failing
    # a deploy on load it did not cause. Specs override check_load to test a CRITICAL.
    return {
        "check_load": f"{PLUGINS}/check_load -r -w 30,25,20 -c 60,50,40",
        # /health answers as / does, minus a bad build's failures (web.py): a health check
        # passes on a bad build, as it would in production.
        "check_web": f"{PLUGINS}/check_http -I {address} -p {port} -u /health -t 5",
    }


def render(address, port, pid_file, overrides):
    """nrpe.cfg text for a host at ``address`` whose web service listens on ``port``."""
    commands = default_commands(address, port)
    commands.update(overrides)
    lines = [
        "# Written by scenario-sandbox for this host only.",
        "log_facility=daemon",
        "debug=0",
        f"pid_file={pid_file}",
        "server_port=5666",
        f"server_address={address}",
        "nrpe_user=nagios",
        "nrpe_group=nagios",
        "allowed_hosts=127.0.0.1,::1,198.51.100.0/24",
        "dont_blame_nrpe=0",
        "allow_bash_command_substitution=0",
        "command_timeout=60",
        "connection_timeout=300",
        "",
    ]
    lines += [f"command[{name}]={command}" for name, command in commands.items()]
    return "\n".join(lines) + "\n"
