"""The spec's `masters: 2`: two hot/hot salt-masters with one key pair and the same file_roots."""

import pytest
import yaml

from saltext.scenario.sandbox import Sandbox, SandboxError, cli, load_spec
from saltext.scenario.sandbox.master import Master, master_keypair

BASE = {"repo": {"mywebapp": ["4.2.5-1"]}, "hosts": {"web1": {"packages": {"mywebapp": "4.2.5-1"}}}}


def test_one_master_by_default_two_on_request():
    assert load_spec(BASE)["masters"] == 1
    assert load_spec({**BASE, "masters": 2})["masters"] == 2


@pytest.mark.parametrize("value", [0, 3, "2", True, 1.5])
def test_bad_master_counts_name_the_key(value):
    with pytest.raises(SandboxError, match=r"^masters: must be one of \[1, 2\]"):
        load_spec({**BASE, "masters": value})


def test_lb_may_not_take_master_2s_address():
    with pytest.raises(SandboxError, match=r"lb: 198\.51\.100\.4 collides.*master 2"):
        load_spec({**BASE, "lb": "198.51.100.4"})


def test_master_2_has_its_own_address_dirs_and_id_and_the_same_file_roots(tmp_path):
    one, two = Master(tmp_path, "ns1", tmp_path, 1), Master(tmp_path, "ns2", tmp_path, 2)
    for master in (one, two):
        master.write_config("198.51.100.10", [str(tmp_path)])
    first = yaml.safe_load((one.conf_dir / "master").read_text())
    second = yaml.safe_load((two.conf_dir / "master").read_text())
    assert (first["interface"], second["interface"]) == ("198.51.100.2", "198.51.100.4")
    assert (first["id"], second["id"]) == ("sandbox-master", "sandbox-master-2")
    assert second["root_dir"] == str(tmp_path / "m2") and second["pki_dir"] == str(tmp_path / "m2" / "pki")
    assert first["file_roots"] == second["file_roots"]


def test_both_masters_get_one_key_pair(tmp_path):
    private, public = master_keypair()
    assert private.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert public.startswith(b"-----BEGIN PUBLIC KEY-----")
    masters = [Master(tmp_path, "ns", tmp_path, n) for n in (1, 2)]
    for master in masters:
        master.install_keys(private, public)
    assert {(m.pki_dir / "master.pem").read_bytes() for m in masters} == {private}
    assert (masters[1].pki_dir / "master.pem").stat().st_mode & 0o777 == 0o400


def test_master_option_is_split_off_as_a_global_option():
    assert cli._split(["--master", "2", "salt-run", "scenario.run", "x"]) == (
        ["--master", "2", "salt-run"],
        ["scenario.run", "x"],
    )


def test_master_option_is_refused_where_it_does_not_apply(capsys):
    with pytest.raises(SandboxError, match="--master applies to restart-master, salt, salt-run only"):
        cli.run(["--name", "never", "--master", "2", "salt-call", "web1", "test.ping"])


def test_a_master_the_spec_lacks_is_refused(tmp_path):
    sandbox = Sandbox("m", root=tmp_path)
    sandbox._record = {"spec": load_spec(BASE)}
    sandbox._building = True
    with pytest.raises(SandboxError, match="has 1 master"):
        sandbox.salt_run("test.ping", master=2)
