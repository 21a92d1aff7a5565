"""Checks of a run's Cucumber JSON and JUnit XML reports, shared by the unit and integration tests.

`check_cucumber` holds a document to the structure Cucumber JSON consumers (cucumber-reporting,
Allure, the Jenkins plugin) read: required keys and types at every level, statuses from the
allowed set, integer nanosecond durations. `junit_totals` parses JUnit XML with a real XML
parser and checks that the declared counts match the testcases. `expected_from_return` says
what both must show for a run's return data, so tests can compare verdicts.
"""

import xml.etree.ElementTree as ET

STATUSES = {"passed", "failed", "skipped", "undefined", "pending", "ambiguous"}


def _typed(obj, key, kind, where):
    assert key in obj, f"{where}: missing {key!r} in {sorted(obj)}"
    assert isinstance(obj[key], kind) and not isinstance(obj[key], bool), f"{where}.{key}: {obj[key]!r} is not {kind}"
    return obj[key]


def _tags(obj, where):
    for tag in _typed(obj, "tags", list, where):
        assert isinstance(tag, dict) and _typed(tag, "name", str, f"{where}.tags").startswith("@")


def check_cucumber(doc):
    """Assert the structure; return [(element name, step dict)] in document order."""
    assert isinstance(doc, list), "a Cucumber JSON document is a list of features"
    steps = []
    for f_index, feature in enumerate(doc):
        where = f"feature[{f_index}]"
        for key in ("uri", "id", "name", "description"):
            _typed(feature, key, str, where)
        assert feature.get("keyword") == "Feature"
        _typed(feature, "line", int, where)
        _tags(feature, where)
        for e_index, element in enumerate(_typed(feature, "elements", list, where)):
            ewhere = f"{where}.elements[{e_index}]"
            for key in ("id", "keyword", "name"):
                _typed(element, key, str, ewhere)
            assert element.get("type") in ("scenario", "background"), ewhere
            _typed(element, "line", int, ewhere)
            _tags(element, ewhere)
            for s_index, step in enumerate(_typed(element, "steps", list, ewhere)):
                swhere = f"{ewhere}.steps[{s_index}]"
                assert _typed(step, "keyword", str, swhere).endswith(" "), swhere
                _typed(step, "name", str, swhere)
                _typed(step, "line", int, swhere)
                _typed(_typed(step, "match", dict, swhere), "location", str, swhere)
                result = _typed(step, "result", dict, swhere)
                assert result.get("status") in STATUSES, f"{swhere}: status {result.get('status')!r}"
                assert _typed(result, "duration", int, swhere) >= 0
                if "error_message" in result:
                    _typed(result, "error_message", str, swhere)
                assert ("error_message" in result) == (result["status"] == "failed"), swhere
                steps.append((element["name"], step))
    return steps


def junit_totals(xml_bytes):
    """(root element, totals) after checking every declared count against the testcases."""
    root = ET.fromstring(xml_bytes)
    assert root.tag == "testsuites"
    totals = {"tests": 0, "failures": 0, "skipped": 0, "errors": 0}
    for suite in root.findall("testsuite"):
        cases = suite.findall("testcase")
        counted = {
            "tests": len(cases),
            "failures": sum(len(c.findall("failure")) for c in cases),
            "skipped": sum(len(c.findall("skipped")) for c in cases),
            "errors": sum(len(c.findall("error")) for c in cases),
        }
        for key, value in counted.items():
            assert int(suite.get(key)) == value, f"testsuite {key}={suite.get(key)} but {value} counted"
            totals[key] += value
        float(suite.get("time"))
        for case in cases:
            assert case.get("classname") and case.get("name")
            float(case.get("time"))
    for key, value in totals.items():
        assert int(root.get(key)) == value, f"testsuites {key}={root.get(key)} but {value} counted"
    return root, totals


def expected_from_return(ret):
    """JUnit totals and failed (host, location) pairs implied by a run's return data."""
    totals = {"tests": 0, "failures": 0, "skipped": 0, "errors": 0}
    failed = set()
    for scenario in ret["scenarios"]:
        for step in scenario["steps"]:
            verdicts = [step["status"]] if step["call"] is None else [h["status"] for h in step["hosts"].values()]
            totals["tests"] += len(verdicts)
            totals["failures"] += verdicts.count("failed")
            totals["errors"] += verdicts.count("interrupted")  # a host a stop cut short mid-step
            totals["skipped"] += sum(1 for v in verdicts if v not in ("passed", "failed", "interrupted"))
            failed |= {(h, step["location"]) for h, r in step["hosts"].items() if r["status"] == "failed"}
    return totals, failed


def junit_failed(root):
    """{(host, location)} named by the <failure> elements."""
    out = set()
    for case in root.iter("testcase"):
        if case.find("failure") is not None:
            host = case.get("name").rsplit("[", 1)[1].rstrip("]")
            out.add((host, f"{case.get('file')}:{case.get('line')}"))
            assert case.find("failure").get("message").startswith(f"{host}: ")
    return out
