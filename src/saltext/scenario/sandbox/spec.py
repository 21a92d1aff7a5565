"""Load and validate a sandbox spec (see default-spec.yaml and README.md here) into one normal form.

The normal form is what the rest of the sandbox reads, so every default is filled in here:

    {"lb": "198.51.100.10", "app": "mywebapp",
     "repo": {"mywebapp": ["4.2.5-1", "4.2.6-3"]},
     "master": {"config": {}},      # extra salt-master options, merged over the sandbox's
     "haproxy": None | {"backend": "web", "servers": ["web1", ...]},  # HAProxy + minion lb in the LB netns
     "masters": 1 | 2,              # salt-masters hot/hot (same key pair); every minion has all of them
     "store": "local" | "etcd",     # etcd: a real etcd in a namespace of its own, the masters' fleet store
     "prometheus": False | True,    # Prometheus scraping HAProxy's exporter (needs haproxy)
     "bad_builds": {"mywebapp": {"4.2.7-1": 0.3}},  # that build answers 500 to that fraction of requests
     "api": False | True,           # salt-api (rest_cherrypy, file eauth test users) in master 1's netns
     "hosts": {"web1": {"address": "198.51.100.11", "grains": {...}, "packages": {...},
                        "repo": None | {...}, "nrpe": {...}}, ...}}

Errors name the offending key (``hosts.web1.packages.mywebapp: ...``).
"""

import ipaddress
import re
from pathlib import Path

import yaml

from .errors import SandboxError

DEFAULT_SPEC = Path(__file__).with_name("default-spec.yaml")
# The same fleet's web hosts behind a real HAProxy on the LB address, with a minion `lb`.
HAPROXY_SPEC = Path(__file__).with_name("haproxy-spec.yaml")
# HAProxy, Prometheus scraping it, and a repo with a bad build (4.2.7-1 fails 30 % of requests).
METRICS_SPEC = Path(__file__).with_name("metrics-spec.yaml")
# The default fleet under two hot/hot masters that share a real etcd as their fleet store.
ETCD_SPEC = Path(__file__).with_name("etcd-spec.yaml")

SUBNET = ipaddress.ip_network("198.51.100.0/24")
SUBNET6_PREFIX = "2001:db8:100::"
MASTER_ADDRESS = "198.51.100.2"
# The client namespace of a spec with haproxy: where `scenario-sandbox load` sends from.
CLIENT_ADDRESS = "198.51.100.3"
# Master N of a spec with `masters: 2` (master 1 is MASTER_ADDRESS).
MASTER2_ADDRESS = "198.51.100.4"
MASTER_ADDRESSES = (MASTER_ADDRESS, MASTER2_ADDRESS)
# The service namespaces (services.py): etcd for `store: etcd`, Prometheus for `prometheus: true`.
ETCD_ADDRESS = "198.51.100.5"
PROMETHEUS_ADDRESS = "198.51.100.6"
# `scenario-sandbox webhook`: the receiver's namespace, made on demand.
WEBHOOK_ADDRESS = "198.51.100.7"
# Addresses below the LB's that the sandbox's own namespaces may use; `lb` may not take one.
RESERVED = {
    MASTER_ADDRESS: "master",
    CLIENT_ADDRESS: "client",
    MASTER2_ADDRESS: "master 2",
    ETCD_ADDRESS: "etcd",
    PROMETHEUS_ADDRESS: "prometheus",
    WEBHOOK_ADDRESS: "webhook",
}
FIRST_HOST = 11

TOP_KEYS = {"lb", "repo", "hosts", "app", "master", "haproxy", "masters", "store", "prometheus", "bad_builds", "api"}
HAPROXY_KEYS = {"backend", "servers"}
MASTER_COUNTS = (1, 2)
STORES = ("local", "etcd")
HAPROXY_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
# The load balancer's minion id when the spec has haproxy.
LB_MINION = "lb"
HOST_KEYS = {"grains", "packages", "repo", "nrpe"}
MASTER_KEYS = {"config"}
# What makes the sandbox a sandbox (its paths, address, ports, file_roots): not overridable.
MASTER_MANAGED = {
    "id",
    "root_dir",
    "cachedir",
    "sock_dir",
    "pki_dir",
    "interface",
    "ipv6",
    "publish_port",
    "ret_port",
    "user",
    "file_roots",
    "log_file",
}

# Host names end up in netns-side file names and unix socket paths (108 byte limit).
HOST_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,19}$")
# Debian policy 5.6.1 / 5.6.12.
PACKAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
DEB_VERSION = re.compile(r"^(?:[0-9]+:)?[0-9][A-Za-z0-9.+~-]*(?<!-)$")
NRPE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def load_spec(spec=None):
    """Return the normal form of ``spec``: None (the default spec), a path to YAML, or a dict."""
    if spec is None:
        spec = DEFAULT_SPEC
    if isinstance(spec, (str, Path)):
        path = Path(spec)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SandboxError(f"spec {path}: cannot read: {exc.strerror}") from exc
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise SandboxError(f"spec {path}: not valid YAML: {exc}") from exc
    elif isinstance(spec, dict):
        data = spec
    else:
        raise SandboxError(f"spec: expected None, a path or a dict, got {type(spec).__name__}")
    return validate(data)


def validate(data):
    """Check a raw spec dict and return its normal form, or raise SandboxError naming the key."""
    if not isinstance(data, dict):
        raise SandboxError("spec: the top level must be a mapping")
    unknown = set(data) - TOP_KEYS
    if unknown:
        raise SandboxError(f"spec: unknown key(s) {sorted(unknown)}; allowed: {sorted(TOP_KEYS)}")

    repo = _repo(data.get("repo"), "repo", required=True)
    hosts_raw = data.get("hosts")
    if not isinstance(hosts_raw, dict) or not hosts_raw:
        raise SandboxError("hosts: must be a non-empty mapping of host name -> settings")
    last = FIRST_HOST + len(hosts_raw) - 1
    if last > 254:
        raise SandboxError(f"hosts: at most {255 - FIRST_HOST} hosts fit in {SUBNET}")

    lb = _lb(data.get("lb", "198.51.100.10"), last)
    app = data.get("app", next(iter(repo)))
    if not isinstance(app, str) or app not in repo:
        raise SandboxError(f"app: must name a package of repo {sorted(repo)}, got {app!r}")

    hosts = {}
    for index, (name, settings) in enumerate(hosts_raw.items()):
        if not isinstance(name, str) or not HOST_NAME.match(name):
            raise SandboxError(
                f"hosts.{name}: bad host name; use 1-20 characters [a-z0-9-], starting with a letter or digit"
            )
        hosts[name] = _host(name, settings, repo, str(SUBNET.network_address + FIRST_HOST + index))
    return {
        "lb": lb,
        "app": app,
        "repo": repo,
        "hosts": hosts,
        "master": _master(data.get("master")),
        "haproxy": _haproxy(data.get("haproxy"), hosts, app),
        "masters": _masters(data.get("masters", 1)),
        "store": _store(data.get("store", "local"), hosts),
        "prometheus": _prometheus(data.get("prometheus", False), data.get("haproxy"), hosts),
        "bad_builds": _bad_builds(data.get("bad_builds"), repo, hosts, app),
        "api": _api(data.get("api", False), data.get("master"), hosts),
    }


# What `api: true` sets in the masters' config; the spec's master.config may add to external_auth
# (another eauth backend) but not replace these.
API_OPTIONS = ("rest_cherrypy",)


def _api(value, master, hosts):
    """`api: true`: salt-api with file eauth test users in master 1's namespace."""
    if not isinstance(value, bool):
        raise SandboxError(f"api: must be true or false, got {value!r}")
    if not value:
        return False
    config = (master or {}).get("config") or {} if isinstance(master, dict) else {}
    taken = [key for key in API_OPTIONS if key in config]
    if isinstance(config.get("external_auth"), dict) and "file" in config["external_auth"]:
        taken.append("external_auth.file")
    if taken:
        raise SandboxError(f"master.config: {taken} are set by api: true (salt-api and its test users)")
    if "api" in hosts:
        raise SandboxError("hosts.api: the name is the salt-api service's when api is on")
    return True


def _prometheus(value, haproxy, hosts):
    """`prometheus: true` scrapes HAProxy's exporter, so it needs the spec's haproxy."""
    if not isinstance(value, bool):
        raise SandboxError(f"prometheus: must be true or false, got {value!r}")
    if value and haproxy in (None, False):
        raise SandboxError("prometheus: needs haproxy (it scrapes HAProxy's exporter); add `haproxy: true`")
    if value and "prometheus" in hosts:
        raise SandboxError("hosts.prometheus: the name is the Prometheus service's when prometheus is on")
    return value


def _bad_builds(value, repo, hosts, app):
    """`bad_builds: {APP: {VERSION: FRACTION}}`: that build of the app answers 500 to that fraction."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SandboxError("bad_builds: must be a mapping {package: {version: fraction}}")
    offered = {v for versions in repo.values() for v in versions}
    offered |= {v for host in hosts.values() for versions in (host["repo"] or {}).values() for v in versions}
    normal = {}
    for package, builds in value.items():
        where = f"bad_builds.{package}"
        if package != app:
            raise SandboxError(f"{where}: only the app ({app}) has a web service to fail")
        if not isinstance(builds, dict) or not builds:
            raise SandboxError(f"{where}: must be a non-empty mapping {{version: fraction}}")
        normal[package] = {}
        for raw_version, fraction in builds.items():
            version = _version(raw_version, where)
            if version not in offered:
                raise SandboxError(f"{where}: version {version} is in no repo of the spec")
            if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction <= 1:
                raise SandboxError(
                    f"{where}.{version}: the fraction of failed requests must be in (0, 1], got {fraction!r}"
                )
            normal[package][version] = float(fraction)
    return normal


def _store(value, hosts):
    """`store: local` (default: the masters' own files) or `etcd` (a real etcd the masters share)."""
    if value not in STORES:
        raise SandboxError(f"store: must be one of {list(STORES)}, got {value!r}")
    if value == "etcd" and "etcd" in hosts:
        raise SandboxError("hosts.etcd: the name is the etcd service's (stop etcd / start etcd) when store is etcd")
    return value


def _masters(value):
    """`masters: 1` (default) or `2`: how many salt-masters run hot/hot."""
    if isinstance(value, bool) or value not in MASTER_COUNTS:
        raise SandboxError(f"masters: must be one of {list(MASTER_COUNTS)}, got {value!r}")
    return value


def _haproxy(value, hosts, app):
    """`haproxy: true` or `{backend: web, servers: [web1, ...]}` -> {"backend", "servers"}; None when off.

    The servers default to the hosts that have the app installed (the web hosts).
    """
    if value is None or value is False:
        return None
    if value is True:
        value = {}
    if not isinstance(value, dict):
        raise SandboxError("haproxy: must be true or a mapping {backend: NAME, servers: [HOST, ...]}")
    unknown = set(value) - HAPROXY_KEYS
    if unknown:
        raise SandboxError(f"haproxy: unknown field(s) {sorted(unknown)}; allowed: {sorted(HAPROXY_KEYS)}")
    backend = value.get("backend", "web")
    if not isinstance(backend, str) or not HAPROXY_NAME.match(backend):
        raise SandboxError(f"haproxy.backend: {backend!r} is not a HAProxy name (letters, digits, - _ . :)")
    servers = value.get("servers")
    if servers is None:
        servers = [name for name, host in hosts.items() if app in host["packages"]]
    if not isinstance(servers, list) or not servers:
        raise SandboxError("haproxy.servers: must be a non-empty list of host names")
    for server in servers:
        if server not in hosts:
            raise SandboxError(f"haproxy.servers: {server!r} is not a host of the spec")
    if LB_MINION in hosts:
        raise SandboxError(f"hosts.{LB_MINION}: the name is the load balancer's minion id when haproxy is on")
    return {"backend": backend, "servers": list(dict.fromkeys(servers))}


def _master(value):
    """`master: {config: {...}}`: extra salt-master options (e.g. external_auth, reactor allowlists)."""
    if value is None:
        return {"config": {}}
    if not isinstance(value, dict):
        raise SandboxError("master: must be a mapping (e.g. {config: {external_auth: ...}})")
    unknown = set(value) - MASTER_KEYS
    if unknown:
        raise SandboxError(f"master: unknown field(s) {sorted(unknown)}; allowed: {sorted(MASTER_KEYS)}")
    config = value.get("config") or {}
    if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
        raise SandboxError("master.config: must be a mapping of salt-master option -> value")
    managed = sorted(set(config) & MASTER_MANAGED)
    if managed:
        raise SandboxError(f"master.config: {managed} are set by the sandbox and cannot be overridden")
    return {"config": dict(config)}


def _lb(value, last_host):
    try:
        address = ipaddress.IPv4Address(str(value))
    except ValueError as exc:
        raise SandboxError(f"lb: not an IPv4 address: {value!r}") from exc
    if address not in SUBNET:
        raise SandboxError(f"lb: {address} is outside the sandbox network {SUBNET}")
    last = int(address) - int(SUBNET.network_address)
    if last in (0, 255) or str(address) in RESERVED or FIRST_HOST <= last <= last_host:
        reserved = ", ".join(f"{what} ({addr})" for addr, what in RESERVED.items())
        raise SandboxError(
            f"lb: {address} collides with the network, broadcast, {reserved} "
            f"or host addresses (.{FIRST_HOST}-.{last_host})"
        )
    return str(address)


def _version(value, where):
    # YAML reads 4.2 as a float and would silently lose "4.20"; make the author quote it.
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise SandboxError(f"{where}: version must be a string (quote it in YAML), got {value!r}")
    text = str(value)
    if not DEB_VERSION.match(text):
        raise SandboxError(f"{where}: {text!r} is not a valid Debian version")
    return text


def _package(name, where):
    if not isinstance(name, str) or not PACKAGE_NAME.match(name):
        raise SandboxError(f"{where}: {name!r} is not a valid Debian package name")
    return name


def _repo(value, where, required=False):
    if value is None and not required:
        return None
    if not isinstance(value, dict) or not value:
        raise SandboxError(f"{where}: must be a non-empty mapping of package -> [versions]")
    repo = {}
    for name, versions in value.items():
        _package(name, f"{where}.{name}")
        listed = [versions] if isinstance(versions, (str, int, float)) else versions
        if not isinstance(listed, list) or not listed:
            raise SandboxError(f"{where}.{name}: must be a non-empty list of versions")
        repo[name] = [_version(v, f"{where}.{name}") for v in listed]
        if len(set(repo[name])) != len(repo[name]):
            raise SandboxError(f"{where}.{name}: duplicate versions {repo[name]}")
    return repo


def _host(name, settings, repo, address):
    where = f"hosts.{name}"
    if settings is None:
        settings = {}
    if not isinstance(settings, dict):
        raise SandboxError(f"{where}: must be a mapping")
    unknown = set(settings) - HOST_KEYS
    if unknown:
        raise SandboxError(f"{where}: unknown field(s) {sorted(unknown)}; allowed: {sorted(HOST_KEYS)}")

    grains = settings.get("grains") or {}
    if not isinstance(grains, dict) or not all(isinstance(k, str) for k in grains):
        raise SandboxError(f"{where}.grains: must be a mapping with string keys")

    host_repo = _repo(settings.get("repo"), f"{where}.repo")
    packages = {}
    raw_packages = settings.get("packages") or {}
    if not isinstance(raw_packages, dict):
        raise SandboxError(f"{where}.packages: must be a mapping of package -> version")
    for pkg, raw_version in raw_packages.items():
        _package(pkg, f"{where}.packages.{pkg}")
        version = _version(raw_version, f"{where}.packages.{pkg}")
        offered = set(repo.get(pkg, [])) | set((host_repo or {}).get(pkg, []))
        if version not in offered:
            raise SandboxError(f"{where}.packages.{pkg}: version {version} is in neither repo nor {where}.repo")
        packages[pkg] = version

    nrpe = settings.get("nrpe") or {}
    if not isinstance(nrpe, dict):
        raise SandboxError(f"{where}.nrpe: must be a mapping of check name -> command line")
    for check, command in nrpe.items():
        if not isinstance(check, str) or not NRPE_NAME.match(check):
            raise SandboxError(f"{where}.nrpe.{check}: bad check name; use [A-Za-z0-9_.-]")
        if not isinstance(command, str) or not command.strip() or "\n" in command:
            raise SandboxError(f"{where}.nrpe.{check}: must be a one-line command string")

    return {
        "address": address,
        "grains": dict(grains),
        "packages": packages,
        "repo": host_repo,
        "nrpe": dict(nrpe),
    }


def address6(address):
    """The IPv6 twin of a sandbox IPv4 address: 198.51.100.11 -> 2001:db8:100::11."""
    return SUBNET6_PREFIX + address.rsplit(".", 1)[1]
