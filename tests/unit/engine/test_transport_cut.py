"""SaltTransport stops waiting when the call's cut says so, kills the job and confirms it.

A fake LocalClient plays Salt: run_job publishes, get_iter_returns(block=False) yields the
returns that arrive and None while nothing does (forever, for a host that hangs), and cmd()
answers saltutil.term_job / kill_job / find_job.
"""

import pytest

from saltext.scenario import config
from saltext.scenario.engine import adapters


class FakeClient:
    class event:  # LocalClient.event: its one attribute the transport reads
        cpub = True

    def __init__(self, answering, survives_term=False, deaf=()):
        self.answering = answering  # host -> its return
        self.running = set()  # hosts where the job still runs
        self.survives_term = survives_term  # the job ignores SIGTERM (term_job)
        self.deaf = set(deaf)  # hosts that answer no kill/find job
        self.cmds = []  # (hosts, fun, args)
        self.cleaned = []

    def run_job(self, tgt, fun, arg=(), **kw):
        self.running = {h for h in tgt if h not in self.answering}
        return {"jid": "20261204190000000001", "minions": list(tgt)}

    def get_iter_returns(self, jid, minions, block=True, **kw):
        assert block is False  # the transport must never block in Salt's loop
        for host, ret in self.answering.items():
            yield {host: {"ret": ret, "retcode": 0}}
        while True:
            yield None

    def cmd(self, tgt, fun, arg=(), **kw):
        self.cmds.append((list(tgt), fun, list(arg)))
        out = {}
        for host in tgt:
            if host in self.deaf:
                continue
            if fun == "saltutil.kill_job" or (fun == "saltutil.term_job" and not self.survives_term):
                self.running.discard(host)
            if fun == "saltutil.find_job":
                ret = {"jid": arg[0], "fun": "test.sleep"} if host in self.running else {}
                out[host] = {"ret": ret, "retcode": 0}
            else:
                out[host] = {"ret": True, "retcode": 0}
        return out

    def _clean_up_subscriptions(self, jid):
        self.cleaned.append(jid)


@pytest.fixture
def transport(monkeypatch):
    def make(client):
        import salt.client

        monkeypatch.setattr(salt.client, "get_local_client", lambda mopts: client)
        monkeypatch.setattr(adapters.time, "sleep", lambda s: None)
        monkeypatch.setattr(adapters, "master_process", lambda opts: None)
        return adapters.SaltTransport({"cachedir": "/c"}, config.load({"cachedir": "/c"}), bus=object())

    return make


def _cut_after(polls, why="still running after 10 s"):
    seen = {"n": 0}

    def cut():
        seen["n"] += 1
        return why if seen["n"] > polls else None

    return cut


def test_a_hanging_host_is_cut_killed_and_the_kill_confirmed(transport):
    client = FakeClient({"web1": True})
    jid, out = transport(client).call(["web1", "web2"], "test.sleep", [300], {}, cut=_cut_after(50))
    assert jid == "20261204190000000001"
    assert out["web1"] == {"ret": True, "retcode": 0, "failed": False}
    assert out["web2"]["failed"] is True
    assert out["web2"]["why"] == f"still running after 10 s; job {jid} killed"
    assert client.cmds == [(["web2"], "saltutil.term_job", [jid]), (["web2"], "saltutil.find_job", [jid])]
    assert client.cleaned == [jid]


def test_a_job_that_survives_term_job_is_killed_with_kill_job(transport):
    client = FakeClient({}, survives_term=True)
    _jid, out = transport(client).call(["web1"], "test.sleep", [300], {}, cut=_cut_after(3))
    funs = [fun for _hosts, fun, _args in client.cmds]
    assert funs[0] == "saltutil.term_job" and "saltutil.kill_job" in funs and funs[-1] == "saltutil.find_job"
    assert funs.count("saltutil.find_job") == adapters.KILL_CHECKS + 1  # bounded checks after term_job
    assert out["web1"]["why"].endswith("killed")


def test_a_kill_that_cannot_be_confirmed_says_so_after_bounded_tries(transport):
    client = FakeClient({}, deaf={"web1"})
    _jid, out = transport(client).call(["web1"], "test.sleep", [300], {}, cut=_cut_after(0, "interrupted mid-step: x"))
    assert out["web1"]["why"].startswith("interrupted mid-step: x; the job ")
    assert "could not be confirmed killed" in out["web1"]["why"]
    assert len(client.cmds) == len(adapters.KILL_FUNCTIONS) * (1 + adapters.KILL_CHECKS)


def test_a_compound_job_is_cut_for_every_call_of_the_host(transport):
    client = FakeClient({"web1": {"a.b": True, "c.d": True}})
    calls = [("a.b", [], {}), ("c.d", [], {})]
    _jid, out = transport(client).call_many(["web1", "web2"], calls, cut=_cut_after(5))
    assert [r["ret"] for r in out["web1"]] == [True, True]
    assert [r["why"].split(";")[0] for r in out["web2"]] == ["still running after 10 s"] * 2


def test_without_a_cut_every_host_that_answers_is_collected(transport):
    client = FakeClient({"web1": True, "web2": False})

    def ending_returns(jid, minions, block=True, **kw):
        yield {"web1": {"ret": True, "retcode": 0}}
        yield None
        yield {"web2": {"ret": False, "retcode": 1}}

    client.get_iter_returns = ending_returns
    _jid, out = transport(client).call(["web1", "web2"], "test.ping", [], {})
    assert out["web1"]["ret"] is True and out["web2"]["retcode"] == 1 and client.cmds == []


class RestartingMasterClient(FakeClient):
    """The master restarts while a step publishes: run_job raises what LocalClient raises then."""

    def run_job(self, tgt, fun, arg=(), **kw):
        import salt.exceptions

        raise salt.exceptions.SaltReqTimeoutError("Salt request timed out. The master is not responding.")


def test_a_publish_the_restarting_master_never_took_fails_the_hosts_naming_the_restart(transport, monkeypatch):
    # Up at the start of the run (pid 10), gone when the step begins, back as pid 11 after it.
    masters = [(10, "a"), None, (11, "b")]
    t = transport(RestartingMasterClient({}))
    monkeypatch.setattr(adapters, "master_process", lambda opts: masters.pop(0) if len(masters) > 1 else masters[0])
    t._seen_master = masters.pop(0)  # what the transport saw when the run began
    jid, out = t.call(["web1", "web2"], "test.sleep", [300], {})
    assert jid is None
    assert set(out) == {"web1", "web2"}
    for reply in out.values():
        assert reply["failed"] is True
        assert reply["why"].startswith("no response: the salt-master restarted during this step (pid 10 -> 11)")


def test_a_publish_the_master_refused_fails_the_hosts_with_its_error(transport):
    t = transport(RestartingMasterClient({}))
    _jid, out = t.call_many(["web1"], [("pkgcheck.version", ["nginx"], {}), ("test.ping", [], {})])
    assert [r["failed"] for r in out["web1"]] == [True, True]
    assert "the salt-master did not take the job (Salt request timed out" in out["web1"][0]["why"]


def test_discovery_raises_when_the_master_takes_no_job(transport):
    import salt.exceptions

    t = transport(RestartingMasterClient({}))
    with pytest.raises(salt.exceptions.SaltReqTimeoutError):
        t.ping("G@country:de")
