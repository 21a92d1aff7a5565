"""What only the etcd store has: a lease that can be lost, an etcd that can be down, several
endpoints, etcd's `--max-txn-ops`, and etcd's user/password auth. Each test runs a real
etcd-server on free loopback ports (tests/support/etcd_server.py) and stops it by pid."""

import base64
import json
import shutil
import subprocess
import sys
import textwrap
import time
import urllib.request

import pytest

from saltext.scenario.engine.errors import LockHeld
from saltext.scenario.engine.store import RunInfo, StoreUnavailable
from saltext.scenario.testing.etcd_server import ETCD, EtcdServer, free_port
from tests.support.tls_certs import make_certs

pytest.importorskip("etcd3gw")

from saltext.scenario.engine.store.etcd import EtcdStore

RUN_A = "20261204120000-0000000a"
RUN_B = "20261204120000-0000000b"


@pytest.fixture
def etcd(tmp_path):
    if not shutil.which(ETCD):
        pytest.skip("etcd-server is not installed (make sysdeps-test)")
    with EtcdServer(tmp_path / "etcd") as server:
        yield server


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return predicate()


def test_the_keepalive_holds_the_claims_past_the_ttl(etcd):
    store = EtcdStore([etcd.url], "m1", ttl=2)
    with store.open_run(RunInfo(RUN_A, "m1", "update_website", "alice", 1)) as run:
        run.claim(["web1"])
        time.sleep(2 * 2 + 1)  # twice the TTL: only the keepalive keeps the lease
        assert run.lost() is None
        left = store.gateway.post("/kv/lease/timetolive", {"ID": run.lease})
        assert int(left["TTL"]) > 0
        with store.open_run(RunInfo(RUN_B, "m2", "billing", "bob", 2)) as other, pytest.raises(LockHeld):
            other.claim(["web1"])
        (seen,) = [r for r in store.live_runs() if r.info.run_id == RUN_A]
        assert seen.alive


def test_a_revoked_lease_is_lost_within_the_ttl_and_stops_claims_and_holds(etcd):
    store = EtcdStore([etcd.url], "m1", ttl=3)
    with store.open_run(RunInfo(RUN_A, "m1", "update_website", "alice", 1)) as run:
        run.claim(["web1"])
        assert run.lost() is None
        store.gateway.post("/lease/revoke", {"ID": run.lease})
        started = time.monotonic()
        why = wait_for(run.lost, timeout=3 + 1)
        assert why and time.monotonic() - started <= 3 + 1
        assert "expired or was revoked" in why and etcd.url in why
        with pytest.raises(StoreUnavailable, match="expired or was revoked"):
            run.claim(["web2"])
        with pytest.raises(StoreUnavailable):
            run.hold(["web1"], "When I block the load balancer", "out")
    # the claim went with the lease: another run takes the host
    with store.open_run(RunInfo(RUN_B, "m1", "billing", "bob", 2)) as other:
        other.claim(["web1"])


def test_a_stopped_etcd_loses_the_lease_past_the_ttl_naming_the_endpoint(etcd):
    store = EtcdStore([etcd.url], "m1", ttl=2)
    run = store.open_run(RunInfo(RUN_A, "m1", "update_website", "alice", 1))
    try:
        run.claim(["web1"])
        etcd.stop()
        started = time.monotonic()
        why = wait_for(run.lost, timeout=2 + 3)
        assert why, "lost() said nothing within TTL + 3 s"
        assert time.monotonic() - started <= 2 + 3
        assert "past its TTL of 2 s" in why and etcd.url in why and "refused" in why
        assert "Traceback" not in why
        with pytest.raises(StoreUnavailable) as failed:
            run.hold(["web1"], "When I block the load balancer", "out")
        assert etcd.url in str(failed.value)
    finally:
        run.close()  # the revoke fails (etcd is down): logged, not raised


def test_a_hung_etcd_loses_the_lease_within_the_ttl_and_a_third(etcd):
    store = EtcdStore([etcd.url], "m1", ttl=3)
    run = store.open_run(RunInfo(RUN_A, "m1", "update_website", "alice", 1))
    try:
        run.claim(["web1"])
        etcd.pause()  # SIGSTOP: connections are accepted by the kernel, nothing answers
        started = time.monotonic()
        why = wait_for(run.lost, timeout=3 + 1 + 3)
        assert why, "lost() said nothing within TTL + TTL/3 + 3 s"
        assert time.monotonic() - started <= 3 + 1 + 3
        assert "past its TTL of 3 s" in why and etcd.url in why and "timed out" in why
    finally:
        etcd.resume()
        run.close()


def test_etcd_down_at_start_is_refused_naming_the_endpoint():
    url = f"http://127.0.0.1:{free_port()}"
    store = EtcdStore([url], "m1", ttl=2)
    with pytest.raises(StoreUnavailable) as failed:
        store.check()
    assert failed.value.retcode == 3
    message = str(failed.value)
    assert url in message and "Connection refused" in message and "nothing was changed" in message
    with pytest.raises(StoreUnavailable, match="nothing was changed"):
        store.open_run(RunInfo(RUN_A, "m1", "update_website", "alice", 1))


def test_a_dead_endpoint_is_passed_over_for_the_next(etcd):
    dead = f"http://127.0.0.1:{free_port()}"
    store = EtcdStore([dead, etcd.url], "m1", ttl=5)
    store.check()
    with store.open_run(RunInfo(RUN_A, "m1", "update_website", "alice", 1)) as run:
        run.claim(["web1", "web2"])
        assert run.hosts == ("web1", "web2")


def test_a_claim_larger_than_max_txn_ops_is_refused_naming_the_option(tmp_path):
    if not shutil.which(ETCD):
        pytest.skip("etcd-server is not installed (make sysdeps-test)")
    with EtcdServer(tmp_path / "etcd", max_txn_ops=128) as small:  # etcd's default
        store = EtcdStore([small.url], "m1", ttl=5)
        with store.open_run(RunInfo(RUN_A, "m1", "update_website", "alice", 1)) as run:
            with pytest.raises(StoreUnavailable) as failed:
                run.claim([f"web{i:03d}" for i in range(200)])
            assert run.hosts == ()
            run.claim([f"web{i:03d}" for i in range(100)])  # what fits is claimed
        message = str(failed.value)
        assert "--max-txn-ops" in message and "202" in message and "nothing was changed" in message


KILLED = textwrap.dedent(
    """
    import sys, time
    from saltext.scenario.engine.store import RunInfo
    from saltext.scenario.engine.store.etcd import EtcdStore

    store = EtcdStore([sys.argv[1]], "m1", ttl=2)
    run = store.open_run(RunInfo(sys.argv[2], "m1", "update_website", "alice", 1))
    run.claim(["app4", "app5"])
    run.hold(["app4", "app5"], "When I block the load balancer", "taken out of the balancer")
    print("claimed", flush=True)
    time.sleep(120)
    """
)


def test_a_killed_run_is_seen_as_interrupted_within_the_ttl_by_another_master(etcd):
    holder = subprocess.Popen([sys.executable, "-c", KILLED, etcd.url, RUN_A], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "claimed"
        holder.kill()
    finally:
        holder.kill()
        holder.wait(timeout=10)
        holder.stdout.close()
    killed_at = time.monotonic()
    other = EtcdStore([etcd.url], "m2", ttl=2)

    def interrupted():
        runs = [r for r in other.live_runs() if r.info.run_id == RUN_A and not r.alive]
        return runs[0] if runs else None

    seen = wait_for(interrupted, timeout=2 + 5)
    assert seen, "the killed run was not seen as interrupted within TTL + 5 s"
    assert time.monotonic() - killed_at <= 2 + 5
    assert [h.host for h in seen.holds] == ["app4", "app5"] and seen.hosts == ("app4", "app5")
    with other.open_run(RunInfo(RUN_B, "m2", "billing", "bob", 2)) as run:
        with pytest.raises(LockHeld, match=f"app4 is held by run {RUN_A}"):
            run.claim(["app4"])
        other.release(RUN_A, user="bob", reason="checked by hand")
        run.claim(["app4", "app5"])  # the lease went with the process: no claim is left


def _gateway(url, path, payload, token=None):
    request = urllib.request.Request(url + "/v3" + path, data=json.dumps(payload).encode(), method="POST")
    if token:
        request.add_header("Authorization", token)
    with urllib.request.urlopen(request, timeout=5) as answer:
        return json.loads(answer.read())


def test_user_and_password_authenticate_and_a_wrong_password_is_refused(etcd):
    _gateway(etcd.url, "/auth/user/add", {"name": "root", "password": "rootpw"})
    _gateway(etcd.url, "/auth/user/grant", {"user": "root", "role": "root"})
    _gateway(etcd.url, "/auth/enable", {})
    store = EtcdStore([etcd.url], "m1", ttl=5, user="root", password="rootpw")
    store.check()
    with store.open_run(RunInfo(RUN_A, "m1", "update_website", "alice", 1)) as run:
        run.claim(["web1"])
        run.hold(["web1"], "When I block the load balancer", "out")
    assert [h.host for h in store.holds()] == ["web1"]
    wrong = EtcdStore([etcd.url], "m1", ttl=5, user="root", password="not-it")
    with pytest.raises(StoreUnavailable) as failed:
        wrong.check()
    assert "authentication failed" in str(failed.value) and "not-it" not in str(failed.value)
    anonymous = EtcdStore([etcd.url], "m1", ttl=5)
    with pytest.raises(StoreUnavailable) as refused:
        anonymous.holds()
    assert f"{etcd.url}: etcdserver: user name is empty" in str(refused.value)


def test_keys_live_under_the_prefix(etcd):
    store = EtcdStore([etcd.url], "m1", prefix="/fleet-a", ttl=5)
    with store.open_run(RunInfo(RUN_A, "m1", "update_website", "alice", 1)) as run:
        run.claim(["web 1"])
        keys = _gateway(etcd.url, "/kv/range", {"key": base64.b64encode(b"\0").decode(), "range_end": "AA=="})
        names = sorted(base64.b64decode(kv["key"]).decode() for kv in keys.get("kvs", []))
    assert names == ["/fleet-a/alive/" + RUN_A, "/fleet-a/claims/web%201", "/fleet-a/runs/" + RUN_A]
    assert EtcdStore([etcd.url], "m2", prefix="/fleet-b/", ttl=5).live_runs() == []


def test_tls_with_a_client_certificate(tmp_path, monkeypatch):
    # requests would let this override the session's CA: the option must win
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/ca.pem")
    if not shutil.which(ETCD):
        pytest.skip("etcd-server is not installed (make sysdeps-test)")
    certs = make_certs(tmp_path / "certs")
    with EtcdServer(tmp_path / "etcd", tls=certs) as server:
        assert server.url.startswith("https://")
        tls = {"ca": str(certs["ca"]), "cert": str(certs["client_cert"]), "key": str(certs["client_key"])}
        store = EtcdStore([server.url], "m1", ttl=5, **tls)
        store.check()
        with store.open_run(RunInfo(RUN_A, "m1", "update_website", "alice", 1)) as run:
            run.claim(["web1"])
            run.hold(["web1"], "When I block the load balancer", "out")
        assert [h.host for h in store.holds()] == ["web1"]

        without_cert = EtcdStore([server.url], "m1", ttl=5, ca=str(certs["ca"]))
        with pytest.raises(StoreUnavailable) as refused:
            without_cert.check()
        assert server.url in str(refused.value) and "Traceback" not in str(refused.value)
        unknown_ca = EtcdStore([server.url], "m1", ttl=5, cert=tls["cert"], key=tls["key"])
        with pytest.raises(StoreUnavailable, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
            unknown_ca.check()
