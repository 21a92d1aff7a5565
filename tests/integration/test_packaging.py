"""Both install paths make Salt's loader find our modules through the entry point.

One venv holds the dependencies; saltext-scenario is installed into it first as a
normal (wheel) install, then as an editable install. For each, a real
`salt-call --local` resolves a module through the `salt.loader` entry point: the
minion config names no module_dirs and the working directory is not the checkout.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import REPO

pytestmark = pytest.mark.slow


def _run(argv, cwd):
    # check=False: the assert below shows the command's output when it fails.
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, f"{argv} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def dep_venv(tmp_path_factory):
    venv = tmp_path_factory.mktemp("pkgvenv") / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=venv.parent)
    # The same pins pyproject.toml declares. These are only the test venv's dependencies: the
    # package under test is installed by this venv's own pip, below. `make` installs the
    # project's venv with uv, so uv's cache already holds them (pip's may be empty on a fresh
    # machine: a full download again); without uv, pip does it.
    deps = ["salt==3008.4", "pyyaml", "gherkin-official>=37,<40", "setuptools>=68", "wheel"]
    uv = Path(sys.executable).with_name("uv")
    if uv.exists():
        _run([str(uv), "pip", "install", "-q", "--python", str(venv / "bin/python"), *deps], cwd=venv.parent)
    else:
        _run([str(venv / "bin/pip"), "install", "-q", *deps], cwd=venv.parent)
    return venv


def _minion_config(tmp_path):
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "minion").write_text(f"root_dir: {tmp_path / 'root'}\nfile_client: local\nid: pkgtest\nlog_level: error\n")
    return conf


def _loader_dirs(venv, cwd):
    code = "import json, saltext.scenario as s; print(json.dumps(s.loader_dirs()))"
    return json.loads(_run([str(venv / "bin/python"), "-c", code], cwd=cwd))


def _salt_call(venv, conf, cwd, *args):
    out = _run([str(venv / "bin/salt-call"), "--local", "-c", str(conf), "--out=json", *args], cwd=cwd)
    return json.loads(out)["local"]


def _runner_functions(venv, conf, cwd):
    code = (
        "import json, salt.config, salt.loader;"
        f"opts = salt.config.master_config({str(conf / 'minion')!r});"
        "print(json.dumps(sorted(salt.loader.runner(opts))))"
    )
    return json.loads(_run([str(venv / "bin/python"), "-c", code], cwd=cwd))


@pytest.mark.parametrize("editable", [False, True], ids=["wheel", "editable"])
def test_install_resolves_modules_through_entry_point(dep_venv, tmp_path, editable):
    pip = str(dep_venv / "bin/pip")
    subprocess.run([pip, "uninstall", "-q", "-y", "saltext-scenario"], capture_output=True, check=False)
    install = [pip, "install", "-q", "--no-deps", "--no-build-isolation"]
    install += ["-e", str(REPO)] if editable else [str(REPO)]
    _run(install, cwd=tmp_path)

    dirs = _loader_dirs(dep_venv, cwd=tmp_path)
    site = str(dep_venv)
    for kind in ("modules", "states", "runners"):
        (path,) = dirs[kind]
        # Editable points back into the checkout; a wheel install must not.
        assert path.startswith(str(REPO)) if editable else path.startswith(site), (kind, path)

    conf = _minion_config(tmp_path)
    verdict = _salt_call(dep_venv, conf, tmp_path, "pkgcheck.verify", "dpkg", ">=1.0")
    assert verdict["ok"] is True and verdict["name"] == "dpkg"
    assert "lbgate.block" in _salt_call(dep_venv, conf, tmp_path, "sys.list_functions", "lbgate")
    assert "scenario.run" in _runner_functions(dep_venv, conf, tmp_path)
