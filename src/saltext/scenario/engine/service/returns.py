"""The runner's return dicts: built here and nowhere else.

Every return carries ``retcode`` (the exit code, see ``errors.py``) and ``result``; an
error says why in ``error``. ``finished`` names the outputter that renders them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ... import config
from ..errors import ScenarioError

Return = dict[str, Any]

# What a runner call refuses with an error return instead of raising.
REFUSALS = (ScenarioError, config.InvalidOption)


def error(exc: BaseException, **context: Any) -> Return:
    """The error return of a refusal: its exit code, `context` (e.g. ``name``) and the message."""
    return failure(getattr(exc, "retcode", 1), str(exc), **context)


def failure(retcode: int, message: str, **context: Any) -> Return:
    """An error return with an explicit exit code (e.g. 1: no such run in the journal)."""
    return {"retcode": retcode, "result": "error", **context, "error": message}


def refusing(work: Callable[[], Return], **context: Any) -> Return:
    """`work()`, or the error return of the refusal it raised (exit code and message)."""
    try:
        return work()
    except REFUSALS as exc:
        return error(exc, **context)


def answer(result: str, **fields: Any) -> Return:
    """A successful return (exit 0) of a query: ``result`` says what it holds."""
    return {"retcode": 0, "result": result, **fields}


def finished(ret: Return) -> Return:
    """The return as salt-run gets it: rendered by the scenario outputter unless it says otherwise."""
    ret.setdefault("outputter", "scenario")
    return ret
