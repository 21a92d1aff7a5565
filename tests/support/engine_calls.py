"""The engine's stages called the way the unit tests have always called them.

``run(opts, name, source, transport_factory, batch=2, user="alice", ...)``: master opts (or
Settings) and keyword arguments in, the same return as the runner's out. Each call builds
the Settings, the checked RunRequest and the Caller as the service does, and a refusal
comes back as its error return (``service/returns.py``), as it does from the service.
"""

from saltext.scenario import config
from saltext.scenario.engine.running import compile as _compile
from saltext.scenario.engine.running import prepare as _prepare
from saltext.scenario.engine.service import recorded_run as _recorded
from saltext.scenario.engine.service import run as _run
from saltext.scenario.engine.service.request import Caller, RunRequest
from saltext.scenario.engine.service.returns import refusing

_CALLER = {"user": "user", "runner_jid": "jid", "progress": "progress"}
_REQUEST = {
    "scenario",
    "tags",
    "test",
    "batch",
    "timeout",
    "saltenv",
    "report_dir",
    "max_failures",
    "force",
    "exclude_held",
}


def _split(opts, name, kw):
    """(settings, request, caller, the remaining keyword arguments)."""
    request_args = {k: kw.pop(k) for k in list(kw) if k in _REQUEST}
    caller = Caller(**{field: kw.pop(arg) for arg, field in _CALLER.items() if arg in kw})
    settings = config.load(opts).with_timeout(request_args.get("timeout"))
    return settings, RunRequest.from_args(name, **request_args), caller, kw


def _refusing(name, work):
    return refusing(work, name=name)


def run(opts, name, source, transport_factory, **kw):
    """service/run.py:run (the engine's run, without the journal)."""

    def work():
        settings, request, caller, rest = _split(opts, name, kw)
        return _run.run(settings, request, source, transport_factory, caller, **rest)

    return _refusing(name, work)


def plan(opts, name, source, transport_factory, **kw):
    def work():
        settings, request, _caller, _rest = _split(opts, name, kw)
        return _prepare.plan(settings, request, source, transport_factory)

    return _refusing(name, work)


def validate(opts, name, source, **kw):
    def work():
        settings, request, _caller, _rest = _split(opts, name, kw)
        return _prepare.validate(settings, request, source)

    return _refusing(name, work)


def list_features(source):
    return _prepare.list_features(source)


def steps(opts, source):
    return refusing(lambda: _prepare.steps(config.load(opts), source), name=None)


def prepare(opts, name, source, **kw):
    settings, request, _caller, _rest = _split(opts, name, kw)
    return _prepare.prepare(settings, request, source)


def recorded_run(opts, name, source, transport_factory, **kw):
    """service/recorded_run.py:run, as scenario.run calls it."""

    def work():
        settings, request, caller, rest = _split(opts, name, kw)
        return _recorded.run(settings, request, source, transport_factory, caller, **rest)

    return _refusing(name, work)


def recorded_resume(opts, run_id, source, transport_factory, **kw):
    """service/recorded_run.py:resume, as scenario.resume calls it."""

    def work():
        settings, request, caller, _rest = _split(opts, None, kw)
        request = RunRequest.from_args(
            None, saltenv=request.saltenv, report_dir=request.report_dir, resumes=run_id, force=request.force
        )
        return _recorded.resume(settings, request, source, transport_factory, caller)

    return _refusing(None, work)


def compile_sls(opts, name, source, transport_factory, **kw):
    """running/compile.py:compile_sls; `command` and `now` pass through."""

    def work():
        settings, request, _caller, rest = _split(opts, name, kw)
        return _compile.compile_sls(settings, request, source, transport_factory, **rest)

    return _refusing(name, work)


def fake_salt(monkeypatch, site, fleet):
    """The runner's Salt adapters replaced: features from the directory `site`, calls to `fleet`."""
    from saltext.scenario.engine.adapters import Adapters
    from saltext.scenario.engine.parsing.source import DirSource
    from saltext.scenario.engine.service import service

    def salt_adapters(opts, settings, saltenv):
        return Adapters(source=DirSource(site), transport=lambda: fleet, bus=fleet)

    monkeypatch.setattr(service, "build_adapters", salt_adapters, raising=True)
