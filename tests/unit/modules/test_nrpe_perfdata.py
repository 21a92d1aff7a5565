"""Unit tests of the Nagios plugin output and perfdata parser in _modules/nrpe.py."""

import pytest

from tests.support.fake_dunders import load

nrpe = load("_modules/nrpe.py")


def pd(value, uom="", warn=None, crit=None, low=None, high=None):
    return {"value": value, "uom": uom, "warn": warn, "crit": crit, "min": low, "max": high}


# Outputs captured from the real plugins of monitoring-plugins-basic 2.3.3 (Debian 12).
CHECK_LOAD = (
    "LOAD OK - total load average: 0.06, 0.10, 0.06|load1=0.060;5.000;10.000;0; "
    "load5=0.100;4.000;8.000;0; load15=0.060;3.000;6.000;0; "
)
CHECK_LOAD_SCALED = (
    "LOAD OK - scaled load average: 0.03, 0.05, 0.03 - total load average: 0.06, 0.10, 0.06|"
    "load1=0.060;;;0; scaled_load1=0.030;5.000;10.000;0; load5=0.100;;;0; "
    "scaled_load5=0.050;4.000;8.000;0; load15=0.060;;;0; scaled_load15=0.030;3.000;6.000;0; "
)
CHECK_DISK = (
    "DISK OK - free space: / 81309MiB (78% inode=97%);| /=23685234688B;216442024755;243497277849;0;270552530944"
)
CHECK_HTTP = (
    "HTTP OK: HTTP/1.1 200 OK - 612 bytes in 0.001 second response time "
    "|time=0.000579s;;;0.000000;10.000000 size=612B;;;0"
)
CHECK_HTTP_CRIT = "HTTP CRITICAL - Unable to open TCP socket"
CHECK_PROCS = "PROCS OK: 69 processes | procs=69;;;0;"
CHECK_USERS = "USERS OK - 0 users currently logged in |users=0;5;10;0"
CHECK_SWAP = (
    "SWAP CRITICAL - 0% free (0MB out of 0MB) - Swap is either disabled, not present, or of zero size. |swap=0B;0;0;0;0"
)
# The multi-line example of the Nagios plugin development guidelines.
GUIDELINES = (
    "DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968\n"
    "/ 15272 MB (77%);\n"
    "/boot 68 MB (69%);\n"
    "/home 69357 MB (27%);\n"
    "/var/log 819 MB (84%); | /boot=68MB;88;93;0;98\n"
    "/home=69357MB;253404;253409;0;253414 \n"
    "/var/log=818MB;970;975;0;980"
)


def test_check_load():
    output, long_output, perf = nrpe._parse_output(CHECK_LOAD)
    assert output == "LOAD OK - total load average: 0.06, 0.10, 0.06"
    assert long_output == ""
    assert perf == {
        "load1": pd(0.06, warn="5.000", crit="10.000", low=0),
        "load5": pd(0.1, warn="4.000", crit="8.000", low=0),
        "load15": pd(0.06, warn="3.000", crit="6.000", low=0),
    }


def test_check_load_scaled_keeps_every_label():
    _, _, perf = nrpe._parse_output(CHECK_LOAD_SCALED)
    assert list(perf) == ["load1", "scaled_load1", "load5", "scaled_load5", "load15", "scaled_load15"]
    assert perf["load1"] == pd(0.06, low=0)
    assert perf["scaled_load15"] == pd(0.03, warn="3.000", crit="6.000", low=0)


def test_check_disk_bytes_and_path_label():
    output, _, perf = nrpe._parse_output(CHECK_DISK)
    assert output == "DISK OK - free space: / 81309MiB (78% inode=97%);"
    assert perf == {
        "/": pd(23685234688, "B", "216442024755", "243497277849", 0, 270552530944),
    }


def test_check_http():
    output, _, perf = nrpe._parse_output(CHECK_HTTP)
    assert output.startswith("HTTP OK: HTTP/1.1 200 OK")
    assert perf == {
        "time": pd(0.000579, "s", low=0.0, high=10.0),
        "size": pd(612, "B", low=0),
    }


def test_output_without_perfdata():
    assert nrpe._parse_output(CHECK_HTTP_CRIT) == (CHECK_HTTP_CRIT, "", {})


@pytest.mark.parametrize(
    "text, label, expected",
    [
        (CHECK_PROCS, "procs", pd(69, low=0)),
        (CHECK_USERS, "users", pd(0, warn="5", crit="10", low=0)),
        (CHECK_SWAP, "swap", pd(0, "B", "0", "0", 0, 0)),
    ],
)
def test_more_real_plugins(text, label, expected):
    assert nrpe._parse_output(text)[2] == {label: expected}


def test_guidelines_multiline_example():
    output, long_output, perf = nrpe._parse_output(GUIDELINES)
    assert output == "DISK OK - free space: / 3326 MB (56%);"
    assert long_output == "/ 15272 MB (77%);\n/boot 68 MB (69%);\n/home 69357 MB (27%);\n/var/log 819 MB (84%);"
    assert perf == {
        "/": pd(2643, "MB", "5948", "5958", 0, 5968),
        "/boot": pd(68, "MB", "88", "93", 0, 98),
        "/home": pd(69357, "MB", "253404", "253409", 0, 253414),
        "/var/log": pd(818, "MB", "970", "975", 0, 980),
    }


def test_long_output_without_perfdata():
    assert nrpe._parse_output("OK - 2 jobs\njob a: done\njob b: done\n") == (
        "OK - 2 jobs",
        "job a: done\njob b: done",
        {},
    )


def test_empty_output():
    assert nrpe._parse_output("") == ("", "", {})
    assert nrpe._parse_output(None) == ("", "", {})


@pytest.mark.parametrize(
    "text, expected",
    [
        ("'my disk'=5%;80;90", {"my disk": pd(5, "%", "80", "90")}),
        ("'it''s'=1", {"it's": pd(1)}),
        ("'a=b'=1c", {"a=b": pd(1, "c")}),
        ("x=U;;;0;100", {"x": pd(None, low=0, high=100)}),
        ("x=U", {"x": pd(None)}),
        ("x=5", {"x": pd(5)}),
        ("x=5;", {"x": pd(5)}),
        ("x=-5.5ms;@10:20;~:30;-100;", {"x": pd(-5.5, "ms", "@10:20", "~:30", -100)}),
        ("x=1,5s", {"x": pd(1.5, "s")}),
        ("x=1e3", {"x": pd(1000.0)}),
        ("x=.5", {"x": pd(0.5)}),
        (
            "rta=0.1ms;200.000;500.000;0; pl=0%;40;80;; ",
            {"rta": pd(0.1, "ms", "200.000", "500.000", 0), "pl": pd(0, "%", "40", "80")},
        ),
        ("x=1 x=2", {"x": pd(2)}),  # last wins
        ("", {}),
        ("   ", {}),
    ],
)
def test_perfdata_items(text, expected):
    assert nrpe._parse_perfdata(text) == expected


@pytest.mark.parametrize(
    "junk",
    ["novalue", "x=", "=5", "x=abc", "x=5;;;min;", "'unterminated=5", "x=;5;6", "''=5"],
)
def test_perfdata_junk_is_skipped_not_fatal(junk):
    assert nrpe._parse_perfdata(f"{junk} good=1") == {"good": pd(1)}


@pytest.mark.parametrize(
    "code, status, ok, ok_with_warning",
    [(0, "OK", True, True), (1, "WARNING", False, True), (2, "CRITICAL", False, False), (3, "UNKNOWN", False, False)],
)
def test_make_result_status(code, status, ok, ok_with_warning):
    result = nrpe._make_result("check_x", code, f"{status} - hi | t=1s")
    assert result == {
        "command": "check_x",
        "status": status,
        "code": code,
        "output": f"{status} - hi",
        "perfdata": {"t": pd(1, "s")},
        "long_output": "",
        "ok": ok,
    }
    assert nrpe._make_result("check_x", code, "x", allow_warning=True)["ok"] is ok_with_warning


@pytest.mark.parametrize("code", [4, 127, 255, -9, None])
def test_make_result_odd_exit_codes_are_unknown(code):
    result = nrpe._make_result("check_x", code, "", "sh: not found")
    assert (result["status"], result["code"], result["ok"]) == ("UNKNOWN", 3, False)
    assert f"code {code}" in result["output"] and "not found" in result["output"]


def test_make_result_timeout_is_unknown():
    result = nrpe._make_result("check_x", 1, "[...] : Timed out after 2 seconds", timed_out=2)
    assert (result["status"], result["code"]) == ("UNKNOWN", 3)
    assert "timed out after 2 seconds" in result["output"]


def test_make_result_stderr_when_stdout_is_empty():
    assert nrpe._make_result("c", 2, "", "boom\nmore")["output"] == "(No output on stdout) stderr: boom"
