"""The sandbox's salt-masters: config under the state dir, each run inside its own network namespace.

Master 1 lives in <state>/m, master N > 1 in <state>/m<N>. With two masters (hot/hot) both get
the same file_roots and the same master key pair (written before they start), so a minion that
is configured with both trusts either.
"""

from pathlib import Path

import yaml

from . import procs
from .netns import ns_path
from .spec import MASTER_ADDRESSES

SKIP_IN_VIEW = {"venv", "build", "dist", "node_modules", "__pycache__"}
# The checkout's state tree (salt://mywebapp is states/mywebapp/init.sls): a file root of its own,
# after the checkout's root, the way an operator adds a formula's folder to file_roots.
STATE_TREE = "states"
RET_PORT = 4506
PUB_PORT = 4505


def salt_root():
    """The checkout (or install) holding _modules/: the base of the master's file_roots."""
    from saltext.scenario import salt_dirs_root

    return salt_dirs_root()


def master_keypair():
    """(private PEM, public PEM) of a new 2048-bit RSA key, in the formats salt-master writes itself."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


def root_of(state_dir, index):
    """Master ``index``'s directory: <state>/m for master 1, <state>/m<N> for the others."""
    return Path(state_dir) / ("m" if index == 1 else f"m{index}")


class Master:
    def __init__(self, state_dir, netns, bin_dir, index=1):
        self.index = index
        self.address = MASTER_ADDRESSES[index - 1]
        self.root = root_of(state_dir, index)
        # One view for every master, so their file_roots are literally the same list.
        self.view_dir = root_of(state_dir, 1) / "repo-view"
        self.conf_dir = self.root / "conf"
        self.sock_dir = self.root / "s"
        self.pki_dir = self.root / "pki"
        self.netns = netns
        self.bin_dir = Path(bin_dir)
        self.log_file = self.root / "var" / "log" / "salt" / "master"

    def install_keys(self, private, public):
        """Make this master use the given key pair (hot/hot masters share one) instead of its own."""
        self.pki_dir.mkdir(parents=True, exist_ok=True)
        pem = self.pki_dir / "master.pem"
        pem.write_bytes(private)
        pem.chmod(0o400)
        (self.pki_dir / "master.pub").write_bytes(public)

    def repo_view(self):
        """A directory of symlinks to the checkout's top-level entries, minus .git, .venv and builds.

        Salt's roots fileserver walks every file under a file_root (it has no pruning), so the
        bare checkout would cost a walk of the whole venv in every master worker.
        """
        source = salt_root()
        view = self.view_dir
        view.mkdir(parents=True, exist_ok=True)
        if any(view.iterdir()):
            return view  # made by master 1 already
        for entry in sorted(source.iterdir()):
            name = entry.name
            if name.startswith(".") or name in SKIP_IN_VIEW or name.endswith(".egg-info"):
                continue
            (view / name).symlink_to(entry)
        return view

    def state_tree(self):
        """``[<checkout>/states]`` when the checkout has a state tree, else ``[]`` (a wheel install)."""
        tree = salt_root() / STATE_TREE
        return [str(tree)] if tree.is_dir() else []

    def write_config(self, lb, file_roots, extra=None):
        """The master config; ``extra`` (the spec's master.config) is merged over the defaults."""
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        self.sock_dir.mkdir(parents=True, exist_ok=True)
        config = {
            "id": "sandbox-master" if self.index == 1 else f"sandbox-master-{self.index}",
            "root_dir": str(self.root),
            "cachedir": str(self.root / "var" / "cache" / "salt" / "master"),
            "sock_dir": str(self.sock_dir),
            "pki_dir": str(self.pki_dir),
            "interface": self.address,
            "ipv6": False,
            "publish_port": PUB_PORT,
            "ret_port": RET_PORT,
            "auto_accept": True,
            "user": "root",
            "file_roots": {
                "base": [str(self.repo_view()), *self.state_tree(), *(str(Path(d).resolve()) for d in file_roots)]
            },
            "file_ignore_regex": [r"(^|/)__pycache__(/|$)"],
            "scenario_lb_address": lb,
            "reactor": [{"scenario/request": ["salt://reactor/scenario.sls"]}],
            # The demo fleet may start the shipped features by event (reactor/scenario.sls);
            # a real master allows nothing until these are set.
            "scenario_reactor_allow": ["update_website", "rolling_update"],
            "scenario_reactor_senders": ["*"],
            "timeout": 5,
            "gather_job_timeout": 3,
            "worker_threads": 4,
            "log_level_logfile": "info",
        }
        config.update(extra or {})
        (self.conf_dir / "master").write_text(yaml.safe_dump(config, default_flow_style=False))

    def start(self, instance, env):
        argv = [
            "nsenter",
            f"--net={ns_path(self.netns)}",
            "--",
            str(self.bin_dir / "salt-master"),
            "-c",
            str(self.conf_dir),
        ]
        return procs.spawn(argv, instance, self.root / "master.out", env=env)

    def listening(self, pid):
        """True once the master (pid) listens on both its ports, read from its own netns' /proc."""
        want = {_hex_endpoint(self.address, RET_PORT), _hex_endpoint(self.address, PUB_PORT)}
        try:
            lines = Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]
        except OSError:
            return False
        found = {fields[1] for fields in (line.split() for line in lines) if fields[3] == "0A"}
        return want <= found


def _hex_endpoint(address, port):
    # /proc/net/tcp shows the IPv4 address as a little-endian hex word.
    octets = [int(o) for o in address.split(".")]
    return "".join(f"{o:02X}" for o in reversed(octets)) + f":{port:04X}"
