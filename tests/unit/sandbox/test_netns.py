"""Network namespace names of a sandbox (sandbox/netns.py): short enough for the kernel, tagged per sandbox."""

from saltext.scenario.sandbox.netns import ns_name, tag_of


def test_namespace_names_are_short_and_tagged():
    assert tag_of("default") != tag_of("t1234")
    for kind in ("sw", "lb", "ma", "h0", "h242"):
        name = ns_name(tag_of("default"), kind)
        assert name.startswith("sb" + tag_of("default") + "-")
        assert len(name) <= 15
