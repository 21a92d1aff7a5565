"""Unit tests of the nrpe.cfg reader in _modules/nrpe.py (real files in tmp_path)."""

import os

import pytest
from salt.exceptions import CommandExecutionError

from tests.support.fake_dunders import load

nrpe = load("_modules/nrpe.py")


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_commands_options_comments_and_blank_lines(tmp_path):
    cfg = write(
        tmp_path / "nrpe.cfg",
        "# a comment\n"
        "\n"
        "   \n"
        "server_port=5666\n"
        "command_timeout = 30\n"
        "command[check_users]=/usr/lib/nagios/plugins/check_users -w 5 -c 10\n"
        "  command[check_x] = /bin/echo  'two words'  \n"
        "\t# indented comment\n",
    )
    parsed = nrpe._read_config(str(cfg))
    assert parsed["commands"] == {
        "check_users": "/usr/lib/nagios/plugins/check_users -w 5 -c 10",
        "check_x": "/bin/echo  'two words'",
    }
    assert parsed["options"] == {"server_port": "5666", "command_timeout": "30"}
    assert parsed["files"] == [str(cfg)]


def test_include_and_include_dir_sorted_recursive(tmp_path):
    write(tmp_path / "local.cfg", "command[local]=/bin/true\n")
    write(tmp_path / "nrpe.d" / "b.cfg", "command[b]=/bin/b\n")
    write(tmp_path / "nrpe.d" / "a.cfg", "command[a]=/bin/a\n")
    write(tmp_path / "nrpe.d" / "sub" / "c.cfg", "command[c]=/bin/c\n")
    write(tmp_path / "nrpe.d" / "ignored.txt", "command[ignored]=/bin/no\n")
    write(tmp_path / "nrpe.d" / "broken.cfg.bak", "this is not a config\n")
    cfg = write(
        tmp_path / "nrpe.cfg",
        f"command[main]=/bin/main\ninclude={tmp_path}/local.cfg\ninclude_dir={tmp_path}/nrpe.d/\n",
    )
    parsed = nrpe._read_config(str(cfg))
    assert parsed["commands"] == {
        "main": "/bin/main",
        "local": "/bin/true",
        "a": "/bin/a",
        "b": "/bin/b",
        "c": "/bin/c",
    }
    assert [p.rsplit("/", 1)[-1] for p in parsed["files"]] == ["nrpe.cfg", "local.cfg", "a.cfg", "b.cfg", "c.cfg"]


def test_relative_includes_resolve_beside_the_including_file(tmp_path):
    write(tmp_path / "conf" / "extra.cfg", "command[extra]=/bin/extra\n")
    write(tmp_path / "conf" / "d" / "x.cfg", "command[x]=/bin/x\n")
    cfg = write(tmp_path / "conf" / "nrpe.cfg", "include=extra.cfg\ninclude_dir=d\n")
    assert nrpe._read_config(str(cfg))["commands"] == {"extra": "/bin/extra", "x": "/bin/x"}


def test_duplicates_last_wins_across_includes(tmp_path):
    write(tmp_path / "override.cfg", "command[check]=/bin/second\n")
    cfg = write(
        tmp_path / "nrpe.cfg",
        "command[check]=/bin/first\ninclude=override.cfg\ncommand[other]=/bin/o\ncommand[other]=/bin/o2\n",
    )
    assert nrpe._read_config(str(cfg))["commands"] == {"check": "/bin/second", "other": "/bin/o2"}


def test_same_file_included_twice_is_not_a_loop(tmp_path):
    write(tmp_path / "common.cfg", "command[c]=/bin/c\n")
    cfg = write(tmp_path / "nrpe.cfg", "include=common.cfg\ninclude=common.cfg\n")
    assert nrpe._read_config(str(cfg))["commands"] == {"c": "/bin/c"}


def test_self_include_loop(tmp_path):
    cfg = write(tmp_path / "nrpe.cfg", "command[a]=/bin/a\ninclude=nrpe.cfg\n")
    with pytest.raises(CommandExecutionError, match=r"include loop at .*nrpe\.cfg:2"):
        nrpe._read_config(str(cfg))


def test_two_file_include_loop_names_the_files(tmp_path):
    write(tmp_path / "b.cfg", "command[b]=/bin/b\ninclude=a.cfg\n")
    cfg = write(tmp_path / "a.cfg", "include=b.cfg\n")
    with pytest.raises(CommandExecutionError) as err:
        nrpe._read_config(str(cfg))
    message = str(err.value)
    assert "include loop" in message and "b.cfg:2" in message
    assert f"{tmp_path}/a.cfg -> {tmp_path}/b.cfg -> {tmp_path}/a.cfg" in message


def test_include_dir_loop(tmp_path):
    write(tmp_path / "d" / "back.cfg", f"include={tmp_path}/nrpe.cfg\n")
    cfg = write(tmp_path / "nrpe.cfg", "include_dir=d\n")
    with pytest.raises(CommandExecutionError, match=r"include loop at .*back\.cfg:1"):
        nrpe._read_config(str(cfg))


def test_symlink_loop_is_caught_by_real_path(tmp_path):
    cfg = write(tmp_path / "nrpe.cfg", "include=alias.cfg\n")
    (tmp_path / "alias.cfg").symlink_to(cfg)
    with pytest.raises(CommandExecutionError, match="include loop"):
        nrpe._read_config(str(cfg))


@pytest.mark.parametrize(
    "line, reason",
    [
        ("just some words", "bad line"),
        ("=value", "bad line"),
        ("command[check_x=/bin/x", "bad command definition"),
        ("command[]=/bin/x", "bad command name"),
        ("command[../x]=/bin/x", "bad command name"),
        ("command[a/b]=/bin/x", "bad command name"),
        ("command[check x]=/bin/x", "bad command name"),
        ("command[check_x]=", "empty command line"),
        ("command[check_x]=   ", "empty command line"),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path, line, reason):
    cfg = write(tmp_path / "nrpe.cfg", f"# fine\ncommand[ok]=/bin/true\n{line}\n")
    with pytest.raises(CommandExecutionError, match=reason) as err:
        nrpe._read_config(str(cfg))
    assert f"{cfg}:3" in str(err.value)


def test_bad_line_in_an_included_file(tmp_path):
    write(tmp_path / "nrpe.d" / "bad.cfg", "\n\nnot a setting\n")
    cfg = write(tmp_path / "nrpe.cfg", "include_dir=nrpe.d\n")
    with pytest.raises(CommandExecutionError, match=r"nrpe\.d/bad\.cfg:3"):
        nrpe._read_config(str(cfg))


def test_bad_line_error_does_not_echo_file_content(tmp_path):
    cfg = write(tmp_path / "nrpe.cfg", "root:secret-hash:19000:0:99999:7:::\n")
    with pytest.raises(CommandExecutionError) as err:
        nrpe._read_config(str(cfg))
    assert "secret-hash" not in str(err.value)


def test_missing_main_config(tmp_path):
    with pytest.raises(CommandExecutionError, match=r"cannot read nrpe config .*nope\.cfg"):
        nrpe._read_config(str(tmp_path / "nope.cfg"))


def test_missing_include_names_where_it_was_included(tmp_path):
    cfg = write(tmp_path / "nrpe.cfg", "\ninclude=gone.cfg\n")
    with pytest.raises(CommandExecutionError, match=r"gone\.cfg \(included at .*nrpe\.cfg:2\)"):
        nrpe._read_config(str(cfg))


def test_missing_include_dir(tmp_path):
    cfg = write(tmp_path / "nrpe.cfg", "include_dir=gone.d\n")
    with pytest.raises(CommandExecutionError, match=r"gone\.d named at .*nrpe\.cfg:1 is not a directory"):
        nrpe._read_config(str(cfg))


@pytest.mark.skipif(not os.path.exists("/etc/nagios/nrpe.cfg"), reason="nagios-nrpe-server not installed")
def test_the_machines_packaged_config_parses():
    # Debian's stock nrpe.cfg: long, commented, with include and include_dir.
    parsed = nrpe._read_config("/etc/nagios/nrpe.cfg")
    assert "check_users" in parsed["commands"]
    assert parsed["options"]["dont_blame_nrpe"] == "0"
