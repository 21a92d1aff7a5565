"""
Health checks the way Nagios defines them: run the commands an NRPE daemon
would run (``command[NAME]=...`` in nrpe.cfg), locally and without a shell, or
ask a remote NRPE daemon through check_nrpe.

Self-contained (stdlib + salt): ``saltutil.sync_modules`` is all a minion needs.

Minion config:

nrpe.config : /etc/nagios/nrpe.cfg
    The nrpe.cfg to read. ``include=`` and ``include_dir=`` are followed.
nrpe.check_nrpe : /usr/lib/nagios/plugins/check_nrpe
    The check_nrpe plugin used by ``nrpe.query``.

Differences from the nrpe daemon, on purpose:

- Command lines are split with shlex and run without a shell, so shell syntax
  (pipes, redirections, ``$(...)``) is not available; ``$ARGn$`` macros are not
  substituted.
- A relative ``include``/``include_dir`` path is taken relative to the file that
  names it (nrpe uses its working directory). ``include_dir`` reads ``*.cfg``
  files recursively, in sorted order (nrpe: directory order).
- A malformed line is an error naming ``file:line``, like nrpe refusing to start;
  unknown ``key=value`` options are ignored (nrpe warns). An include loop is an
  error naming the file. A command defined twice: the last definition wins.
"""

import ipaddress
import logging
import os
import re
import shlex
import time

from salt.exceptions import CommandExecutionError, SaltInvocationError

log = logging.getLogger(__name__)

__virtualname__ = "nrpe"
__func_alias__ = {"list_": "list"}

DEFAULT_CONFIG = "/etc/nagios/nrpe.cfg"
DEFAULT_CHECK_NRPE = "/usr/lib/nagios/plugins/check_nrpe"
# nrpe's own default for command_timeout.
DEFAULT_TIMEOUT = 60

STATES = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}

_COMMAND_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
_COMMAND_LINE_RE = re.compile(r"^command\[([^\]]*)\]\s*=\s*(.*)$")
_HOSTNAME_LABEL_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def __virtual__():
    return __virtualname__


# ---------------------------------------------------------------------------
# Pure helpers: no __salt__, no __opts__. Unit tests call these directly.
# ---------------------------------------------------------------------------


def _valid_command_name(name):
    """
    True when ``name`` can be an NRPE command name: letters, digits, ``_.-``,
    no ``/`` and no ``..``.
    """
    return (
        isinstance(name, str) and bool(_COMMAND_NAME_RE.match(name)) and ".." not in name and not name.startswith("-")
    )


def _check_command_name(name):
    if not _valid_command_name(name):
        raise SaltInvocationError(
            f"invalid NRPE command name {name!r}: expected letters, digits and '_.-', no '/' and no '..'"
        )
    return name


def _number(text):
    """
    A perfdata number: int when it is written as one, else float; None for
    empty text. Raises ValueError on anything else.
    """
    text = text.strip()
    if not text:
        return None
    # Some plugins write decimal commas (locale); Nagios treats them as points.
    text = text.replace(",", ".")
    if re.match(r"^[-+]?\d+$", text):
        return int(text)
    if re.match(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$", text):
        return float(text)
    raise ValueError(f"not a number: {text!r}")


def _split_perfdata(text):
    """
    Split perfdata into ``(label, data)`` pairs. Labels may be quoted with
    single quotes (then they may hold spaces and ``=``; ``''`` is a quote).
    """
    pairs = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            break
        if text[i] == "'":
            opened, closed = i, False
            label, i = [], i + 1
            while i < n:
                if text[i] == "'":
                    if i + 1 < n and text[i + 1] == "'":
                        label.append("'")
                        i += 2
                        continue
                    i += 1
                    closed = True
                    break
                label.append(text[i])
                i += 1
            if not closed:
                # An unterminated quote would swallow every later item: drop
                # only the word it opens.
                i = opened
                while i < n and not text[i].isspace():
                    i += 1
                log.debug("nrpe: perfdata label quote not closed: %r", text[opened:i])
                continue
            label = "".join(label)
            if i >= n or text[i] != "=":
                # Quoted label without '=value': skip to the next blank.
                while i < n and not text[i].isspace():
                    i += 1
                log.debug("nrpe: perfdata item without a value for label %r", label)
                continue
            i += 1
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] != "=":
                i += 1
            label = text[start:i]
            if i >= n or text[i] != "=":
                while i < n and not text[i].isspace():
                    i += 1
                log.debug("nrpe: perfdata item without '=': %r", text[start:i])
                continue
            i += 1
        start = i
        while i < n and not text[i].isspace():
            i += 1
        pairs.append((label, text[start:i]))
    return pairs


_VALUE_RE = re.compile(r"^([-+]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][-+]?\d+)?|U)([^;\d\s][^;]*)?$")


def _parse_perfdata(text):
    """
    Parse Nagios plugin performance data
    (``'label'=value[UOM];[warn];[crit];[min];[max]`` items separated by
    blanks) into ``{label: {"value", "uom", "warn", "crit", "min", "max"}}``.

    ``value``, ``min`` and ``max`` are numbers (int or float) or None (``U``
    or empty); ``uom`` is a string (``""`` when none); ``warn`` and ``crit``
    stay text (they may be ranges such as ``@10:20`` or ``~:5``) or None.
    Items that do not parse are skipped; a label seen twice keeps the last.
    """
    result = {}
    for label, data in _split_perfdata(text or ""):
        if not label:
            log.debug("nrpe: perfdata item with an empty label: %r", data)
            continue
        fields = data.split(";")
        match = _VALUE_RE.match(fields[0])
        if not match:
            log.debug("nrpe: perfdata value of %r does not parse: %r", label, fields[0])
            continue
        fields += [""] * (5 - len(fields))
        try:
            value = None if match.group(1) == "U" else _number(match.group(1))
            low, high = _number(fields[3]), _number(fields[4])
        except ValueError as exc:
            log.debug("nrpe: perfdata of %r does not parse: %s", label, exc)
            continue
        result[label] = {
            "value": value,
            "uom": match.group(2) or "",
            "warn": fields[1].strip() or None,
            "crit": fields[2].strip() or None,
            "min": low,
            "max": high,
        }
    return result


def _parse_output(stdout):
    """
    Split plugin output into ``(output, long_output, perfdata)``, following
    the Nagios plugin guidelines: ``TEXT | perfdata`` on the first line, long
    output on the lines after it, and more perfdata after a ``|`` in the long
    output (which then runs to the end).
    """
    lines = (stdout or "").replace("\r\n", "\n").split("\n")
    first, rest = lines[0], lines[1:]
    output, _, perf_text = first.partition("|")
    perf_parts = [perf_text]
    long_lines = []
    for index, line in enumerate(rest):
        text, bar, more = line.partition("|")
        if bar:
            long_lines.append(text.rstrip())
            perf_parts.append(more)
            perf_parts.extend(rest[index + 1 :])
            break
        long_lines.append(line)
    long_output = "\n".join(long_lines).strip("\n")
    return output.strip(), long_output, _parse_perfdata(" ".join(perf_parts))


def _resolve(path, base_dir):
    path = os.path.expanduser(path.strip())
    if not os.path.isabs(path):
        path = os.path.join(base_dir, path)
    return os.path.normpath(path)


def _cfg_files(directory):
    found = []
    for root, dirs, files in os.walk(directory, followlinks=True):
        dirs.sort()
        found.extend(os.path.join(root, f) for f in sorted(files) if f.endswith(".cfg"))
    return found


def _read_config(path):
    """
    Read an nrpe.cfg: ``{"commands": {name: cmdline}, "options": {key: value},
    "files": [paths read, in order]}``. Follows ``include=FILE`` and
    ``include_dir=DIR``. Raises CommandExecutionError naming ``file:line`` for
    a malformed line, a missing include and an include loop.
    """
    parsed = {"commands": {}, "options": {}, "files": []}
    _read_file(os.path.normpath(os.path.abspath(path)), parsed, [], None)
    return parsed


def _read_file(path, parsed, stack, named_at):
    real = os.path.realpath(path)
    if real in stack:
        chain = " -> ".join([*stack[stack.index(real) :], real])
        raise CommandExecutionError(f"nrpe config include loop at {named_at}: {chain}")
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError as exc:
        where = f" (included at {named_at})" if named_at else ""
        raise CommandExecutionError(f"cannot read nrpe config {path}{where}: {exc.strerror}") from exc
    parsed["files"].append(path)
    stack = [*stack, real]
    base_dir = os.path.dirname(path)
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{path}:{number}"
        key, eq, value = line.partition("=")
        key = key.strip()
        if not eq or not key:
            raise CommandExecutionError(f"bad line in nrpe config at {where}: expected key=value")
        if key.startswith("command["):
            match = _COMMAND_LINE_RE.match(line)
            if not match:
                raise CommandExecutionError(f"bad command definition at {where}: expected command[NAME]=cmdline")
            name, cmdline = match.group(1), match.group(2).strip()
            if not _valid_command_name(name):
                raise CommandExecutionError(f"bad command name {name!r} at {where}")
            if not cmdline:
                raise CommandExecutionError(f"empty command line for {name!r} at {where}")
            if name in parsed["commands"]:
                log.debug("nrpe: command %s redefined at %s; the last one wins", name, where)
            parsed["commands"][name] = cmdline
        elif key == "include":
            _read_file(_resolve(value, base_dir), parsed, stack, where)
        elif key == "include_dir":
            directory = _resolve(value, base_dir)
            if not os.path.isdir(directory):
                raise CommandExecutionError(f"include_dir {directory} named at {where} is not a directory")
            for included in _cfg_files(directory):
                _read_file(included, parsed, stack, where)
        else:
            parsed["options"][key] = value.strip()
    return parsed


def _split_command(cmdline):
    """
    Split a command line into argv with shlex (no shell involved).
    """
    try:
        argv = shlex.split(cmdline)
    except ValueError as exc:
        raise CommandExecutionError(f"cannot split command line {cmdline!r}: {exc}") from exc
    if not argv:
        raise CommandExecutionError(f"empty command line {cmdline!r}")
    return argv


def _make_result(command, code, stdout, stderr="", allow_warning=False, timed_out=None):
    """
    Build a check result from a finished plugin: ``{"command", "status",
    "code", "output", "perfdata", "long_output", "ok"}``. An exit code outside
    0..3, or a timeout, is UNKNOWN (code 3).
    """
    output, long_output, perfdata = _parse_output(stdout)
    if timed_out is not None:
        code, output = 3, f"UNKNOWN - check timed out after {timed_out} seconds"
    elif code not in STATES:
        output = f"UNKNOWN - plugin exited with code {code}: {output or (stderr or '').strip()}"
        code = 3
    elif not output and stderr and stderr.strip():
        output = f"(No output on stdout) stderr: {stderr.strip().splitlines()[0]}"
    status = STATES[code]
    return {
        "command": command,
        "status": status,
        "code": code,
        "output": output,
        "perfdata": perfdata,
        "long_output": long_output,
        "ok": status == "OK" or (allow_warning and status == "WARNING"),
    }


def _valid_host(host):
    """
    True when ``host`` is an IP address or a plain DNS hostname.
    """
    if not isinstance(host, str) or not host or len(host) > 253:
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    return all(_HOSTNAME_LABEL_RE.match(label) for label in host.rstrip(".").split("."))


# ---------------------------------------------------------------------------
# Salt-facing functions.
# ---------------------------------------------------------------------------


def _config_path():
    return __salt__["config.get"]("nrpe.config", DEFAULT_CONFIG)


def _load():
    return _read_config(_config_path())


def _timeout(value, config):
    if value is None:
        value = config["options"].get("command_timeout", DEFAULT_TIMEOUT)
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1
    if isinstance(value, bool) or seconds <= 0:
        raise SaltInvocationError(f"invalid timeout {value!r}: expected a positive number")
    return int(seconds) if seconds == int(seconds) else seconds


def _set_retcode(ok):
    # Always set, also to 0: cmd.run_all leaves the plugin's exit code in
    # __context__, and a WARNING allowed by allow_warning must not fail `salt`.
    __context__["retcode"] = 0 if ok else 1


def _check_bool(name, value):
    if not isinstance(value, bool):
        raise SaltInvocationError(f"{name} must be True or False, not {value!r}")
    return value


def _execute(command, argv, timeout, allow_warning):
    started = time.monotonic()
    try:
        out = __salt__["cmd.run_all"](
            argv,
            python_shell=False,
            timeout=timeout,
            ignore_retcode=True,
            output_loglevel="debug",
        )
    except CommandExecutionError as exc:
        # The plugin could not be started (missing, not executable): Nagios
        # reports that as UNKNOWN, and so do we.
        return _make_result(command, 3, f"UNKNOWN - cannot run {argv[0]}: {exc}", "", allow_warning)
    elapsed = time.monotonic() - started
    stdout = out.get("stdout") or ""
    # cmd.run_all reports a timeout as retcode 1 with this text on stdout.
    timed_out = out.get("retcode") == 1 and elapsed >= timeout * 0.95 and f"Timed out after {timeout} seconds" in stdout
    return _make_result(
        command,
        out.get("retcode"),
        stdout,
        out.get("stderr") or "",
        allow_warning,
        timed_out=timeout if timed_out else None,
    )


def _run_defined(command, cmdline, timeout, allow_warning):
    return _execute(command, _split_command(cmdline), timeout, allow_warning)


def _unknown(command, commands):
    return SaltInvocationError(f"unknown NRPE command {command!r} (defined: {', '.join(sorted(commands)) or 'none'})")


def list_():
    """
    List the commands defined in nrpe.cfg (and its includes): ``{name: cmdline}``.

    CLI Example:

    .. code-block:: bash

        salt '*' nrpe.list
    """
    return dict(sorted(_load()["commands"].items()))


def run(command, timeout=None, allow_warning=False):
    """
    Run the NRPE command ``command`` as defined in nrpe.cfg, without a shell.

    timeout
        Seconds before the check is killed and reported UNKNOWN. Default:
        ``command_timeout`` from nrpe.cfg, else 60.
    allow_warning : False
        Count WARNING as ok.

    Returns ``{"command", "status", "code", "output", "perfdata",
    "long_output", "ok"}``; ``status`` is OK, WARNING, CRITICAL or UNKNOWN.
    Sets the retcode to 1 when not ok. Only defined commands run.

    CLI Example:

    .. code-block:: bash

        salt '*' nrpe.run check_load
        salt '*' nrpe.run check_load timeout=10 allow_warning=True
    """
    _check_command_name(command)
    _check_bool("allow_warning", allow_warning)
    config = _load()
    seconds = _timeout(timeout, config)
    if command not in config["commands"]:
        raise _unknown(command, config["commands"])
    result = _run_defined(command, config["commands"][command], seconds, allow_warning)
    _set_retcode(result["ok"])
    return result


def check(command, timeout=None, allow_warning=False):
    """
    The same as ``nrpe.run``, under a second name. A compound Salt job keys each
    function's return by its name, so a scenario that checks two commands in one
    publish calls ``nrpe.run`` for one and ``nrpe.check`` for the other.

    CLI Example:

    .. code-block:: bash

        salt '*' nrpe.check check_load
        salt '*' test.ping,nrpe.run,nrpe.check ,check_web,check_load
    """
    return run(command, timeout=timeout, allow_warning=allow_warning)


def run_all(allow_warning=False, timeout=None):
    """
    Run every command defined in nrpe.cfg: ``{name: result}`` (results as in
    ``nrpe.run``). Sets the retcode to 1 when any is not ok.

    CLI Example:

    .. code-block:: bash

        salt '*' nrpe.run_all
        salt '*' nrpe.run_all allow_warning=True
    """
    _check_bool("allow_warning", allow_warning)
    config = _load()
    seconds = _timeout(timeout, config)
    results = {}
    for name, cmdline in sorted(config["commands"].items()):
        results[name] = _run_defined(name, cmdline, seconds, allow_warning)
    _set_retcode(all(r["ok"] for r in results.values()))
    return results


def query(command, host, port=5666, timeout=10, allow_warning=False, ssl=True):
    """
    Ask the NRPE daemon on ``host`` to run ``command``, through check_nrpe,
    and parse the answer like ``nrpe.run``. Connection problems are UNKNOWN.

    ssl : True
        False adds ``-n`` (the daemon must run without SSL too).

    CLI Example:

    .. code-block:: bash

        salt '*' nrpe.query check_load 198.51.100.20
        salt '*' nrpe.query check_load web1.example.com port=5667 timeout=5
    """
    _check_command_name(command)
    if not _valid_host(host):
        raise SaltInvocationError(f"invalid host {host!r}: expected an IP address or a hostname")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise SaltInvocationError(f"invalid port {port!r}: expected 1..65535")
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout <= 0:
        raise SaltInvocationError(f"invalid timeout {timeout!r}: expected whole seconds > 0")
    _check_bool("allow_warning", allow_warning)
    _check_bool("ssl", ssl)
    check_nrpe = __salt__["config.get"]("nrpe.check_nrpe", DEFAULT_CHECK_NRPE)
    argv = [check_nrpe, "-u", "-H", host, "-p", str(port), "-c", command, "-t", str(timeout)]
    if not ssl:
        argv.insert(1, "-n")
    # check_nrpe enforces its own -t; ours only catches a hung client.
    result = _execute(command, argv, timeout + 5, allow_warning)
    _set_retcode(result["ok"])
    return result
