"""template.py: the batch's values in a PromQL query, escaped for RE2 and for a PromQL string."""

import re

import pytest

from saltext.scenario.engine.gates.template import (
    BatchValues,
    TemplateError,
    placeholders,
    promql_string_body,
    regex_literal,
    render,
)

HOSTILE = [
    'web1"} or vector(1) #',
    "a|b",
    "web.*",
    "x\\y",
    "new\nline",
    "tab\tand space",
    "brace{}[]()",
    "ünïcode",
    "^$?+",
]


def _unquote_promql(body):
    """What PromQL makes of a double-quoted string body (the escapes template.py uses)."""
    out, i = [], 0
    while i < len(body):
        if body[i] == "\\":
            assert body[i + 1] in '\\"', f"unexpected escape in {body!r}"
            out.append(body[i + 1])
            i += 2
        else:
            assert body[i] != '"', f"an unescaped quote ends the string early: {body!r}"
            out.append(body[i])
            i += 1
    return "".join(out)


def _python_regex(re2):
    # \x{HH} is RE2's (and Perl's) spelling; Python's re writes \x{...} as \U or \u.
    return re.sub(r"\\x\{([0-9a-f]+)\}", lambda m: re.escape(chr(int(m.group(1), 16))), re2)


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_id_matches_only_itself(value):
    rendered = render('x{instance=~"{{ hosts }}"}', BatchValues(hosts=(value, "other")))
    body = rendered.removeprefix('x{instance=~"').removesuffix('"}')
    regex = _python_regex(_unquote_promql(body))
    assert re.fullmatch(regex, value)
    assert re.fullmatch(regex, "other")
    for near in ("web1", "a", "b", "webX", "x", "", value + "x", "x" + value):
        if near not in (value, "other"):
            assert not re.fullmatch(regex, near), (value, near)


def test_the_rendered_query_has_no_raw_newline_or_stray_quote():
    rendered = render('up{instance=~"{{ hosts }}"}', BatchValues(hosts=tuple(HOSTILE)))
    assert "\n" not in rendered
    assert rendered.count('"') - rendered.count('\\"') == 2


def test_three_names_each_a_group():
    values = BatchValues(hosts=("web1", "web2"), addresses=("198.51.100.11",), haproxy_servers=("web1_srv",))
    q = render(
        'a{h=~"{{hosts}}"} b{i=~"{{ addresses }}:9100"} c{s=~"{{ haproxy_servers }}"}',
        values,
    )
    assert q == 'a{h=~"(?:web1|web2)"} b{i=~"(?:198\\\\.51\\\\.100\\\\.11):9100"} c{s=~"(?:web1_srv)"}'


def test_same_batch_same_query_whatever_the_order():
    assert render("{{ hosts }}", BatchValues(hosts=("b", "a", "a"))) == render(
        "{{ hosts }}", BatchValues(hosts=("a", "b"))
    )


@pytest.mark.parametrize(
    ("template", "named"),
    [("{{ host }}", "host"), ("{{ hosts | join }}", "hosts | join"), ("{{ __import__('os') }}", "__import__")],
)
def test_unknown_placeholders_are_named(template, named):
    with pytest.raises(TemplateError) as err:
        placeholders(template)
    assert named in str(err.value)
    assert "{{ hosts }}" in str(err.value)


def test_unclosed_and_empty():
    with pytest.raises(TemplateError, match="unclosed"):
        placeholders('up{a="{{ hosts"}')
    with pytest.raises(TemplateError, match="no addresses"):
        render("{{ addresses }}", BatchValues(hosts=("web1",)))


def test_no_placeholders_is_fine_and_plain_braces_stay():
    assert placeholders('sum(up{job="web"})') == ()
    assert render('sum(up{job="web"})', BatchValues(hosts=("a",))) == 'sum(up{job="web"})'


def test_escapes():
    assert regex_literal("web-1.example_com") == "web\\-1\\.example_com"
    assert regex_literal("a b") == "a\\x{20}b"
    assert promql_string_body('a\\"b') == 'a\\\\\\"b'
