"""A fake nrpe.cfg and a fake cmd.run_all behaving like check_dummy, for the unit tests of
_modules/nrpe.py and _states/nrpe.py."""

from tests.support.fake_dunders import load

CONFIG = """\
command_timeout=42
command[check_ok]=/usr/lib/nagios/plugins/check_dummy 0 'all fine'
command[check_warn]=/usr/lib/nagios/plugins/check_dummy 1 warm
command[check_crit]=/usr/lib/nagios/plugins/check_dummy 2 hot
command[check.dotted-name_1]=/bin/echo OK
"""


def write_config(directory):
    """CONFIG written to ``directory``/nrpe.cfg; returns its path."""
    path = directory / "nrpe.cfg"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def dummy_run_all(argv, **kwargs):
    """Behaves like check_dummy for argv [check_dummy, CODE, TEXT...]."""
    if argv[0].endswith("check_dummy"):
        code = int(argv[1])
        state = ["OK", "WARNING", "CRITICAL", "UNKNOWN"][code]
        return {"retcode": code, "stdout": f"{state}: {' '.join(argv[2:])}", "stderr": "", "pid": 1}
    return {"retcode": 0, "stdout": "OK | t=1s", "stderr": "", "pid": 1}


def make(cfg, run_all, extra=None):
    """_modules/nrpe.py reading nrpe.cfg ``cfg`` (plus config.get keys ``extra``), running commands with ``run_all``."""
    config = {"nrpe.config": str(cfg), **(extra or {})}
    salt = {
        "config.get": lambda key, default=None: config.get(key, default),
        "cmd.run_all": run_all,
    }
    return load("_modules/nrpe.py", salt=salt)
