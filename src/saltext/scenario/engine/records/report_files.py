"""`report_dir=`: check the directory argument, then write the reports of a run into it.

The directory is a master-side path given by the operator; it is still checked like any
argument (absolute, no `..`, no option-looking or control characters) before anything is
created. Files are written under a temporary name and renamed, so a CI job collecting the
directory never reads half a report.
"""

from __future__ import annotations

import json
import os
import re
import threading

from ..contracts import RunReturn
from ..errors import InvalidScenario
from .cucumber_json import cucumber_report
from .html_report import html_report
from .junit_xml import junit_report
from .run_recorder import RunRecorder

_UNSAFE_STEM = re.compile(r"[^A-Za-z0-9_.-]+")


def check_report_dir(path: object) -> str:
    """The normalised absolute directory, or InvalidScenario (exit 2) naming the problem."""
    if not isinstance(path, str) or not path:
        raise InvalidScenario(f"report_dir must be a non-empty path, not {path!r}")
    if path.startswith("-"):
        raise InvalidScenario(f"report_dir looks like an option: {path!r}")
    if any(ord(c) < 32 or ord(c) == 127 for c in path):
        raise InvalidScenario(f"report_dir contains control characters: {path!r}")
    if not os.path.isabs(path):
        raise InvalidScenario(f"report_dir must be an absolute path on the master: {path!r}")
    if ".." in path.split("/"):
        raise InvalidScenario(f"report_dir must not contain '..': {path!r}")
    return os.path.normpath(path)


def report_stem(ret: RunReturn) -> str:
    """`<feature-stem>-<run_id>`: the feature file's name without .feature, made filename-safe."""
    source = ret.get("uri") or str(ret.get("name") or "scenario")
    stem = os.path.basename(source)
    stem = stem[: -len(".feature")] if stem.endswith(".feature") else stem
    stem = _UNSAFE_STEM.sub("_", stem).strip("._") or "scenario"
    return f"{stem}-{ret.get('run_id')}"


def write_atomic(path: str, data: bytes, mode: int = 0o644) -> None:
    """Write `data` (bytes) to a temporary file, fsync it, and rename it over `path`:
    a reader (a CI job, `scenario.history`) sees the old file or the new one, never half."""
    # Per process and thread: reactor runs are threads of one process, writing side by side.
    tmp = f"{path}.tmp{os.getpid()}.{threading.get_ident()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def write_reports(report_dir: str, ret: RunReturn, recorder: RunRecorder | None) -> dict[str, str]:
    """Write `<stem>.cucumber.json`, `<stem>.junit.xml` and `<stem>.html`; return their paths."""
    os.makedirs(report_dir, mode=0o755, exist_ok=True)
    stem = report_stem(ret)
    cucumber = os.path.join(report_dir, f"{stem}.cucumber.json")
    junit = os.path.join(report_dir, f"{stem}.junit.xml")
    page = os.path.join(report_dir, f"{stem}.html")
    write_atomic(cucumber, (json.dumps(cucumber_report(ret, recorder), indent=2) + "\n").encode())
    write_atomic(junit, junit_report(ret, recorder))
    write_atomic(page, html_report(ret, recorder))
    return {"cucumber_json": cucumber, "junit_xml": junit, "html": page}
