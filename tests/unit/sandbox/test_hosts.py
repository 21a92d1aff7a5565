"""A sandbox host's files (sandbox/hosts.py): written under its state dir only."""

import yaml

from saltext.scenario.sandbox.hosts import Host


def test_minion_config_leaves_service_to_debian_service(tmp_path):
    # systemctl is installed but no systemd runs in a host: systemd_service would load beside
    # debian_service and put the service.running state in "OFFLINE mode" (a no-op).
    host = Host(tmp_path, "web1", {"address": "198.51.100.11", "nrpe": {}, "grains": {}}, "ns", tmp_path, "mywebapp")
    host.write_files(tmp_path / "repo")
    config = yaml.safe_load((host.conf_dir / "minion").read_text())
    assert config["disable_modules"] == ["systemd_service"]
    assert config["id"] == "web1" and config["root_dir"] == str(tmp_path / "h" / "web1")
    assert (host.fs / "etc-init.d.upper" / "mywebapp").read_text().startswith("#!/bin/sh")
