"""Sections of RESULTS.md that other benchmarks own: kept when run.py rewrites the file.

A section runs from `<!-- section NAME -->` to `<!-- /section NAME -->`; `replace` puts one
in (or appends it), `kept` returns every section of a file, to append to a new report.
"""

import re
from pathlib import Path

_SECTION = re.compile(r"<!-- section (?P<name>[^>]+?) -->\n.*?<!-- /section (?P=name) -->\n", re.S)


def wrap(name, text):
    return f"<!-- section {name} -->\n{text.rstrip()}\n<!-- /section {name} -->\n"


def replace(path, name, text):
    """Put section ``name`` with ``text`` into the file at ``path`` (appended when absent)."""
    path = Path(path)
    old = path.read_text() if path.exists() else ""
    block = wrap(name, text)
    pattern = re.compile(rf"<!-- section {re.escape(name)} -->\n.*?<!-- /section {re.escape(name)} -->\n", re.S)
    if pattern.search(old):
        new = pattern.sub(lambda _m: block, old)
    else:
        new = old.rstrip("\n") + "\n\n" + block if old else block
    path.write_text(new)


def kept(path):
    """Every section of the file at ``path``, each after a blank line ("" when none)."""
    path = Path(path)
    if not path.exists():
        return ""
    return "".join("\n" + m.group(0) for m in _SECTION.finditer(path.read_text()))
