//! One self-contained HTML report: inline CSS and vanilla JavaScript, no
//! external assets, so it can be archived as a CI artifact, mailed or opened
//! from disk years later (Autobahn's reports needed their folder of files).
//!
//! The header and verdict counts are rendered here; the case table and each
//! case's detail are built in the browser from a JSON blob embedded in a
//! `<script type="application/json">`. That keeps a full run (301 cases,
//! each with its wire log) to a few hundred kilobytes instead of megabytes
//! of pre-rendered detail tables, and details cost nothing until opened.
//!
//! Everything from the peer or the document is untrusted: the server-side
//! parts are escaped, the blob cannot close its `<script>` element, and the
//! script inserts text only through `textContent`, except descriptions,
//! which are Autobahn's HTML reduced to `<br>` and `<b>` here.

use std::fmt::Write as _;
use std::io::Write as IoWrite;
use std::path::Path;

use serde_json::{json, Value};

use super::view::{
    category_name, escape_html as esc, sanitize_description, truncate, wire_row, Case, Doc, Run,
};
use super::{write_atomic_with, ReportError};
use crate::gate::Gate;

/// Wire log rows shown per case: a flooding peer can log 100,000 entries,
/// which no one reads in a browser; results.json has them all.
pub const MAX_WIRE_ROWS: usize = 500;
/// Received events listed per case (9.x cases receive 1000 echoes each).
const MAX_RECEIVED: usize = 50;
/// Characters of each HTTP handshake shown.
const MAX_HTTP: usize = 4000;
/// Characters shown of any other text that the peer may have shaped (setup
/// errors, close reasons, agent names, targets): the page stays readable,
/// and its size bounded, whatever the peer sent.
const MAX_TEXT: usize = 1000;

/// The HTML report for a results.json document under `gate`.
pub fn render_html(doc: &Value, gate: &Gate) -> String {
    let mut out = Vec::with_capacity(256 * 1024);
    // Writing into a Vec cannot fail, and the page is UTF-8 throughout.
    let _ = render_into(&mut out, doc, gate);
    String::from_utf8_lossy(&out).into_owned()
}

/// Renders and writes the HTML report to `path` atomically, streamed: the
/// page is written case by case, so its size never has to fit in memory.
pub fn write_html(path: &Path, doc: &Value, gate: &Gate) -> Result<(), ReportError> {
    write_atomic_with(path, |w| {
        render_into(w, doc, gate).map_err(|source| ReportError::Io {
            path: path.display().to_string(),
            source,
        })
    })
}

/// Writes the page into `out`: the header and run summaries, then the data
/// the script renders, one case at a time.
fn render_into(out: &mut impl IoWrite, doc: &Value, gate: &Gate) -> std::io::Result<()> {
    let doc = Doc(doc);
    let runs: Vec<Run> = doc.runs().collect();
    let agents: Vec<String> = runs.iter().map(|r| truncate(r.agent(), MAX_TEXT)).collect();
    let mut head = String::new();
    let _ = write!(
        head,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>wsconform report: {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n\
         <header><h1>WebSocket conformance report</h1>\
         <p class=\"tool\">{} · {}</p></header>\n",
        esc(&truncate(&agents.join(", "), MAX_TEXT)),
        esc(&doc.tool()),
        esc(&gate.describe()),
    );
    if runs.is_empty() {
        head.push_str("<p class=\"empty\">The report holds no runs.</p>\n");
    }
    out.write_all(head.as_bytes())?;
    for run in &runs {
        let mut section = String::new();
        run_header(&mut section, run, gate);
        out.write_all(section.as_bytes())?;
    }
    out.write_all(BODY.as_bytes())?;
    out.write_all(b"<script type=\"application/json\" id=\"wsconform-data\">")?;
    write_data(&mut ScriptSafe(&mut *out), &runs, gate)?;
    write!(out, "</script>\n<script>{JS}</script>\n</body>\n</html>\n")
}

/// Who was tested and how it went: the run's facts and verdict counts.
fn run_header(out: &mut String, run: &Run, gate: &Gate) {
    let counts = run.counts(gate);
    let complete = match run.complete() {
        Some(false) => "<span class=\"warn\">no: interrupted, only finished cases listed</span>",
        _ => run.complete_text(),
    };
    let outcome = if counts.failing == 0 {
        format!("<span class=\"allpass\">all {} cases pass</span>", counts.total)
    } else {
        format!(
            "<span class=\"somefail\">{} of {} cases fail</span>",
            counts.failing, counts.total
        )
    };
    let _ = writeln!(
        out,
        "<section class=\"run\"><h2>{} <small>{} under test</small> {outcome}</h2>\
         <dl><dt>target</dt><dd>{}</dd><dt>started</dt><dd>{}</dd>\
         <dt>complete</dt><dd>{complete}</dd></dl>\
         <div class=\"counts\">{}{}</div></section>",
        esc(&truncate(run.agent(), MAX_TEXT)),
        esc(run.role()),
        esc(&truncate(run.target(), MAX_TEXT)),
        esc(run.started()),
        badges("behavior", &counts.behavior),
        badges("behaviorClose", &counts.behavior_close),
    );
}

/// One line of verdict badges with counts.
fn badges(label: &str, counts: &[(String, usize)]) -> String {
    let mut out = format!("<div><span class=\"label\">{label}</span>");
    for (verdict, n) in counts {
        let _ = write!(
            out,
            "<span class=\"v {}\">{} <b>{n}</b></span>",
            verdict_class(verdict),
            esc(verdict)
        );
    }
    out.push_str("</div>");
    out
}

/// The CSS class of a verdict: Autobahn's colours (green pass, olive
/// non-strict, blue informational, purple unimplemented, red failures).
fn verdict_class(verdict: &str) -> &'static str {
    match verdict {
        "OK" => "ok",
        "NON-STRICT" => "nonstrict",
        "INFORMATIONAL" => "info",
        "UNIMPLEMENTED" => "unimpl",
        "FAILED" | "UNCLEAN" | "WRONG CODE" | "FAILED BY CLIENT" => "fail",
        _ => "unknown",
    }
}

/// The data the script renders: filter choices and one object per case,
/// as one JSON object. The cases are serialized one at a time, so only one
/// case's data is ever held.
fn write_data(out: &mut impl IoWrite, runs: &[Run], gate: &Gate) -> std::io::Result<()> {
    let mut cats: Vec<&str> = Vec::new();
    let (mut behaviors, mut closes) = (Vec::new(), Vec::new());
    for run in runs {
        let counts = run.counts(gate);
        add_names(&mut behaviors, counts.behavior);
        add_names(&mut closes, counts.behavior_close);
        for case in run.cases() {
            if !cats.contains(&case.category()) {
                cats.push(case.category());
            }
        }
    }
    cats.sort_by_key(|c| (c.parse::<u64>().unwrap_or(u64::MAX), *c));
    let agents: Vec<String> = runs.iter().map(|r| truncate(r.agent(), MAX_TEXT)).collect();
    let cats: Vec<[&str; 2]> = cats.iter().map(|c| [*c, category_name(c)]).collect();
    out.write_all(b"{")?;
    field(out, "runs", &agents)?;
    field(out, "cats", &cats)?;
    field(out, "behaviors", &behaviors)?;
    field(out, "closes", &closes)?;
    out.write_all(b"\"cases\":[")?;
    let mut first = true;
    for (i, run) in runs.iter().enumerate() {
        for case in run.cases() {
            if !first {
                out.write_all(b",")?;
            }
            first = false;
            serde_json::to_writer(&mut *out, &case_data(i, case, gate))?;
        }
    }
    out.write_all(b"]}")
}

/// `"key":value,` into a JSON object being written.
fn field<T: serde::Serialize>(out: &mut impl IoWrite, key: &str, value: &T) -> std::io::Result<()> {
    write!(out, "\"{key}\":")?;
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b",")
}

/// Adds the verdict names of `counts` not yet in `names`, keeping the
/// verdict order of the counts (Autobahn's).
fn add_names(names: &mut Vec<String>, counts: Vec<(String, usize)>) {
    for (name, _) in counts {
        if !names.contains(&name) {
            names.push(name);
        }
    }
}

fn case_data(run: usize, c: Case, gate: &Gate) -> Value {
    let o = c.outcome().unwrap_or(&Value::Null);
    let wirelog = o.get("wirelog").and_then(Value::as_array);
    let received = c.received();
    json!({
        "r": run,
        "id": c.id(),
        "cat": c.category(),
        "sd": c.short_description(),
        "d": sanitize_description(c.description()),
        "x": c.expectation(),
        "rfc": c.rfc_section(),
        "lvl": c.rfc_level(),
        "n": c.notes(),
        "b": c.behavior(),
        "bc": c.behavior_close(),
        "bk": verdict_class(c.behavior()),
        "bck": verdict_class(c.behavior_close()),
        "res": c.result(),
        "resc": c.result_close(),
        "f": !c.passes(gate),
        "code": c.remote_close_code(),
        "ms": c.duration_ms().map_or("?".into(), |ms| ms.to_string()),
        "err": c.setup_error().map(|e| truncate(e, MAX_TEXT)),
        "exp": c.expected(),
        "rcv": received.iter().take(MAX_RECEIVED).collect::<Vec<_>>(),
        "rcvn": received.len(),
        "ec": c.expected_close_line(),
        "ac": c.actual_close_line(),
        "cr": c.close_record().into_iter().map(|(k, v)| (k, truncate(&v, MAX_TEXT))).collect::<Vec<_>>(),
        "echo": echoes(o),
        "pmd": c.deflate_summary().map(|d| truncate(&d, 2 * MAX_TEXT)),
        "http": [
            truncate(o.get("http_request").and_then(Value::as_str).unwrap_or("?"), MAX_HTTP),
            truncate(o.get("http_response").and_then(Value::as_str).unwrap_or("?"), MAX_HTTP),
        ],
        "we": o.get("wirelog_enabled").and_then(Value::as_bool),
        "wn": wirelog.map_or(0, Vec::len),
        "w": wirelog.map_or(Vec::new(), |w| w.iter().take(MAX_WIRE_ROWS).map(wire_row).collect()),
    })
}

/// The 9.x echoes counted (`{matched, mismatch}`), when the case has them.
fn echoes(outcome: &Value) -> Option<String> {
    let e = outcome.get("echoes")?.as_object()?;
    let matched = e.get("matched").and_then(Value::as_u64).unwrap_or(0);
    let mismatch = match e.get("mismatch").and_then(Value::as_array).map(Vec::as_slice) {
        Some([binary, len]) => format!(
            "; then a {} message of {} bytes",
            if binary.as_bool() == Some(true) {
                "binary"
            } else {
                "text"
            },
            len.as_u64().map_or("?".into(), |n| n.to_string())
        ),
        _ => String::new(),
    };
    Some(format!(
        "{matched} echo(es) of the sent type and length{mismatch}"
    ))
}

/// A writer for JSON that sits inside `<script>`: `<`, `>` and `&` only
/// occur inside JSON strings, where their `\u` escapes mean the same, so
/// the blob can never contain `</script>` or `<!--` whatever the peer sent.
struct ScriptSafe<W>(W);

impl<W: IoWrite> IoWrite for ScriptSafe<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut start = 0;
        for (i, b) in buf.iter().enumerate() {
            let escaped: &[u8] = match b {
                b'<' => b"\\u003c",
                b'>' => b"\\u003e",
                b'&' => b"\\u0026",
                _ => continue,
            };
            self.0.write_all(&buf[start..i])?;
            self.0.write_all(escaped)?;
            start = i + 1;
        }
        self.0.write_all(&buf[start..])?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// The filters and the empty case table the script fills.
const BODY: &str = r##"<section class="cases">
<div class="filters" role="search">
<label>agent <select id="f-run"><option value="">all</option></select></label>
<label>category <select id="f-cat"><option value="">all</option></select></label>
<label>verdict <select id="f-verdict"><option value="">all</option><option value="failing">failing (gate)</option><option value="passing">passing (gate)</option></select></label>
<label>search <input id="f-text" type="search" placeholder="id, description, result"></label>
<span id="shown"></span>
</div>
<noscript><p class="warn">The case table needs JavaScript; the data is in this file's wsconform-data script element.</p></noscript>
<table id="cases"><thead><tr><th>case</th><th class="agent-col">agent</th><th>description</th><th>behavior</th><th>close</th><th>code</th><th>ms</th><th>RFC</th></tr></thead><tbody></tbody></table>
</section>
"##;

const CSS: &str = r##"
:root{--ok:#0a0;--nonstrict:#9a0;--info:#4095bf;--unimpl:#800080;--fail:#900;--line:#ddd}
*{box-sizing:border-box}
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 1.5em 2em;color:#222}
h1{font-size:1.5em;margin:.6em 0 0}h2{font-size:1.15em;margin:.2em 0}h2 small{font-weight:normal;color:#666}
.tool{color:#666;margin:.2em 0 1em}
.run{border:1px solid var(--line);border-radius:6px;padding:.6em 1em;margin-bottom:1em}
.run dl{display:grid;grid-template-columns:max-content 1fr;gap:.1em 1em;margin:.4em 0}
.run dt{color:#666}.run dd{margin:0;font-family:ui-monospace,monospace;word-break:break-all}
.counts .label{display:inline-block;width:8em;color:#666}
.v{display:inline-block;padding:0 .5em;margin:.1em .3em .1em 0;border-radius:3px;color:#fff;font-size:.9em;white-space:nowrap}
.v.ok{background:var(--ok)}.v.nonstrict{background:var(--nonstrict)}.v.info{background:var(--info)}
.v.unimpl{background:var(--unimpl)}.v.fail{background:var(--fail)}.v.unknown{background:#777}
.allpass{color:var(--ok);font-size:.85em}.somefail{color:var(--fail);font-size:.85em}.warn{color:#b60}
.filters{position:sticky;top:0;background:#fff;padding:.5em 0;border-bottom:1px solid var(--line);display:flex;flex-wrap:wrap;gap:.4em 1.2em;align-items:center;z-index:1}
.filters input{width:16em}#shown{color:#666}
table{border-collapse:collapse;width:100%}
#cases th{text-align:left;border-bottom:2px solid #999;padding:.3em .5em;background:#f6f6f6}
#cases td{border-bottom:1px solid var(--line);padding:.25em .5em;vertical-align:top}
#cases tr.case{cursor:pointer;scroll-margin-top:4em}#cases tr.case:hover{background:#f2f7ff}
#cases tr.case td.vc{color:#fff;text-align:center;white-space:nowrap;font-size:.9em}
td.vc.ok{background:var(--ok)}td.vc.nonstrict{background:var(--nonstrict)}td.vc.info{background:var(--info)}
td.vc.unimpl{background:var(--unimpl)}td.vc.fail{background:var(--fail)}td.vc.unknown{background:#777}
#cases tr.failing{background:#fff0f0}#cases tr.failing td:first-child{box-shadow:inset 4px 0 var(--fail);font-weight:bold}
#cases tr.open{background:#e8f0fe}
td.id{white-space:nowrap;font-family:ui-monospace,monospace}td.num{text-align:right;font-family:ui-monospace,monospace}
body:not(.multi) .agent-col{display:none}
tr.detail>td{background:#fafafa;padding:.8em 1.2em 1.2em!important;border-bottom:2px solid #999!important}
.detail h3{margin:.1em 0 .5em;font-size:1.1em}.detail h4{margin:1em 0 .3em;font-size:1em}
.detail .desc{margin:.3em 0 .6em;max-width:70em}
.detail dl{display:grid;grid-template-columns:max-content 1fr;gap:.15em 1em;margin:.2em 0}
.detail dt{color:#666}.detail dd{margin:0}
.detail dl.pairs{grid-template-columns:max-content 1fr max-content 1fr;font-size:.92em}
.detail details{margin-top:.8em}
.detail .cols{display:grid;grid-template-columns:1fr 1fr;gap:1.5em}
.detail ul{margin:.2em 0;padding-left:1.4em}
.mono,.detail li,.detail pre,table.wire{font-family:ui-monospace,monospace;font-size:12.5px}
.detail pre{background:#fff;border:1px solid var(--line);padding:.5em;overflow:auto;max-height:20em;white-space:pre-wrap;word-break:break-all}
table.wire{width:auto;margin-top:.3em}
table.wire th,table.wire td{border:1px solid var(--line);padding:.1em .45em;text-align:left;white-space:nowrap}
table.wire th{background:#eee}table.wire td.p{white-space:pre-wrap;word-break:break-all;max-width:48em}
table.wire tr.tx td{background:#fff}table.wire tr.rx td{background:#eef6ee}table.wire tr.other td{background:#f4f4f4;color:#555}
.note{color:#666;font-style:italic}
a.perma{font-size:.85em;font-weight:normal;margin-left:.6em}
"##;

const JS: &str = r##"
"use strict";
(function () {
  var data = JSON.parse(document.getElementById("wsconform-data").textContent);
  var cases = data.cases;
  var tbody = document.querySelector("#cases tbody");
  var multi = data.runs.length > 1;
  if (multi) document.body.classList.add("multi");
  var columns = 8;

  /* Builds an element; strings become text nodes, never markup. */
  function el(tag, cls) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    for (var i = 2; i < arguments.length; i++) {
      var k = arguments[i];
      if (k === null || k === undefined) continue;
      e.append(k instanceof Node ? k : String(k));
    }
    return e;
  }
  function option(select, value, label) {
    var o = el("option", null, label);
    o.value = value;
    select.append(o);
  }

  var fRun = document.getElementById("f-run");
  var fCat = document.getElementById("f-cat");
  var fVerdict = document.getElementById("f-verdict");
  var fText = document.getElementById("f-text");
  if (multi) data.runs.forEach(function (a, i) { option(fRun, String(i), a); });
  else fRun.parentNode.hidden = true;
  data.cats.forEach(function (c) { option(fCat, c[0], c[1] ? c[0] + " " + c[1] : c[0]); });
  data.behaviors.forEach(function (v) { option(fVerdict, "b:" + v, "behavior " + v); });
  data.closes.forEach(function (v) { option(fVerdict, "c:" + v, "behaviorClose " + v); });

  var rows = cases.map(function (c, i) {
    var tr = el("tr", "case" + (c.f ? " failing" : ""),
      el("td", "id", c.id),
      el("td", "agent-col", data.runs[c.r]),
      el("td", null, c.sd),
      el("td", "vc " + c.bk, c.b),
      el("td", "vc " + c.bck, c.bc),
      el("td", "num", c.code),
      el("td", "num", c.ms),
      el("td", null, c.rfc));
    tr.dataset.i = String(i);
    tr.tabIndex = 0;
    tr.title = c.f ? "fails the gate" : "passes the gate";
    tr.addEventListener("click", function () { toggle(i, true); });
    tr.addEventListener("keydown", function (ev) { if (ev.key === "Enter") toggle(i, true); });
    c.search = (c.id + " " + c.sd + " " + c.res + " " + c.resc + " " + c.rfc).toLowerCase();
    return tr;
  });
  tbody.append.apply(tbody, rows);
  var open = {};

  function matches(c) {
    if (fRun.value !== "" && String(c.r) !== fRun.value) return false;
    if (fCat.value !== "" && c.cat !== fCat.value) return false;
    var v = fVerdict.value;
    if (v === "failing" && !c.f) return false;
    if (v === "passing" && c.f) return false;
    if (v.indexOf("b:") === 0 && c.b !== v.slice(2)) return false;
    if (v.indexOf("c:") === 0 && c.bc !== v.slice(2)) return false;
    var q = fText.value.trim().toLowerCase();
    return q === "" || c.search.indexOf(q) >= 0;
  }
  function filter() {
    var shown = 0;
    cases.forEach(function (c, i) {
      var ok = matches(c);
      rows[i].hidden = !ok;
      if (open[i]) open[i].hidden = !ok;
      if (ok) shown++;
    });
    document.getElementById("shown").textContent = shown + " of " + cases.length + " cases";
  }
  [fRun, fCat, fVerdict].forEach(function (f) { f.addEventListener("change", filter); });
  fText.addEventListener("input", filter);

  function dl(pairs) {
    var d = el("dl");
    pairs.forEach(function (p) { if (p[1] !== null && p[1] !== undefined) d.append(el("dt", null, p[0]), el("dd", null, p[1])); });
    return d;
  }
  function list(items, empty) {
    var u = el("ul");
    if (!items.length) u.append(el("li", "note", empty));
    items.forEach(function (t) { u.append(el("li", null, t)); });
    return u;
  }
  function badge(cls, text) { return el("span", "v " + cls, text); }

  function detail(c) {
    var box = el("div", "detail");
    var link = el("a", "perma", "link");
    link.href = "#" + hashFor(c);
    box.append(el("h3", null, c.id + " ", badge(c.bk, c.b), " ", badge(c.bck, c.bc), link));
    var desc = el("div", "desc");
    desc.innerHTML = c.d; /* sanitized server-side: only <br> and <b> survive */
    box.append(desc);
    box.append(dl([
      ["expectation", c.x],
      ["RFC", c.rfc + " (" + c.lvl + ")"],
      ["result", c.res],
      ["close result", c.resc],
      ["duration", c.ms + " ms"],
      ["setup error", c.err],
      ["echoes", c.echo],
      ["permessage-deflate", c.pmd]
    ]));
    if (c.n.length) { box.append(el("h4", null, "Notes"), list(c.n, "")); }

    var expected = el("div", null, el("h4", null, "Expected events"));
    if (!c.exp.length) expected.append(el("p", "note", "No event list: the case is judged on its echoes."));
    c.exp.forEach(function (e) { expected.append(el("div", null, "for " + e[0] + ":"), list(e[1], "nothing")); });
    var more = c.rcvn > c.rcv.length ? " (first " + c.rcv.length + " of " + c.rcvn + ")" : "";
    var received = el("div", null, el("h4", null, "Received events" + more), list(c.rcv, "nothing"));
    box.append(el("div", "cols", expected, received));

    var expClose = el("div", null, el("h4", null, "Expected close"), el("p", null, c.ec));
    var record = dl(c.cr);
    record.className = "pairs";
    var actual = el("div", null, el("h4", null, "Close record"), el("p", null, c.ac), record);
    box.append(el("div", "cols", expClose, actual));

    box.append(el("h4", null, "Wire log"));
    if (c.we === false) box.append(el("p", "note", "Wire log off for this case (as in Autobahn)."));
    else if (!c.w.length) box.append(el("p", "note", "No entries."));
    else {
      var t = el("table", "wire", el("thead", null, el("tr", null,
        el("th", null, "ms"), el("th", null, "dir"), el("th", null, "kind"), el("th", null, "opcode"),
        el("th", null, "fin"), el("th", null, "rsv"), el("th", null, "mask"), el("th", null, "len"),
        el("th", null, "payload"))));
      var body = el("tbody");
      c.w.forEach(function (w) {
        var cls = w[1].indexOf("sent") >= 0 ? "tx" : w[1].indexOf("received") >= 0 ? "rx" : "other";
        var tr = el("tr", "wire-row " + cls);
        w.forEach(function (cell, j) { tr.append(el("td", j === 8 ? "p" : null, cell)); });
        body.append(tr);
      });
      t.append(body);
      box.append(t);
      if (c.wn > c.w.length) box.append(el("p", "note", "Showing the first " + c.w.length +
        " of " + c.wn + " entries; results.json has them all."));
    }
    box.append(el("details", null, el("summary", null, "Opening handshake"),
      el("pre", null, c.http[0]), el("pre", null, c.http[1])));
    return box;
  }

  function hashFor(c) {
    return "case=" + encodeURIComponent(c.id) + (multi ? "&run=" + c.r : "");
  }
  function toggle(i, fromClick) {
    var c = cases[i];
    if (open[i]) {
      open[i].remove();
      delete open[i];
      rows[i].classList.remove("open");
      return;
    }
    var td = el("td", null, detail(c));
    td.colSpan = columns;
    var tr = el("tr", "detail", td);
    rows[i].after(tr);
    rows[i].classList.add("open");
    open[i] = tr;
    if (fromClick) history.replaceState(null, "", "#" + hashFor(c));
  }

  /* The fragment sets the filters (#verdict=failing&cat=2&q=ping&run=0) and
     opens a case (#case=2.2), so a view or a failure can be linked to. */
  function applyHash() {
    var params = new URLSearchParams(location.hash.slice(1));
    [["run", fRun], ["cat", fCat], ["verdict", fVerdict], ["q", fText]].forEach(function (p) {
      var v = params.get(p[0]);
      p[1].value = v === null ? "" : v;
    });
    filter();
    var id = params.get("case");
    if (id === null) return;
    var run = params.get("run");
    var i = cases.findIndex(function (c) { return c.id === id && (run === null || String(c.r) === run); });
    if (i < 0) return;
    if (rows[i].hidden) {
      [fRun, fCat, fVerdict, fText].forEach(function (f) { f.value = ""; });
      filter();
    }
    if (!open[i]) toggle(i, false);
    var box = rows[i].getBoundingClientRect();
    if (box.top < 0 || box.bottom > window.innerHeight) rows[i].scrollIntoView({block: "start"});
  }
  window.addEventListener("hashchange", applyHash);
  applyHash();
})();
"##;
