"""config.py: every master option read in one place, checked, and documented in the README."""

import re
from pathlib import Path

import pytest

from saltext.scenario import config
from saltext.scenario.engine.errors import EXIT_INVALID

README = Path(__file__).resolve().parents[2] / "README.md"


def test_defaults_without_any_option():
    settings = config.load({"cachedir": "/c"})
    assert settings.timeout == config.DEFAULT_TIMEOUT
    assert settings.discovery_timeout == config.DEFAULT_DISCOVERY_TIMEOUT
    assert settings.gather_job_timeout == config.DEFAULT_GATHER_JOB_TIMEOUT
    assert settings.journal == "/c/scenario/journal.jsonl"
    assert settings.step_functions == config.READ_ONLY_FUNCTIONS
    assert settings.reactor_allow == () and settings.reactor_senders == ()
    assert settings.lb_address is None


def test_master_timeout_is_the_fallback_and_discovery_follows_it():
    settings = config.load({"cachedir": "/c", "timeout": 2})
    assert (settings.timeout, settings.discovery_timeout) == (2, 2)
    settings = config.load({"cachedir": "/c", "timeout": 60, "scenario_timeout": 30})
    assert (settings.timeout, settings.discovery_timeout) == (30, 3)


def test_runner_timeout_argument_applies_over_the_options():
    settings = config.load({"cachedir": "/c", "scenario_timeout": 30}).with_timeout("7")
    assert settings.timeout == 7
    with pytest.raises(config.InvalidOption, match=r"timeout='soon'"):
        config.load({"cachedir": "/c"}).with_timeout("soon")


def test_values_are_normalised():
    settings = config.load(
        {
            "cachedir": "/c",
            "scenario_lb_address": "2001:db8:0:0::1",
            "scenario_reactor_allow": "update_website",
            "scenario_step_functions": ["service.*"],
        }
    )
    assert settings.lb_address == "2001:db8::1"
    assert settings.reactor_allow == ("update_website",)
    assert settings.allows_function("service.status") and not settings.allows_function("cmd.run")


@pytest.mark.parametrize(
    ("option", "value", "why"),
    [
        ("scenario_lb_address", "lb.example.com", "IPv4 or IPv6 address"),
        ("scenario_timeout", "0", "between 1"),
        ("scenario_timeout", True, "number of seconds"),
        ("scenario_discovery_timeout", "3s", "whole number"),
        ("scenario_gather_job_timeout", -1, "between 1"),
        ("scenario_journal", "relative/journal.jsonl", "absolute path"),
        ("scenario_journal", "/var/../etc/journal", "absolute path"),
        ("scenario_step_functions", {"cmd.run": True}, "list of function globs"),
        ("scenario_step_functions", ["cmd.run; rm"], "not a valid function glob"),
        ("scenario_reactor_allow", ["../etc/passwd"], "not a valid scenario name"),
        ("scenario_reactor_senders", [7], "not a valid minion id glob"),
    ],
)
def test_a_bad_value_is_an_error_naming_the_option(option, value, why):
    with pytest.raises(config.InvalidOption) as caught:
        config.load({"cachedir": "/c", option: value})
    assert caught.value.retcode == EXIT_INVALID
    assert str(caught.value).startswith(f"master option {option}=")
    assert why in str(caught.value)


def test_every_option_is_documented_and_the_readme_shows_the_table():
    names = [o.name for o in config.OPTIONS]
    assert len(names) == len(set(names))
    assert all(o.doc and o.name.startswith("scenario_") for o in config.OPTIONS)
    assert config.options_table() in README.read_text(encoding="utf-8")


def test_no_module_reads_a_scenario_option_but_config():
    src = Path(config.__file__).parent
    readers = []
    for path in [*src.rglob("*.py"), *(src.parents[2] / "_runners").glob("*.py")]:
        if path.name == "config.py":
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"""opts(\.get\(|\[)["']scenario_""", text):
            readers.append(str(path))
    assert readers == []
