"""Read the hosts x steps grid back out of an HTML report (as written, or as Chromium dumped it
after the page's script ran), and say what the grid must show for a run's return data.

`read_grid` parses with the standard library's HTML parser, the way a browser tokenises, and maps
every cell to its host (the row's data-host) and step (the data-loc of the header in the cell's
column), so tests compare cells by meaning, not by position in the markup.
"""

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from saltext.scenario.engine.records.html_assets import CSS

STATUSES = ("passed", "failed", "interrupted", "skipped")
# The colour only failed cells are painted with, for screenshot checks.
FAILED_CELL_RGB = tuple(bytes.fromhex(re.search(r"--fail-cell: #([0-9a-fA-F]{6})", CSS).group(1)))


@dataclass
class Cell:
    group: str  # the <details> data-label: "Batch 2/3", "All hosts", "Rollback (@on-failure)"
    host: str
    location: str
    status: str
    title: str
    reason: str | None


@dataclass
class Group:
    label: str
    classes: list
    open: bool
    rows: list = field(default_factory=list)  # data-host of each row, in page order


class _GridParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.groups, self.cells, self.scripts = [], [], 0
        self.tally = None
        self.body = {}
        self.panel = None  # {"hidden": bool, field: text} once the page has its panel
        self._field = None
        self._group = None
        self._locs = []
        self._in_thead = False
        self._host = None
        self._col = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "script":
            self.scripts += 1
        elif tag == "body":
            self.body = a
        elif tag == "details" and "group" in classes:
            self._group = Group(a.get("data-label"), classes, "open" in a)
            self.groups.append(self._group)
        elif tag == "thead":
            self._in_thead, self._locs = True, []
        elif tag == "th" and self._in_thead and "step" in classes:
            self._locs.append(a.get("data-loc"))
        elif tag == "tr" and "row" in classes:
            self._host, self._col = a.get("data-host"), 0
            self._group.rows.append(self._host)
        elif tag == "td" and "cell" in classes:
            status = [s for s in STATUSES if s in classes]
            assert len(status) == 1, f"cell of {self._host} has classes {classes}"
            self.cells.append(
                Cell(self._group.label, self._host, self._locs[self._col], status[0], a.get("title"), a.get("data-r"))
            )
            self._col += 1
        elif a.get("id") == "tally":
            self.tally = {s: a.get(f"data-{s}") for s in STATUSES}
        elif a.get("id") == "panel":
            self.panel = {"hidden": "hidden" in a}
        elif tag == "dd" and self.panel is not None and a.get("data-f"):
            self._field = a["data-f"]
            self.panel[self._field] = ""

    def handle_data(self, data):
        if self._field:
            self.panel[self._field] += data

    def handle_endtag(self, tag):
        if tag == "thead":
            self._in_thead = False
        elif tag == "dd":
            self._field = None


def read_grid(text):
    """The parser after feeding it `text`: .groups, .cells, .scripts, .tally, .body (attributes), .panel."""
    parser = _GridParser()
    parser.feed(text)
    parser.close()
    return parser


def deploy_cells(parser):
    """{(host, location): status} of the batch groups (the rollback group left out)."""
    batch_labels = {g.label for g in parser.groups if "batch" in g.classes}
    out = {}
    for cell in parser.cells:
        if cell.group in batch_labels:
            assert (cell.host, cell.location) not in out, f"two cells for {cell.host} at {cell.location}"
            out[(cell.host, cell.location)] = cell.status
    return out


def expected_cells(ret):
    """{(host, location): status} for every host of every step that acts on hosts in `ret`."""
    out = {}
    for scenario in ret["scenarios"]:
        if scenario.get("on_failure"):
            continue
        for step in scenario["steps"]:
            if step.get("call") is None and "gate" not in step:
                continue
            for host, result in step["hosts"].items():
                out[(host, step["location"])] = result["status"]
    return out


def counts(cells):
    values = list(cells.values())
    return {s: values.count(s) for s in STATUSES}
