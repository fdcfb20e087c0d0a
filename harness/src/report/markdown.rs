//! A Markdown summary for a CI job page (GitHub's `$GITHUB_STEP_SUMMARY`):
//! per run a verdict-count table, then only the cases the gate fails, one
//! table row each with expected against actual. Passing cases are left out
//! so the page stays readable (and far below GitHub's 1 MiB summary limit).

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use super::view::{truncate, Doc, Run};
use super::{write_atomic, ReportError};
use crate::gate::Gate;

/// Longest expected-against-actual cell, in characters: one line on a page.
const MISMATCH_MAX: usize = 300;

/// The Markdown summary of a results.json document under `gate`.
pub fn render_markdown(doc: &Value, gate: &Gate) -> String {
    let doc = Doc(doc);
    let mut out = String::new();
    let mut runs = 0;
    for run in doc.runs() {
        runs += 1;
        render_run(&mut out, &doc, run, gate);
    }
    if runs == 0 {
        out.push_str("## wsconform\n\nThe report holds no runs.\n");
    }
    out
}

/// Renders and writes the Markdown summary to `path` atomically.
pub fn write_markdown(path: &Path, doc: &Value, gate: &Gate) -> Result<(), ReportError> {
    write_atomic(path, render_markdown(doc, gate).as_bytes())
}

fn render_run(out: &mut String, doc: &Doc, run: Run, gate: &Gate) {
    let counts = run.counts(gate);
    let verdict = match (counts.failing, run.complete()) {
        (0, Some(false)) => format!("⚠️ {} cases pass, run incomplete", counts.total),
        (0, _) => format!("✅ all {} cases pass", counts.total),
        (n, _) => format!("❌ {n} of {} cases fail", counts.total),
    };
    let _ = writeln!(
        out,
        "## wsconform: {} ({} under test): {verdict}\n",
        md(run.agent()),
        md(run.role())
    );
    let _ = writeln!(
        out,
        "{} · target {} · started {} · complete: {} · {}\n",
        md(&doc.tool()),
        md(run.target()),
        md(run.started()),
        run.complete_text(),
        md(&gate.describe())
    );
    out.push_str("| verdict | behavior | behaviorClose |\n| --- | ---: | ---: |\n");
    for v in counts.verdict_names() {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            md(v),
            counts.behavior_count(v),
            counts.behavior_close_count(v)
        );
    }
    out.push('\n');
    let failing: Vec<_> = run.cases().filter(|c| !c.passes(gate)).collect();
    if failing.is_empty() {
        return;
    }
    let _ = writeln!(out, "### Failing cases ({})\n", failing.len());
    out.push_str(
        "| case | behavior | behaviorClose | RFC | expected vs actual |\n| --- | --- | --- | --- | --- |\n",
    );
    for c in failing {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            md(c.id()),
            md(c.behavior()),
            md(c.behavior_close()),
            md(&c.rfc_line()),
            md(&truncate(&c.mismatch_line(), MISMATCH_MAX))
        );
    }
    out.push('\n');
}

/// Text made inert for a GitHub Markdown table cell: HTML and Markdown
/// punctuation escaped (peer texts such as close reasons end up here), line
/// breaks flattened and pipes escaped so a cell stays one cell.
pub(crate) fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' | '\r' | '\t' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_inert() {
        assert_eq!(md("a|b\n<img>*x*"), "a\\|b &lt;img&gt;\\*x\\*");
    }
}
