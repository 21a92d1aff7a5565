"""Typed parameters: good values pass, anything shell-ish or option-looking is refused."""

import pytest

from saltext.scenario.engine.steps.params import TYPES


def _ok(type_name, value):
    return TYPES[type_name].convert(value)


@pytest.mark.parametrize(
    "type_name,value,expected",
    [
        ("ip", "198.51.100.10", "198.51.100.10"),
        ("ip", "2001:db8::1", "2001:db8::1"),
        ("package", "mywebapp", "mywebapp"),
        ("package", "libc6-dev", "libc6-dev"),
        ("package", "g++", "g++"),
        ("version", "4.2.6-3", "4.2.6-3"),
        ("version", "4.2.6-3.el5", "4.2.6-3.el5"),
        ("version", ">=4.2", ">=4.2"),
        ("version", "1:2.0~rc1+b2", "1:2.0~rc1+b2"),
        ("service", "mywebapp", "mywebapp"),
        ("check", "check_load", "check_load"),
        ("class", "roles::dev_server", "roles::dev_server"),
        ("fact", "country=de", "country=de"),
        ("grain", "roles:dev_server", "roles:dev_server"),
        ("compound", "G@roles:web and not L@web4,web5", "G@roles:web and not L@web4,web5"),
        ("compound", "*", "*"),
        ("path", "/opt/mywebapp/VERSION", "/opt/mywebapp/VERSION"),
        ("n", "3", 3),
        ("percent", "25", 25),
        ("sls", "mywebapp", "mywebapp"),
        ("sls", "web.nginx.config", "web.nginx.config"),
        ("sls", "my-app_2", "my-app_2"),
        ("pillar_key", "mywebapp:version", "mywebapp:version"),
        ("pillar_key", "release", "release"),
        ("pillar_value", "4.2.6-3", "4.2.6-3"),
        ("pillar_value", "1:2.0~rc1+b2", "1:2.0~rc1+b2"),
        ("pillar_value", "blue_green", "blue_green"),
    ],
)
def test_good_values(type_name, value, expected):
    assert _ok(type_name, value) == expected


@pytest.mark.parametrize(
    "type_name,value",
    [
        ("ip", "198.51.100.300"),
        ("ip", "lb.example.com"),
        ("ip", "198.51.100.0/24"),
        ("package", "mywebapp; rm -rf /"),
        ("package", "-x"),
        ("package", "MyWebApp"),
        ("package", "a b"),
        ("package", "$(reboot)"),
        ("version", "-1"),
        ("version", ">=-1"),
        ("version", "4.2`id`"),
        ("version", "4.2 4.3"),
        ("service", "-x"),
        ("service", "web|cat"),
        ("check", "check load"),
        ("check", "check_load;id"),
        ("class", "roles::"),
        ("class", "a:b"),
        ("fact", "country"),
        ("fact", "country=de;x"),
        ("grain", "roles"),
        ("grain", "roles:$(id)"),
        ("compound", "G@a:b; reboot"),
        ("compound", "-x"),
        ("compound", "E@`id`"),
        ("path", "relative/path"),
        ("path", "/opt/../etc/passwd"),
        ("path", "/opt/x y"),
        ("n", "0"),
        ("percent", "0"),
        ("percent", "101"),
        ("sls", "../x"),
        ("sls", "a/b"),
        ("sls", "/srv/salt/mywebapp"),
        ("sls", "salt://mywebapp"),
        ("sls", "{{ x }}"),
        ("sls", "{% include x %}"),
        ("sls", "a b"),
        ("sls", "-x"),
        ("sls", "a;b"),
        ("sls", "a..b"),
        ("sls", "a."),
        ("sls", "a,b"),
        ("pillar_key", "a b"),
        ("pillar_key", "-x"),
        ("pillar_key", "a;b"),
        ("pillar_key", "{{ x }}"),
        ("pillar_key", "mywebapp.version"),
        ("pillar_key", "a::b"),
        ("pillar_value", "4.2 6"),
        ("pillar_value", '"4.2.6-3"'),
        ("pillar_value", "'4.2.6-3'"),
        ("pillar_value", "-x"),
        ("pillar_value", "a;b"),
        ("pillar_value", "$(id)"),
        ("pillar_value", "{{ x }}"),
        ("pillar_value", "a=b"),
    ],
)
def test_bad_values(type_name, value):
    with pytest.raises(ValueError):
        _ok(type_name, value)


def test_dotted_pillar_key_is_refused_with_the_colon_spelling():
    # pillar.get('mywebapp:version') would not see a key "mywebapp.version": say how to write it
    with pytest.raises(ValueError, match=r"nest pillar keys with ':' as pillar.get does \(mywebapp:version\)"):
        _ok("pillar_key", "mywebapp.version")
