//! `index.html` of a matrix: one self-contained page (inline CSS and
//! script, no network) that shows the matrix, the agreement between the
//! tools, and every case's verdicts across the columns.
//!
//! Unlike the run report (`report/html.rs`), everything is rendered here as
//! static HTML, so the page reads fully without JavaScript; the script only
//! adds the filters (category, implementation, role, verdict) and opens a
//! case in a column's full report. Every text from an input (labels, agent
//! names, case ids, versions) is escaped; a Content-Security-Policy allows
//! no source but the page's own script, by hash, so even a string that
//! escaped escaping could not run or load anything.
//!
//! Size: a cell is about 20 bytes, so 20 columns × 600 cases stay near
//! 300 KB (tested).

use std::fmt::Write as _;

use base64::Engine as _;
use sha2::{Digest as _, Sha256};
use wsconform_cases::Behavior;
use wsconform_wire::Role;

use super::{percent_encode, role_name, Matrix, Tally, Verdicts};
use crate::gate::Gate;
use crate::report::view::{category_name, escape_html as esc};

/// The page.
pub fn render(m: &Matrix, generated_at: &str) -> String {
    let mut out = String::with_capacity(64 * 1024 + m.cases.len() * (40 + 24 * m.columns.len()));
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n\
         <header><h1>{}</h1>\n<p class=\"tool\">Generated at {} by wsconform {}. {}.</p>\n",
        csp(),
        esc(&m.title),
        esc(&m.title),
        esc(generated_at),
        env!("CARGO_PKG_VERSION"),
        esc(&m.gate.describe()),
    );
    see_also(&mut out, m);
    out.push_str("</header>\n");
    filters(&mut out, m);
    matrix_table(&mut out, m);
    agreement(&mut out, m);
    for role in m.roles() {
        cases_table(&mut out, m, role);
    }
    let _ = write!(out, "<script>{JS}</script>\n</body>\n</html>\n");
    out
}

/// The documents published beside the matrix (`--see-also`).
fn see_also(out: &mut String, m: &Matrix) {
    if m.see_also.is_empty() {
        return;
    }
    out.push_str("<nav class=\"see-also\">See also: ");
    for (i, link) in m.see_also.iter().enumerate() {
        if i > 0 {
            out.push_str(" · ");
        }
        let _ = write!(out, "<a href=\"{}\">{}</a>", esc(&link.href), esc(&link.text));
    }
    out.push_str("</nav>\n");
}

/// No source at all but inline styles and this page's own script.
fn csp() -> String {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(JS.as_bytes()));
    format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{hash}'; \
         base-uri 'none'; form-action 'none'"
    )
}

/// The filter bar, hidden until the script shows it (without the script
/// it could not work).
fn filters(out: &mut String, m: &Matrix) {
    out.push_str(
        "<div class=\"filters\" id=\"filters\" role=\"search\" hidden>\n\
         <label>category <select id=\"f-cat\"><option value=\"\">all</option>",
    );
    for c in &m.categories {
        let name = match category_name(c) {
            "" => esc(c),
            n => format!("{} {n}", esc(c)),
        };
        let _ = write!(out, "<option value=\"{}\">{name}</option>", esc(c));
    }
    out.push_str(
        "</select></label>\n<label>implementation <select id=\"f-impl\"><option value=\"\">all</option>",
    );
    let mut labels: Vec<&str> = Vec::new();
    for c in &m.columns {
        if !labels.contains(&c.column.label.as_str()) {
            labels.push(&c.column.label);
        }
    }
    for l in labels {
        let _ = write!(out, "<option value=\"{0}\">{0}</option>", esc(l));
    }
    out.push_str("</select></label>\n<label>role <select id=\"f-role\"><option value=\"\">all</option>");
    for r in m.roles() {
        let _ = write!(out, "<option value=\"{0}\">{0}</option>", role_name(r));
    }
    out.push_str(
        "</select></label>\n<label>verdict <select id=\"f-verdict\"><option value=\"\">all cases</option>\
         <option value=\"differs\">verdicts differ</option>\
         <option value=\"fails\">fails somewhere</option>\
         <option value=\"passes\">passes everywhere</option></select></label>\n\
         <label>case <input id=\"f-text\" type=\"search\" placeholder=\"id starts with\"></label>\n\
         <span id=\"shown\"></span>\n</div>\n",
    );
}

/// The CSS class of a tally: all, some or none passed.
fn tally_class(t: &Tally) -> &'static str {
    if t.passed == t.total {
        "all"
    } else if t.passed == 0 {
        "none"
    } else {
        "some"
    }
}

fn matrix_table(out: &mut String, m: &Matrix) {
    out.push_str(
        "<section><h2>Matrix</h2>\n<table id=\"matrix\"><thead><tr><th>implementation</th><th>role</th><th>tool</th>",
    );
    for c in &m.categories {
        let _ = write!(
            out,
            "<th class=\"num\" data-cat=\"{0}\" title=\"{1}\">{0}</th>",
            esc(c),
            esc(category_name(c))
        );
    }
    out.push_str("<th class=\"num\">all</th><th>verdicts</th><th>full report</th></tr></thead>\n<tbody>\n");
    for c in &m.columns {
        let col = &c.column;
        let tool = match &col.tool_version {
            Some(v) => format!("{} {v}", col.tool.name()),
            None => col.tool.name().to_string(),
        };
        let mut title = format!("agent {}", col.agent);
        if let Some(s) = &col.started {
            let _ = write!(title, ", started {s}");
        }
        if col.complete == Some(false) {
            title.push_str(", run incomplete");
        }
        let _ = write!(
            out,
            "<tr class=\"col\" data-impl=\"{}\" data-role=\"{}\"><td title=\"{}\">{}{}</td><td>{}</td><td>{}</td>",
            esc(&col.label),
            role_name(col.role),
            esc(&title),
            esc(&col.label),
            if col.complete == Some(false) {
                " <span class=\"warn\">(incomplete)</span>"
            } else {
                ""
            },
            role_name(col.role),
            esc(&tool)
        );
        for cat in &m.categories {
            match c.tallies.get(cat) {
                Some(t) => {
                    let _ = write!(
                        out,
                        "<td class=\"num t {}\" data-cat=\"{}\"><a href=\"{}\">{}</a></td>",
                        tally_class(t),
                        esc(cat),
                        esc(&view_link(cat, col, t)),
                        t.text()
                    );
                }
                None => {
                    let _ = write!(out, "<td class=\"num t nr\" data-cat=\"{}\">–</td>", esc(cat));
                }
            }
        }
        let _ = write!(
            out,
            "<td class=\"num t {}\">{}</td>",
            tally_class(&c.overall),
            c.overall.text()
        );
        let _ = write!(
            out,
            "<td><a href=\"{}\">{}</a></td>",
            esc(&c.source),
            esc(&col
                .source
                .file_name()
                .map_or_else(|| c.source.clone(), |n| n.to_string_lossy().into_owned()))
        );
        match &c.link {
            Some(href) => {
                let _ = writeln!(out, "<td><a href=\"{}\">report</a></td></tr>", esc(href));
            }
            None => out.push_str("<td class=\"note\">none</td></tr>\n"),
        }
    }
    out.push_str("</tbody></table>\n<p class=\"note\">Each cell: cases passed/cases run; – where a column ran none of the category.</p></section>\n");
}

/// The filtered view of one matrix cell's cases: the category, the
/// implementation and role, and its failures when it has some. The script
/// reads it from the fragment (without the script the link goes nowhere).
fn view_link(cat: &str, col: &super::Column, t: &Tally) -> String {
    format!(
        "#cat={}&impl={}&role={}{}",
        percent_encode(cat.as_bytes()),
        percent_encode(col.label.as_bytes()),
        role_name(col.role),
        if t.passed < t.total { "&verdict=fails" } else { "" }
    )
}

/// The id of a case row, for links from the agreement lists.
fn row_id(role: Role, id: &str) -> String {
    format!("c-{}-{}", role_name(role), id)
}

fn agreement(out: &mut String, m: &Matrix) {
    if m.agreements.is_empty() {
        return;
    }
    out.push_str(
        "<section id=\"agreement\"><h2>Agreement with Autobahn</h2>\n<table class=\"agree\"><thead><tr>\
         <th>implementation</th><th>role</th><th class=\"num\">identical</th><th class=\"num\">compared</th>\
         <th class=\"num\">run by one tool only</th><th>differences</th></tr></thead><tbody>\n",
    );
    for a in &m.agreements {
        let diffs = if a.differences.is_empty() {
            "none".to_string()
        } else {
            a.differences
                .iter()
                .map(|(id, w, ab)| {
                    format!(
                        "<a href=\"#{}\" title=\"wsconform {} · Autobahn {}\">{}</a>",
                        esc(&row_id(a.role, id)),
                        w.pair(),
                        ab.pair(),
                        esc(id)
                    )
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        let _ = writeln!(
            out,
            "<tr data-impl=\"{}\" data-role=\"{}\"><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td>{diffs}</td></tr>",
            esc(&a.label),
            role_name(a.role),
            esc(&a.label),
            role_name(a.role),
            a.identical,
            a.compared,
            a.only_one,
        );
    }
    out.push_str("</tbody></table></section>\n");
}

/// The CSS class of one verdict cell: fails the gate, or which kind of pass.
fn verdict_class(v: &Verdicts, gate: &Gate) -> &'static str {
    if !gate.passes_pair(v.behavior, v.behavior_close) {
        return "f";
    }
    match v.behavior {
        Behavior::NonStrict => "ns",
        Behavior::Unimplemented => "un",
        Behavior::Informational => "in",
        _ if v.behavior_close != wsconform_cases::BehaviorClose::Ok => "in",
        _ => "ok",
    }
}

/// Every case of `role` (rows) across the columns of that role.
fn cases_table(out: &mut String, m: &Matrix, role: Role) {
    let columns: Vec<usize> = m.columns_of(role).map(|(i, _)| i).collect();
    let rows: Vec<_> = m.cases.iter().filter(|r| r.role == role).collect();
    let differing = rows.iter().filter(|r| r.differs).count();
    let _ = write!(
        out,
        "<section class=\"cases\" data-role=\"{0}\"><h2>Cases: {0} under test <small>{1} cases, {differing} with differing verdicts</small></h2>\n\
         <table class=\"cases\"><thead><tr><th>case</th>",
        role_name(role),
        rows.len()
    );
    for &i in &columns {
        let c = &m.columns[i];
        let run = c.column.report_run.map(|r| r.to_string()).unwrap_or_default();
        let _ = write!(
            out,
            "<th data-impl=\"{}\" data-href=\"{}\" data-run=\"{run}\">{}</th>",
            esc(&c.column.label),
            esc(c
                .link
                .as_deref()
                .filter(|_| c.column.report_run.is_some())
                .unwrap_or("")),
            esc(&m.column_name(i))
        );
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for r in rows {
        let _ = write!(
            out,
            "<tr id=\"{}\" class=\"case{}{}\" data-cat=\"{}\"><td class=\"id\" title=\"{}\">{}</td>",
            esc(&row_id(role, &r.id)),
            if r.differs { " differs" } else { "" },
            if r.fails_somewhere { " fails" } else { "" },
            esc(&r.category),
            esc(r.description.as_deref().unwrap_or("")),
            esc(&r.id)
        );
        for &i in &columns {
            match &r.verdicts[i] {
                Some(v) => {
                    let _ = write!(
                        out,
                        "<td class=\"{}\">{}</td>",
                        verdict_class(v, &m.gate),
                        v.short()
                    );
                }
                None => out.push_str("<td class=\"nr\">not run</td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></section>\n");
}

const CSS: &str = r##"
:root{--ok:#0a0;--nonstrict:#9a0;--info:#4095bf;--unimpl:#800080;--fail:#900;--line:#ddd}
*{box-sizing:border-box}
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 1.5em 2em;color:#222}
h1{font-size:1.5em;margin:.6em 0 0}h2{font-size:1.15em;margin:1.2em 0 .4em}h2 small{font-weight:normal;color:#666}
.tool,.note{color:#666}.warn{color:#b60}
.filters{position:sticky;top:0;background:#fff;padding:.5em 0;border-bottom:1px solid var(--line);display:flex;flex-wrap:wrap;gap:.4em 1.2em;align-items:center;z-index:1}
.filters input{width:10em}#shown{color:#666}
table{border-collapse:collapse}
th{text-align:left;border-bottom:2px solid #999;padding:.3em .5em;background:#f6f6f6;white-space:nowrap}
td{border-bottom:1px solid var(--line);padding:.2em .5em;white-space:nowrap}
.num{text-align:right;font-family:ui-monospace,monospace}
td.t a{color:inherit;text-decoration:none}body.js td.t a:hover{text-decoration:underline}
td.t.all{background:#e6f6e6}td.t.some{background:#fff4d6}td.t.none{background:#fbe3e3}td.t.nr{color:#999}
table.cases td{font-size:.9em;text-align:center}
table.cases td.id{font-family:ui-monospace,monospace;text-align:left}
table.cases td.ok{color:var(--ok)}table.cases td.ns{color:var(--nonstrict)}table.cases td.in{color:var(--info)}
table.cases td.un{color:var(--unimpl)}table.cases td.f{background:var(--fail);color:#fff}table.cases td.nr{color:#aaa}
table.cases tr.differs td.id{box-shadow:inset 4px 0 #d80;font-weight:bold}table.cases tr.differs{background:#fff8e8}
table.cases tr:target{outline:2px solid #36c}
body.js table.cases td[data-go]{cursor:pointer;text-decoration:underline dotted}
"##;

const JS: &str = r##"
"use strict";
(function () {
  document.body.classList.add("js");
  var bar = document.getElementById("filters");
  bar.hidden = false;
  var fCat = document.getElementById("f-cat");
  var fImpl = document.getElementById("f-impl");
  var fRole = document.getElementById("f-role");
  var fVerdict = document.getElementById("f-verdict");
  var fText = document.getElementById("f-text");
  var tables = Array.prototype.slice.call(document.querySelectorAll("section.cases"));
  var total = document.querySelectorAll("table.cases tbody tr").length;

  function each(sel, f) { Array.prototype.forEach.call(document.querySelectorAll(sel), f); }

  /* A cell of a column with a full wsconform report opens the case there. */
  tables.forEach(function (sec) {
    var heads = sec.querySelectorAll("thead th");
    Array.prototype.forEach.call(sec.querySelectorAll("tbody tr"), function (tr) {
      var id = tr.cells[0].textContent;
      for (var j = 1; j < tr.cells.length; j++) {
        var th = heads[j], td = tr.cells[j];
        if (th.dataset.href && td.className !== "nr") {
          td.dataset.go = th.dataset.href + "#case=" + encodeURIComponent(id) + "&run=" + th.dataset.run;
          td.title = "open " + id + " in the full report of " + th.textContent;
        }
      }
    });
    sec.addEventListener("click", function (ev) {
      var td = ev.target.closest("td[data-go]");
      if (td) location.href = td.dataset.go;
    });
  });

  function filter() {
    var cat = fCat.value, impl = fImpl.value, role = fRole.value, verdict = fVerdict.value;
    var q = fText.value.trim();
    each("#matrix tbody tr, table.agree tbody tr", function (tr) {
      tr.hidden = (impl !== "" && tr.dataset.impl !== impl) || (role !== "" && tr.dataset.role !== role);
    });
    each("#matrix [data-cat]", function (c) { c.hidden = cat !== "" && c.dataset.cat !== cat; });
    var shown = 0;
    tables.forEach(function (sec) {
      sec.hidden = role !== "" && sec.dataset.role !== role;
      var heads = sec.querySelectorAll("thead th");
      var cols = [];
      for (var j = 1; j < heads.length; j++) {
        var on = impl === "" || heads[j].dataset.impl === impl;
        heads[j].hidden = !on;
        if (on) cols.push(j);
      }
      Array.prototype.forEach.call(sec.querySelectorAll("tbody tr"), function (tr) {
        var seen = {}, kinds = 0, fails = false, ran = 0;
        for (var j = 1; j < tr.cells.length; j++) tr.cells[j].hidden = cols.indexOf(j) < 0;
        cols.forEach(function (j) {
          var td = tr.cells[j];
          if (td.className === "nr") return;
          ran++;
          if (td.className === "f") fails = true;
          if (!seen[td.textContent]) { seen[td.textContent] = true; kinds++; }
        });
        var ok = !sec.hidden && ran > 0 &&
          (cat === "" || tr.dataset.cat === cat) &&
          (q === "" || tr.cells[0].textContent.indexOf(q) === 0) &&
          (verdict === "" || (verdict === "differs" && kinds > 1) ||
           (verdict === "fails" && fails) || (verdict === "passes" && !fails));
        tr.hidden = !ok;
        if (ok) shown++;
      });
    });
    document.getElementById("shown").textContent = shown + " of " + total + " cases";
  }

  /* The fragment sets the filters (#cat=2&impl=ws&role=server&verdict=fails&q=2.),
     so a view can be linked to (each matrix cell links to its cases); a
     plain #id is an anchor. */
  function applyHash() {
    var h = location.hash.slice(1);
    if (h.indexOf("=") < 0) { filter(); return; }
    var p = new URLSearchParams(h);
    [["cat", fCat], ["impl", fImpl], ["role", fRole], ["verdict", fVerdict], ["q", fText]].forEach(function (x) {
      var v = p.get(x[0]);
      x[1].value = v === null ? "" : v;
    });
    filter();
  }
  [fCat, fImpl, fRole, fVerdict].forEach(function (f) { f.addEventListener("change", filter); });
  fText.addEventListener("input", filter);
  window.addEventListener("hashchange", applyHash);
  applyHash();
})();
"##;
