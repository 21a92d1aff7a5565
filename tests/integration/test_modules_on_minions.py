"""lbgate, lbdrain, pkgcheck and nrpe through real salt-minions of the sandbox.

The functional tests cover the modules against real tools through Salt's loader; these
show the same calls through the daemons, with the exit code `salt` gives and with the
load balancer's own view of the host (a real TCP probe from its namespace).
"""

import json

import pytest

pytestmark = pytest.mark.sandbox


def _salt_json(sandbox, *args):
    # Not --static: in salt 3008.4 it drops the minions' retcodes from the exit code.
    # Without it, each minion's return is its own JSON document.
    proc = sandbox.salt("--out=json", *args)
    returns, text, decoder = {}, proc.stdout.strip(), json.JSONDecoder()
    while text:
        doc, end = decoder.raw_decode(text)
        returns.update(doc)
        text = text[end:].lstrip()
    return proc.returncode, returns


def test_block_makes_the_lb_probe_fail_and_unblock_restores_it(sandbox):
    lb = sandbox.lb
    assert sandbox.probe("web1") and sandbox.probe("web2")
    try:
        code, ret = _salt_json(sandbox, "web1", "lbgate.block", lb)
        assert code == 0 and ret["web1"]["changed"] is True
        assert not sandbox.probe("web1"), "web1 still reachable from the LB after block"
        assert sandbox.probe("web2"), "blocking web1 must not touch web2"

        code, ret = _salt_json(sandbox, "web1", "lbgate.block", lb)
        assert code == 0 and ret["web1"]["changed"] is False  # idempotent re-run

        code, ret = _salt_json(sandbox, "web1", "lbgate.verify_blocked", lb, "expected=False")
        assert code != 0 and ret["web1"]["ok"] is False  # the verification fails the salt command
    finally:
        code, ret = _salt_json(sandbox, "web1", "lbgate.unblock", lb)
    assert code == 0 and ret["web1"]["blocked"] is False
    assert sandbox.probe("web1")


def test_block_refuses_the_whole_world_and_changes_nothing(sandbox):
    before = sandbox.exec("web1", ["iptables-save"]).stdout
    code, ret = _salt_json(sandbox, "web1", "lbgate.block", "0.0.0.0/0")
    assert code != 0
    assert "0.0.0.0/0" in json.dumps(ret)
    assert _rules(sandbox.exec("web1", ["iptables-save"]).stdout) == _rules(before)
    assert sandbox.probe("web1")


def test_lbdrain_loads_on_the_hosts_and_refuses_the_whole_world(sandbox):
    # Synced beside lbgate, loaded because the hosts have conntrack; the drain itself runs in
    # test_sandbox_haproxy (the firewall drain feature) and tests/functional/test_lbdrain.py.
    code, ret = _salt_json(sandbox, "web1", "lbdrain.connections", sandbox.lb)
    assert code == 0 and ret["web1"]["lb"] == sandbox.lb
    assert isinstance(ret["web1"]["connections"], int), ret
    code, ret = _salt_json(sandbox, "web1", "lbdrain.verify_no_connections", "0.0.0.0/0")
    assert code != 0 and "0.0.0.0/0" in json.dumps(ret)


def _rules(dump):
    # iptables-save stamps dates and packet counters; the rules are what must not change.
    return [line for line in dump.splitlines() if line.startswith(("-", ":", "*"))]


def test_pkgcheck_verify_sets_the_exit_code(sandbox):
    code, ret = _salt_json(sandbox, "-L", "web4,db1", "pkgcheck.verify", "mywebapp", "4.2.5-1")
    assert code != 0, "db1 lacks the package, so salt must exit non-zero"
    assert ret["web4"] == {"name": "mywebapp", "installed": "4.2.5-1", "expected": "4.2.5-1", "ok": True}
    assert ret["db1"]["ok"] is False and ret["db1"]["installed"] is None

    code, ret = _salt_json(sandbox, "web4", "pkgcheck.verify", "mywebapp", ">=4.2")
    assert code == 0 and ret["web4"]["ok"] is True


def test_pkgcheck_rejects_shell_text_before_touching_dpkg(sandbox, tmp_path):
    marker = tmp_path / "touched"
    before = sandbox.exec("web4", ["dpkg-query", "-W"]).stdout
    code, ret = _salt_json(sandbox, "web4", "pkgcheck.update", f"mywebapp; touch {marker}")
    assert code != 0 and f"mywebapp; touch {marker}" in json.dumps(ret)
    assert sandbox.exec("web4", ["dpkg-query", "-W"]).stdout == before
    assert not marker.exists()


def test_nrpe_checks_from_each_hosts_own_config(sandbox):
    code, ret = _salt_json(sandbox, "web1", "nrpe.run", "check_load")
    assert code == 0 and ret["web1"]["status"] == "OK"
    assert ret["web1"]["perfdata"]["load1"]["value"] >= 0

    code, ret = _salt_json(sandbox, "web1", "nrpe.run", "check_web")
    assert code == 0 and ret["web1"]["status"] == "OK", ret

    code, ret = _salt_json(sandbox, "web1", "nrpe.run", "no_such_check")
    assert code != 0 and "no_such_check" in json.dumps(ret)
