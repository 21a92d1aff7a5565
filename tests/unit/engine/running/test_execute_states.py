"""A deploy with the state steps against a fake fleet: verdicts, the per-host summary in the
return and the progress lines, and hosts left blocked when the state fails."""

from saltext.scenario.engine.parsing.parse import parse_feature
from saltext.scenario.engine.records.progress import ProgressReporter
from saltext.scenario.engine.records.result import ResultCollector
from saltext.scenario.engine.running.execute import Executor
from saltext.scenario.engine.steps import builtin_steps
from saltext.scenario.engine.steps.registry import Registry
from tests.support.engine_calls import build_plan
from tests.support.fake_fleet import FakeFleet, FakeHost, default_fleet

WEB = ["web1", "web2", "web3"]


def _body(version="4.2.6-3"):
    return [
        "Given the load balancer has ip address 198.51.100.10",
        "And I want to update hosts with class roles::dev_server",
        "When I block the load balancer",
        "Then traffic from the load balancer should be blocked",
        f"When I apply the state mywebapp with pillar mywebapp:version={version}",
        "Then the package version for mywebapp should be 4.2.6-3",
        "Then the state mywebapp should be in place",
        "When I unblock the load balancer",
        "Then traffic from the load balancer should be unblocked",
    ]


def _run(fleet, body):
    text = "Feature: F\n  Scenario: S\n" + "".join(f"    {line}\n" for line in body)
    plan = build_plan("f", parse_feature(text, "features/f.feature"), builtin_steps.register(Registry()), {})
    collector, lines = ResultCollector(plan), []
    progress = ProgressReporter(lines.append)

    def emit(event):
        collector(event)
        progress(event)

    retcode = Executor(plan, fleet, emit, "run1", sleep=lambda s: None).run(fleet.ping("x"))
    result = collector.result()
    assert result["retcode"] == retcode
    return result, lines


def _step(result, index):
    return result["scenarios"][0]["steps"][index]


def test_state_deploy_passes_and_reports_how_many_states_changed():
    fleet = default_fleet()
    result, lines = _run(fleet, _body())
    assert result["retcode"] == 0, result["failed_hosts"]
    apply_step, in_place = _step(result, 4), _step(result, 6)
    assert {h: (r["status"], r["summary"]) for h, r in apply_step["hosts"].items()} == dict.fromkeys(
        WEB, ("passed", "2 states, 2 changed")
    )
    assert apply_step["hosts"]["web1"]["ret"]["pkg_|-mywebapp-package_|-mywebapp_|-installed"]["result"] is True
    assert in_place["hosts"]["web2"]["summary"] == "2 states, 0 would change"
    assert [c[1:] for c in fleet.calls if c[1].startswith("state.")] == [
        ("state.apply", ["mywebapp"], {"pillar": {"mywebapp": {"version": "4.2.6-3"}}}),
        ("state.apply", ["mywebapp"], {"test": True}),
    ]
    line = next(line for line in lines if "I apply the state" in line)
    assert line.endswith("[web1, web2, web3: 2 states, 2 changed]"), line
    assert all(h.version == "4.2.6-3" and not h.blocked for h in fleet.hosts.values())


def test_a_version_the_repo_lacks_halts_at_the_state_with_its_comment_and_leaves_hosts_blocked():
    fleet = default_fleet()
    result, lines = _run(fleet, _body("9.9.9-1"))
    assert result["retcode"] == 1
    failed = _step(result, 4)
    assert failed["status"] == "failed"
    reason = failed["hosts"]["web1"]["reason"]
    assert reason.startswith("mywebapp-package (pkg.installed): Problem encountered installing package(s)")
    assert "Version '9.9.9-1' for 'mywebapp' was not found" in reason
    assert failed["hosts"]["web1"]["summary"] == "2 states, 0 changed, 2 failed"
    assert result["failed_hosts"]["web1"] == {
        "step": "When I apply the state mywebapp with pillar mywebapp:version=9.9.9-1",
        "location": "features/f.feature:7",
        "reason": reason,
    }
    assert [s["status"] for s in result["scenarios"][0]["steps"][5:]] == ["skipped"] * 4
    assert result["still_blocked"] == WEB and fleet.blocked_hosts() == WEB
    assert any(line.startswith("\u2718 When I apply the state") and "web2: mywebapp-package" in line for line in lines)


def test_one_host_whose_state_would_still_change_fails_the_then():
    # web3 drifts back to the old version between the version check and the Then.
    fleet = FakeFleet([FakeHost("web1"), FakeHost("web2"), FakeHost("web3")])

    def undo_web3(fleet, fun):
        if fun == "pkgcheck.verify":
            fleet.hosts["web3"].version = "4.2.5-1"

    fleet.after_call = undo_web3
    result, _lines = _run(fleet, _body())
    assert result["retcode"] == 1
    in_place = _step(result, 6)
    assert {h for h, r in in_place["hosts"].items() if r["status"] == "failed"} == {"web3"}
    assert in_place["hosts"]["web3"]["reason"].startswith("mywebapp-package (pkg.installed) would change")
    assert result["still_blocked"] == WEB


def test_a_host_that_does_not_answer_the_state_fails_with_no_response():
    fleet = default_fleet()

    def kill_web2(fleet, fun):
        if fun == "lbgate.verify_blocked":
            fleet.dead.add("web2")

    fleet.after_call = kill_web2
    result, _lines = _run(fleet, _body())
    assert result["retcode"] == 1
    assert _step(result, 4)["hosts"]["web2"] == {"status": "failed", "reason": "no response", "ret": None}
