"""scenario-sandbox argument handling: global options stop at the command, pass-throughs are verbatim."""

import pytest

from saltext.scenario.sandbox import cli


@pytest.mark.parametrize(
    "argv, head, rest",
    [
        (["up"], ["up"], []),
        (["--name", "ci2", "up", "--spec", "s.yaml"], ["--name", "ci2", "up"], ["--spec", "s.yaml"]),
        (
            ["salt", "-C", "G@roles:x and G@country:de", "test.ping"],
            ["salt"],
            ["-C", "G@roles:x and G@country:de", "test.ping"],
        ),
        (
            ["--name=x", "salt-call", "web1", "pkg.version", "mywebapp"],
            ["--name=x", "salt-call"],
            ["web1", "pkg.version", "mywebapp"],
        ),
        (["exec", "web1", "--", "iptables", "-S"], ["exec"], ["web1", "--", "iptables", "-S"]),
        (["--name", "up", "status"], ["--name", "up", "status"], []),
        (["salt-run", "status"], ["salt-run"], ["status"]),
    ],
)
def test_split_keeps_pass_through_args_verbatim(argv, head, rest):
    assert cli._split(argv) == (head, rest)


def test_help_shows_commands_and_examples(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for text in (
        "probe HOST",
        "exec HOST -- CMD",
        "salt-call HOST",
        "examples:",
        "scenario-sandbox salt -C 'G@roles:dev_server and G@country:de' test.ping",
        "SCENARIO_SANDBOX",
    ):
        assert text in out


def test_unknown_command_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as info:
        cli.run(["frobnicate"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
