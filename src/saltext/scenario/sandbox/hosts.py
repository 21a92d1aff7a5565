"""One sandbox host: a mount namespace held by a sleeping holder, its private files, its daemons.

The holder (`sleep infinity`, started by nsenter into the host's netns and `unshare --mount
--uts --propagation private`) owns the host's mount and UTS namespaces. The minion and the web
service are started into the holder's namespaces with nsenter, so stopping and starting the
minion leaves the namespaces and mounts in place. Nothing mounted here propagates to the
real machine: the holder's namespace is private from its first instant.
"""

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from . import nrpecfg, procs
from .errors import SandboxError
from .netns import ns_path
from .spec import MASTER_ADDRESS, address6

WEB_PORT = 80
WEB_SCRIPT = Path(__file__).with_name("web.py")
READY_LINE = "Minion is ready to receive requests!"

# Overlays keep the machine's state visible but writes private;
# binds replace the directory with an empty private one.
OVERLAYS = ["/var/lib/dpkg", "/var/cache/debconf", "/etc/init.d"]
BINDS = {
    "/var/lib/apt": "apt-lib",
    "/var/cache/apt": "apt-cache",
    "/etc/apt": "etc-apt",
    "/var/log": "log",
    "/opt": "opt",
    "/etc/nagios": "nagios",
}

# Salt's service module on a Debian host without systemd runs `service APP restart`, which runs
# /etc/init.d/APP: this script (in the host's /etc/init.d overlay) restarts the web service.
INIT_SCRIPT = """\
#!/bin/sh
### BEGIN INIT INFO
# Provides:          {app}
# Short-Description: scenario-sandbox web service of this host
### END INIT INFO
# Written by scenario-sandbox. The sandbox starts and stops the service; this script
# reports its status and restarts it in place (LSB exit codes).
case "$1" in
    status|restart) exec {control} "$1" ;;
    reload|force-reload) exec {control} restart ;;
    start) exec {control} status ;;
    *) echo "usage: $0 status|restart|reload|force-reload|start" >&2; exit 3 ;;
esac
"""

APT_CONF = """\
// scenario-sandbox: this host's apt only ever reads the local file repository.
APT::Sandbox::User "root";
Acquire::Languages "none";
Acquire::Retries "0";
Acquire::http::Proxy "DIRECT";
APT::Install-Recommends "false";
APT::Install-Suggests "false";
APT::Periodic::Enable "0";
Dpkg::Use-Pty "false";
"""


def minion_config(minion_id, master, root, sock_dir, grains):
    """A sandbox salt-minion's config: its own root, quick (re)connects to the sandbox master."""
    return {
        "id": minion_id,
        "master": master,
        "root_dir": str(root),
        # Salt swaps a sock_dir longer than cachedir + 10 for cachedir/.salt-unix (checked
        # before re-rooting); give both explicitly so the short one stays (108-byte limit).
        "cachedir": str(Path(root) / "var" / "cache" / "salt" / "minion"),
        "sock_dir": str(sock_dir),
        "grains": grains,
        "grains_cache": False,
        "enable_fqdns_grains": False,
        "master_tries": -1,
        "acceptance_wait_time": 1,
        "acceptance_wait_time_max": 2,
        "random_reauth_delay": 0,
        "recon_default": 200,
        "recon_max": 1000,
        "recon_randomize": False,
        "auth_timeout": 10,
        "file_client": "remote",
        "ipv6": False,
        "log_level_logfile": "info",
        "user": "root",
    }


class MinionLog:
    """Reading a sandbox minion's log (``self.log_file``): has it connected since an offset?"""

    def log_size(self):
        try:
            return self.log_file.stat().st_size
        except OSError:
            return 0

    def ready_since(self, offset):
        """True once the minion log shows the ready line after byte ``offset``."""
        try:
            with open(self.log_file, "rb") as log:
                log.seek(offset)
                return READY_LINE.encode() in log.read()
        except OSError:
            return False


class Host(MinionLog):
    """Paths and commands for one host of a sandbox; state lives in the sandbox record."""

    def __init__(self, state_dir, name, settings, netns, bin_dir, app, bad_builds=None):
        self.name = name
        self.app = app
        self.bad_builds = bad_builds or {}  # {version: fraction} of the app (spec bad_builds)
        self.settings = settings
        self.address = settings["address"]
        self.netns = netns
        self.bin_dir = Path(bin_dir)
        self.root = Path(state_dir) / "h" / name
        self.conf_dir = self.root / "conf"
        self.fs = self.root / "fs"
        self.sock_dir = self.root / "s"
        self.log_file = self.root / "var" / "log" / "salt" / "minion"
        self.web_pidfile = self.root / "web.pid"

    # -- entering the namespaces ---------------------------------------------------------
    @staticmethod
    def enter(holder_pid, argv, mount=True):
        return ["nsenter", "-t", str(holder_pid), "-n", "-u"] + (["-m"] if mount else []) + ["--"] + list(argv)

    def run_inside(self, holder_pid, argv, check=True, env=None, timeout=120):
        proc = subprocess.run(
            self.enter(holder_pid, argv), capture_output=True, text=True, check=False, env=env, timeout=timeout
        )
        if check and proc.returncode != 0:
            raise SandboxError(
                f"{self.name}: {' '.join(map(str, argv))} failed ({proc.returncode}): "
                f"{(proc.stderr or proc.stdout).strip()}"
            )
        return proc

    # -- files -------------------------------------------------------------------------
    def write_files(self, repo_dir, master=MASTER_ADDRESS):
        """Create the host's private directories, apt config, nrpe.cfg and minion config."""
        for sub in ("conf", "s", "fs", "nrpe"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        for base in OVERLAYS:
            key = base.strip("/").replace("/", "-")
            (self.fs / f"{key}.upper").mkdir(parents=True, exist_ok=True)
            (self.fs / f"{key}.work").mkdir(parents=True, exist_ok=True)
        for key in BINDS.values():
            (self.fs / key).mkdir(parents=True, exist_ok=True)
        (self.fs / "apt-lib" / "lists" / "partial").mkdir(parents=True, exist_ok=True)
        (self.fs / "apt-cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
        (self.fs / "log" / "apt").mkdir(parents=True, exist_ok=True)
        etc_apt = self.fs / "etc-apt"
        for sub in ("apt.conf.d", "sources.list.d", "preferences.d", "trusted.gpg.d", "keyrings", "auth.conf.d"):
            (etc_apt / sub).mkdir(parents=True, exist_ok=True)
        (etc_apt / "sources.list").write_text(f"deb [trusted=yes] file:{repo_dir} ./\n")
        (etc_apt / "apt.conf.d" / "99scenario-sandbox").write_text(APT_CONF)

        init_script = self.fs / "etc-init.d.upper" / self.app
        init_script.write_text(INIT_SCRIPT.format(app=self.app, control=shlex.join([*self.web_argv(), "--control"])))
        init_script.chmod(0o755)

        nrpe_dir = self.root / "nrpe"
        _chown_to_nagios(nrpe_dir)
        (self.fs / "nagios" / "nrpe.d").mkdir(exist_ok=True)
        (self.fs / "nagios" / "nrpe.cfg").write_text(
            nrpecfg.render(self.address, WEB_PORT, nrpe_dir / "nrpe.pid", self.settings["nrpe"])
        )

        config = minion_config(self.name, master, self.root, self.sock_dir, self.settings["grains"])
        # Hosts run no init system of their own. With systemctl installed but no systemd
        # booted, Salt loads systemd_service beside debian_service, and its "offline" mode
        # turns the service.running state into a no-op; debian_service alone runs the
        # host's /etc/init.d script, so the state really checks the service.
        config["disable_modules"] = ["systemd_service"]
        (self.conf_dir / "minion").write_text(yaml.safe_dump(config, default_flow_style=False))

    # -- the holder and its mounts ----------------------------------------------------------
    def start_holder(self, instance, env):
        argv = [
            "nsenter",
            f"--net={ns_path(self.netns)}",
            "--",
            "unshare",
            "--mount",
            "--uts",
            "--propagation",
            "private",
            "--",
            "sleep",
            "infinity",
        ]
        proc, record = procs.spawn(argv, instance, self.root / "holder.log", env=env)
        # Mount only once unshare has made everything private, i.e. once it has exec'd sleep.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if Path(f"/proc/{proc.pid}/comm").read_text().strip() == "sleep":
                    break
            except OSError:
                pass
            if proc.poll() is not None:
                raise SandboxError(f"{self.name}: namespace holder exited: {_tail(self.root / 'holder.log')}")
            time.sleep(0.005)
        else:
            raise SandboxError(f"{self.name}: namespace holder did not start")
        record["start"] = procs.start_time(proc.pid)
        return proc, record

    def mount_all(self, holder_pid):
        """Private hostname, private dpkg/apt/log/opt/nagios, and no view of /run/netns."""
        subprocess.run(["nsenter", "-t", str(holder_pid), "-u", "--", "hostname", self.name], check=True)
        # The holder's copy of /run/netns would pin every other sandbox's namespaces alive.
        self.run_inside(holder_pid, ["umount", "-l", "/run/netns"], check=False)
        notes = []
        for base in OVERLAYS:
            if not os.path.isdir(base):
                notes.append(f"{base} missing on this machine; not mounted")
                continue
            key = base.strip("/").replace("/", "-")
            upper, work = self.fs / f"{key}.upper", self.fs / f"{key}.work"
            options = f"lowerdir={base},upperdir={upper},workdir={work}"
            proc = self.run_inside(holder_pid, ["mount", "-t", "overlay", "overlay", "-o", options, base], check=False)
            if proc.returncode != 0:
                # No overlayfs here: a private copy does the same job, only slower.
                copy = self.fs / f"{key}.copy"
                shutil.copytree(base, copy, symlinks=True, dirs_exist_ok=True)
                self.run_inside(holder_pid, ["mount", "--bind", str(copy), base])
                notes.append(f"{base}: overlay failed ({proc.stderr.strip()}); using a copy")
        for target, key in BINDS.items():
            if not os.path.isdir(target):
                notes.append(f"{target} missing on this machine; not mounted")
                continue
            self.run_inside(holder_pid, ["mount", "--bind", str(self.fs / key), target])
        return notes

    def preinstall(self, holder_pid, debs, env):
        if debs:
            self.run_inside(holder_pid, ["dpkg", "-i", *map(str, debs)], env=env)

    def apt_update(self, holder_pid, env):
        proc = self.run_inside(holder_pid, ["apt-get", "-q", "update"], env=env)
        if "W:" in proc.stderr or "E:" in proc.stderr:
            raise SandboxError(f"{self.name}: apt-get update complained: {proc.stderr.strip()}")

    # -- daemons ----------------------------------------------------------------------------
    def web_argv(self):
        return [
            sys.executable,
            "-I",
            str(WEB_SCRIPT),
            "--address",
            self.address,
            "--address",
            address6(self.address),
            "--port",
            str(WEB_PORT),
            "--package",
            self.app,
            "--pidfile",
            str(self.web_pidfile),
            *(f"--bad={version}={fraction}" for version, fraction in self.bad_builds.items()),
        ]

    def start_web(self, holder_pid, instance, env):
        return procs.spawn(self.enter(holder_pid, self.web_argv()), instance, self.root / "web.log", env=env)

    def start_minion(self, holder_pid, instance, env):
        # Salt refuses to start while the pid in this file "exists"; a killed minion can linger
        # as a zombie until init reaps it, so drop the file when that pid is no longer running.
        mantle = self.root / "var" / "run" / "process_responsibility_salt-minion.pid"
        try:
            previous = json.loads(mantle.read_text()).get("pid")
        except (OSError, ValueError, AttributeError):
            previous = None
        if previous is not None and procs.start_time(previous) is None:
            mantle.unlink(missing_ok=True)
        argv = self.enter(holder_pid, [str(self.bin_dir / "salt-minion"), "-c", str(self.conf_dir)])
        return procs.spawn(argv, instance, self.root / "minion.out", env=env)


def _chown_to_nagios(path):
    try:
        shutil.chown(path, user="nagios", group="nagios")
    except (LookupError, OSError):
        # No nagios user (a machine without the NRPE server): world-writable with the sticky bit, like /tmp.
        os.chmod(path, 0o1777)  # noqa: S103


def _tail(path, lines=5):
    try:
        return " | ".join(Path(path).read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return ""
