"""The inline stylesheet and script of the HTML report (html_report.py).

Both are constants, never formatted with run data: every string from the run reaches the page
escaped in the markup, and the script reads it back only through `dataset`/`textContent`.
No fonts, images or URLs: the page renders the same offline, from a CI artifact or a mail.
"""

CSS = """
/* --fail-cell is used by failed cells only: a screenshot test looks for it. */
:root { --pass: #1b5e20; --pass-bg: #c8e6c9; --fail: #b71c1c; --fail-bg: #ef9a9a; --fail-cell: #e57373;
        --skip: #616161; --skip-bg: #e0e0e0; --warn-bg: #fff3cd; --line: #cfd8dc;
        --budget: #f9a825; --stop: #e65100; --stop-bg: #ffcc80; }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.4 system-ui, "DejaVu Sans", "Segoe UI", Arial, sans-serif; color: #212121;
       background: #fafafa; }
header.summary { padding: 12px 20px; background: #fff; border-bottom: 4px solid var(--skip); }
header.summary.passed { border-color: var(--pass); }
header.summary.failed, header.summary.error { border-color: var(--fail); }
header.summary.within_budget { border-color: var(--budget); }
header.summary.interrupted { border-color: var(--stop); }
h1 { font-size: 18px; margin: 0 0 4px; }
h2 { font-size: 14px; margin: 10px 0 4px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 3px; color: #fff; background: var(--skip);
         font-size: 13px; vertical-align: middle; }
.badge.passed { background: var(--pass); }
.badge.failed, .badge.error { background: var(--fail); }
/* Exit 5 (within budget) is amber, exit 6 (interrupted) orange: neither is a red failure. */
.badge.within_budget { background: var(--budget); color: #212121; }
.badge.interrupted { background: var(--stop); }
.line { font-size: 15px; font-weight: 600; margin: 4px 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0 12px; margin: 6px 0; }
dl.facts dt { color: #616161; }
dl.facts dd { margin: 0; word-break: break-all; }
.alert { margin: 4px 0; padding: 3px 10px; border-left: 4px solid #f9a825; background: var(--warn-bg); }
.alert.bad { border-color: var(--fail); background: #fdecea; }
details.hosts { display: inline; }
details.hosts > summary { display: inline; cursor: pointer; text-decoration: underline dotted; }
ol.failed { margin: 4px 0; padding-left: 22px; }
ol.failed .reason, .dim { color: #616161; }
.loc { color: #78909c; font-family: "DejaVu Sans Mono", monospace; font-size: 12px; }
nav.tools { padding: 8px 20px; display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
nav.tools .legend span { display: inline-block; padding: 0 6px; margin-right: 4px; border-radius: 2px;
                         border-left: 10px solid transparent; }
nav.tools .legend .passed { border-color: var(--pass-bg); }
nav.tools .legend .failed { border-color: var(--fail-bg); }
nav.tools .legend .skipped { border-color: var(--skip-bg); }
nav.tools .legend .interrupted { border-color: var(--stop-bg); }
main { padding: 0 20px 40px; }
details.group { margin: 6px 0; background: #fff; border: 1px solid var(--line); border-radius: 4px; }
details.group > summary { padding: 5px 10px; cursor: pointer; font-weight: 600; }
details.group.failed > summary { background: #fdecea; }
details.group.interrupted > summary { background: #fff3e0; }
details.group.rollback > summary { background: #ede7f6; }
details.group .tag { font-weight: normal; margin-left: 8px; padding: 0 6px; border-radius: 2px;
                     background: var(--skip-bg); }
details.group .tag.bad { background: var(--fail-bg); }
.scroll { overflow-x: auto; }
table.grid { border-collapse: collapse; margin: 0 10px 10px; }
table.grid th, table.grid td { border: 1px solid var(--line); }
th.corner { text-align: left; vertical-align: bottom; padding: 4px 8px; min-width: 16em; }
th.scenario { text-align: left; padding: 2px 6px; background: #eceff1; font-weight: 600;
              max-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
th.step { vertical-align: bottom; padding: 4px 2px; font-weight: normal; }
/* Step text reads bottom-up and wraps into a second line rather than making the header tall. */
th.step > span { display: inline-block; writing-mode: vertical-rl; transform: rotate(180deg); height: 13em;
                 text-align: left; line-height: 1.25; overflow: hidden; }
th.step b { font-weight: 600; }
th.step.gate { background: #fff8e1; }
th.step.failed { background: #fdecea; }
th.step.hot, td.cell.hot { outline: 2px solid #1565c0; outline-offset: -2px; }
tbody th { position: sticky; left: 0; background: #fff; text-align: left; padding: 1px 8px; white-space: nowrap;
           font-weight: normal; font-family: "DejaVu Sans Mono", monospace; font-size: 12px; }
tr.row.failed > th { color: var(--fail); font-weight: 700; }
tr.row.interrupted > th { color: var(--stop); font-weight: 700; }
tr.row.target > th { background: #bbdefb; }
.flag { font-family: system-ui, "DejaVu Sans", sans-serif; font-size: 11px; margin-left: 6px; padding: 0 4px;
        border-radius: 2px; background: var(--skip-bg); }
.flag.blocked { background: #ffcc80; }
.flag.bad { background: var(--fail-bg); }
td.cell { width: 2em; height: 1.6em; text-align: center; cursor: pointer; font-size: 12px; }
td.cell.passed { background: var(--pass-bg); color: var(--pass); }
td.cell.failed { background: var(--fail-cell); color: #fff; font-weight: 700; }
td.cell.skipped { background: var(--skip-bg); color: var(--skip); }
td.cell.interrupted { background: var(--stop-bg); color: var(--stop); font-weight: 700; }
td.cell.gate { background-image: repeating-linear-gradient(45deg, transparent 0 4px, rgba(255,255,255,.5) 4px 6px); }
td.gone { color: var(--fail); padding: 0 8px; }
body.only-failed tr.row:not(.failed) { display: none; }
aside#panel { position: fixed; right: 16px; bottom: 16px; width: 380px; max-height: 60vh; overflow: auto;
              background: #fff; border: 1px solid #90a4ae; border-radius: 6px; padding: 10px 12px;
              box-shadow: 0 4px 16px rgba(0,0,0,.2); }
aside#panel dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 10px; margin: 0; }
aside#panel dt { color: #616161; }
aside#panel dd { margin: 0; word-break: break-word; white-space: pre-wrap; }
aside#panel button { float: right; }
"""

SCRIPT = """
(function () {
  "use strict";
  var doc = document;
  var STATUSES = ["passed", "failed", "interrupted", "skipped"];

  // The grid's own count of its deploy cells, shown beside the summary line: the page checks itself.
  var counts = {passed: 0, failed: 0, interrupted: 0, skipped: 0};
  doc.querySelectorAll("details.batch td.cell").forEach(function (td) {
    STATUSES.forEach(function (s) { if (td.classList.contains(s)) { counts[s] += 1; } });
  });
  var tally = doc.getElementById("tally");
  if (tally) {
    tally.dataset.passed = counts.passed;
    tally.dataset.failed = counts.failed;
    tally.dataset.skipped = counts.skipped;
    tally.dataset.interrupted = counts.interrupted;
    tally.textContent = "grid: " + counts.passed + " passed, " + counts.failed + " failed, " +
      (counts.interrupted ? counts.interrupted + " interrupted, " : "") + counts.skipped + " skipped cells";
  }

  function stepHeader(td) {
    var table = td.closest("table");
    var row = table.tHead.rows[table.tHead.rows.length - 1];
    return row.cells[td.cellIndex - 1];
  }

  var panel = doc.getElementById("panel");
  var hot = [];
  function show(td) {
    var th = stepHeader(td);
    var tr = td.closest("tr");
    var group = td.closest("details");
    var status = STATUSES.filter(function (s) { return td.classList.contains(s); })[0] || "";
    var fields = {
      host: tr.dataset.host,
      status: status,
      reason: td.dataset.r || "-",
      step: th ? th.dataset.title : "",
      location: th ? th.dataset.loc : "",
      group: group ? group.dataset.label : "",
      jids: th && th.dataset.jids ? th.dataset.jids : "-",
      duration: th && th.dataset.dur ? th.dataset.dur + " s" : "-"
    };
    Object.keys(fields).forEach(function (k) {
      var dd = panel.querySelector("[data-f=" + k + "]");
      if (dd) { dd.textContent = fields[k]; }
    });
    panel.hidden = false;
    hot.forEach(function (el) { el.classList.remove("hot"); });
    hot = th ? [td, th] : [td];
    hot.forEach(function (el) { el.classList.add("hot"); });
  }

  doc.addEventListener("click", function (ev) {
    var td = ev.target.closest("td.cell");
    if (td) { show(td); return; }
    var act = ev.target.closest("[data-act]");
    if (!act) { return; }
    if (act.dataset.act === "close-panel") { panel.hidden = true; return; }
    var open = act.dataset.act === "open";
    doc.querySelectorAll("details.group").forEach(function (d) { d.open = open; });
  });

  var onlyFailed = doc.getElementById("only-failed");
  if (onlyFailed) {
    onlyFailed.addEventListener("change", function () {
      doc.body.classList.toggle("only-failed", onlyFailed.checked);
      if (onlyFailed.checked) {
        doc.querySelectorAll("details.group.failed").forEach(function (d) { d.open = true; });
      }
    });
  }

  // Links to a host (failed, still blocked) open its group, mark its row and show its failed cell.
  function reveal() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id ? doc.getElementById(id) : null;
    if (!el || !el.classList.contains("row")) { return; }
    var group = el.closest("details");
    if (group) { group.open = true; }
    doc.querySelectorAll("tr.row.target").forEach(function (r) { r.classList.remove("target"); });
    el.classList.add("target");
    var failed = el.querySelector("td.cell.failed");
    if (failed) { show(failed); }
    el.scrollIntoView({block: "center"});
  }
  window.addEventListener("hashchange", reveal);
  reveal();
  // Milliseconds from navigation to here (the whole page parsed): bench/html_report.py reads it.
  doc.body.dataset.readyMs = String(Math.round(window.performance.now()));
  doc.body.dataset.ready = "1";
})();
"""
