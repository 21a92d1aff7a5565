"""The fleet store's contract, run against both backends: `local` (files in a tmp cachedir) and
`etcd` (a real etcd-server on loopback, tests/support/etcd_server.py).

Two store objects over the same backend stand for two masters sharing it ("m1", "m2").
Every etcd test has a key prefix of its own, so one etcd serves the whole module.
"""

import itertools
import shutil
import time
import uuid

import pytest

from saltext.scenario.engine.errors import InvalidScenario, LockHeld
from saltext.scenario.engine.store import RunInfo, RunStatus
from saltext.scenario.engine.store.local import LocalStore
from saltext.scenario.testing.etcd_server import ETCD, EtcdServer

_counter = itertools.count()


def run_id():
    return f"20261204120000-{next(_counter) + uuid.uuid4().int % 2**28:08x}"


@pytest.fixture(scope="module")
def etcd(tmp_path_factory):
    if not shutil.which(ETCD):
        pytest.skip("etcd-server is not installed (make sysdeps-test)")
    with EtcdServer(tmp_path_factory.mktemp("etcd")) as server:
        yield server


@pytest.fixture(params=["local", "etcd"])
def masters(request, tmp_path):
    """(store of master m1, store of master m2) over one backend."""
    if request.param == "local":
        root = str(tmp_path / "scenario")
        stores = (LocalStore(root, "m1"), LocalStore(root, "m2"))
    else:
        from saltext.scenario.engine.store.etcd import EtcdStore

        server = request.getfixturevalue("etcd")
        prefix = f"/test-{uuid.uuid4().hex[:8]}/"
        stores = tuple(EtcdStore([server.url], master, prefix=prefix, ttl=5) for master in ("m1", "m2"))
    stores[0].check()
    handles = []

    def open_run(store, feature="billing", resumes=()):
        handle = store.open_run(RunInfo(run_id(), store.master, feature, "alice", 4242, resumes=tuple(resumes)))
        handles.append(handle)
        return handle

    yield stores, open_run
    for handle in handles:
        handle.close()


def test_claims_are_all_or_nothing_and_name_the_holder(masters):
    (m1, m2), open_run = masters
    first = open_run(m1, "update_website")
    first.claim(["web1", "web2"])
    second = open_run(m2, "billing")

    with pytest.raises(LockHeld) as refused:
        second.claim(["web2", "web3"])

    message = str(refused.value)
    assert first.info.run_id in message
    assert "'update_website'" in message and "master m1" in message
    assert "web2" in message and "web3" not in message
    assert refused.value.retcode == 4
    assert second.hosts == ()
    third = open_run(m2)
    third.claim(["web3"])  # web3 was not taken by the refused claim
    assert third.hosts == ("web3",)


def test_closing_a_run_frees_its_claims(masters):
    (m1, m2), open_run = masters
    first = open_run(m1)
    first.claim(["web1"])
    first.close()
    second = open_run(m2)
    second.claim(["web1"])
    assert second.hosts == ("web1",)


def test_holds_outlive_the_run_and_refuse_other_runs(masters):
    (m1, m2), open_run = masters
    failed = open_run(m1, "update_website")
    failed.claim(["app1", "app2", "app3"])
    failed.hold(["app1", "app2", "app3"], "When I block the load balancer", "taken out of the balancer")
    failed.clear_own(["app1"])  # put back after every step passed on it
    finished = failed.finish(1, "exit 1: the package version for billing-api should be 2.1.0-2 failed on app3")
    failed.close()

    assert [h.host for h in finished.holds] == ["app2", "app3"]
    assert sorted(h.host for h in m2.holds()) == ["app2", "app3"]
    gate = open_run(m2, "billing_gate")
    with pytest.raises(LockHeld) as refused:
        gate.claim(["app1", "app2", "app3"])
    message = str(refused.value)
    assert f"app2 is held by run {failed.info.run_id}" in message
    assert "'update_website'" in message and "When I block the load balancer" in message
    assert f"salt-run scenario.resume {failed.info.run_id}" in message and "scenario.release" in message
    assert gate.hosts == ()
    history = m2.finished_runs(5)
    assert history[0].info.run_id == failed.info.run_id
    assert history[0].exit_code == 1 and history[0].info.master == "m1"
    assert [h.host for h in history[0].holds] == ["app2", "app3"]
    assert failed.info.run_id not in [run.info.run_id for run in m2.live_runs()]


def test_release_needs_a_reason_and_frees_the_hosts(masters):
    (m1, m2), open_run = masters
    failed = open_run(m1)
    failed.claim(["app1", "app2"])
    failed.hold(["app1", "app2"], "When I block the load balancer", "taken out of the balancer")
    failed.finish(1, "exit 1")
    failed.close()

    for reason in ("", "   ", None):
        with pytest.raises(InvalidScenario, match="reason"):
            m2.release(failed.info.run_id, user="bob", reason=reason)
    assert len(m2.holds()) == 2

    released = m2.release(failed.info.run_id, ["app1"], user="bob", reason="checked app1 by hand")
    assert [h.host for h in released] == ["app1"]
    assert [h.host for h in m1.holds()] == ["app2"]
    assert [h.host for h in m2.release(failed.info.run_id, user="bob", reason="rolled back by hand")] == ["app2"]
    gate = open_run(m2)
    gate.claim(["app1", "app2"])
    assert gate.hosts == ("app1", "app2")


def test_the_holds_of_a_running_run_are_not_released(masters):
    (m1, m2), open_run = masters
    running = open_run(m1)
    running.claim(["web1"])
    running.hold(["web1"], "When I block the load balancer", "taken out of the balancer")
    with pytest.raises(LockHeld, match="still running"):
        m2.release(running.info.run_id, user="bob", reason="oops")
    assert [h.host for h in m2.holds()] == ["web1"]


def test_a_run_gone_without_finishing_is_interrupted_with_its_holds(masters):
    (m1, m2), open_run = masters
    dead = open_run(m1, "update_website")
    dead.claim(["app4", "app5"])
    dead.update(RunStatus(position="When I update the package billing-api", batch=1, batches=2))
    dead.hold(["app4", "app5"], "When I block the load balancer", "taken out of the balancer")
    dead.close()  # no finish(): its process died

    (seen,) = [run for run in m2.live_runs() if run.info.run_id == dead.info.run_id]
    assert not seen.alive
    assert seen.hosts == ("app4", "app5")
    assert [h.host for h in seen.holds] == ["app4", "app5"]
    assert seen.status.position == "When I update the package billing-api"

    m2.release(dead.info.run_id, user="bob", reason="rebuilt app4 and app5")
    assert dead.info.run_id not in [run.info.run_id for run in m2.live_runs()]
    last = m2.finished_runs(1)[0]
    assert last.info.run_id == dead.info.run_id and last.exit_code == 6
    assert "interrupted" in last.summary and "bob" in last.summary and last.holds == ()


def test_a_resume_takes_over_and_clears_the_holds_of_the_run_it_resumes(masters):
    (m1, m2), open_run = masters
    dead = open_run(m1)
    dead.claim(["app4", "app5"])
    dead.hold(["app4", "app5"], "When I block the load balancer", "taken out of the balancer")
    dead.close()

    other = open_run(m2)
    with pytest.raises(LockHeld):
        other.claim(["app4"])
    resume = open_run(m2, resumes=[dead.info.run_id])
    resume.claim(["app4", "app5"])
    assert [h.run_id for h in resume.hold(["app4"], "When I block the load balancer", "again")] == [resume.info.run_id]
    cleared = resume.clear_own(["app4", "app5"])
    assert sorted(h.host for h in cleared) == ["app4", "app5"]
    resume.finish(0, "passed")
    assert m1.holds() == []
    assert [run.info.run_id for run in m1.live_runs()] == [other.info.run_id]
    by_id = {run.info.run_id: run for run in m1.finished_runs(10)}
    assert by_id[dead.info.run_id].exit_code == 6 and resume.info.run_id in by_id[dead.info.run_id].summary


def test_a_run_that_never_claimed_a_host_leaves_no_registration(masters):
    (m1, m2), open_run = masters
    first = open_run(m1)
    first.claim(["web1"])
    refused = open_run(m2)
    with pytest.raises(LockHeld):
        refused.claim(["web1"])
    refused.close()
    assert [run.info.run_id for run in m2.live_runs()] == [first.info.run_id]


def test_a_run_holds_only_hosts_it_claimed_and_clears_only_its_own(masters):
    (m1, m2), open_run = masters
    first = open_run(m1)
    first.claim(["web1"])
    with pytest.raises(InvalidScenario, match="not claimed: web2"):
        first.hold(["web1", "web2"], "When I block the load balancer", "out")
    assert m1.holds() == []
    first.hold(["web1"], "When I block the load balancer", "out")
    second = open_run(m2)
    second.claim(["web2"])
    assert second.clear_own(["web1", "web2"]) == []
    assert [h.host for h in m2.holds()] == ["web1"]


def test_live_status_is_seen_by_the_other_master(masters):
    (m1, m2), open_run = masters
    running = open_run(m1, "update_website")
    running.claim(["web1", "web2"])
    running.update(RunStatus("Then I wait for approval", 2, 3, "Then I wait for approval", ("web9",), True))
    # etcd's status is written by a thread of its own (no step waits for it): read until it lands.
    deadline = time.monotonic() + 10
    while True:
        (seen,) = m2.live_runs()
        if seen.status.batch == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert seen.alive and seen.info.master == "m1" and seen.info.feature == "update_website"
    assert seen.hosts == ("web1", "web2")
    assert (seen.status.batch, seen.status.batches, seen.status.waiting) == (2, 3, True)
    assert seen.status.failed_hosts == ("web9",)


def test_an_approval_given_on_one_master_is_taken_once_by_the_run_on_the_other(masters):
    (m1, m2), open_run = masters
    running = open_run(m1)
    given = m2.answer(running.info.run_id, True, "carol", "looks good", batch=2)
    assert m1.answer_for(running.info.run_id) == given
    taken = running.take_answer()
    assert taken == given and taken.master == "m2" and taken.batch == 2
    assert running.take_answer() is None
    m2.answer(running.info.run_id, False, "carol", "error rate up")
    assert running.take_answer().approved is False


def test_an_answer_for_a_run_that_is_not_running_is_refused(masters):
    (m1, m2), open_run = masters
    with pytest.raises(InvalidScenario, match="not running"):
        m2.answer(run_id(), True, "carol")
    dead = open_run(m1)
    dead.claim(["web1"])
    dead.close()
    with pytest.raises(InvalidScenario, match="not running any more"):
        m2.answer(dead.info.run_id, True, "carol")


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda s: s.release("../etc", user="bob", reason="x"), "not a run id"),
        (lambda s: s.answer("x y", True, "bob"), "not a run id"),
        (lambda s: s.release(run_id(), ["web1\n"], user="bob", reason="x"), "not a minion id"),
        (lambda s: s.release(run_id(), "web1", user="bob", reason="x"), "list of minion ids"),
        (lambda s: s.release(run_id(), user="bob", reason="x" * 501), "at most 500"),
        (lambda s: s.finished_runs(0), "limit"),
        (lambda s: s.finished_runs("5"), "limit"),
    ],
)
def test_bad_input_is_refused_naming_it(masters, call, match):
    (m1, _), _ = masters
    with pytest.raises(InvalidScenario, match=match):
        call(m1)


def test_host_names_are_data_not_paths_or_keys(masters):
    (m1, m2), open_run = masters
    odd = ["../../etc/passwd", "a/b", "web 1", "ünï"]
    first = open_run(m1)
    first.claim(odd)
    first.hold(odd, "When I block the load balancer", "out")
    assert sorted(h.host for h in m2.holds()) == sorted(odd)
    with pytest.raises(LockHeld):
        open_run(m2).claim(["a/b"])
