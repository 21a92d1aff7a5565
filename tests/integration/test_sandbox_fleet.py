"""The sandbox's fleet-scale pieces on one sandbox of this module: two hot/hot salt-masters."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from saltext.scenario.sandbox import DEFAULT_SPEC

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

SPEC = {**yaml.safe_load(DEFAULT_SPEC.read_text()), "masters": 2}


@pytest.fixture(scope="module")
def sandbox(make_sandbox):
    own = make_sandbox(SPEC, name=f"fl{os.getpid()}")
    yield own
    own.down()


def cli(sandbox, *args, timeout=120):
    argv = [sys.executable, "-m", "saltext.scenario.sandbox", "--name", sandbox.name, *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def test_both_masters_answer_for_every_host_with_one_key(sandbox):
    for master in ("1", "2"):
        proc = cli(sandbox, "--master", master, "salt", "*", "test.ping", "--out=json", "--static")
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout) == dict.fromkeys(sandbox.hosts, True), master
    masters = json.loads(cli(sandbox, "status", "--json").stdout)["masters"]
    assert [(m["index"], m["address"], m["running"]) for m in masters] == [
        (1, "198.51.100.2", True),
        (2, "198.51.100.4", True),
    ]
    keys = {(sandbox.state_dir / d / "pki" / "master.pub").read_bytes() for d in ("m", "m2")}
    assert len(keys) == 1
    assert sandbox.salt_run("config.get", "interface", "--out=json", master=2).stdout.strip() == '"198.51.100.4"'
