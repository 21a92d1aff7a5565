"""Load a Salt loader module from the repository as a plain Python module, with
fake __salt__/__opts__/__context__ dicts, for unit tests (no Salt loader)."""

import importlib.util
import itertools

from tests.support.paths import REPO

_serial = itertools.count()


def load(relpath, salt=None, opts=None):
    """A fresh copy of REPO/relpath each call, so tests never share state."""
    path = REPO / relpath
    name = f"_unit_{path.parent.name}_{path.stem}_{next(_serial)}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.__salt__ = dict(salt or {})
    module.__opts__ = dict(opts or {})
    module.__context__ = {}
    return module


class Recorder:
    """A fake Salt function that records its calls and answers from `answer`."""

    def __init__(self, answer=None):
        self.calls = []
        self.answer = answer

    def __call__(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        if callable(self.answer):
            return self.answer(*args, **kwargs)
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer
