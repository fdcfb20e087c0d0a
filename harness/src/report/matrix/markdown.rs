//! `matrix.md`: the matrix as GitHub Markdown, for a README or a job
//! summary. Its layout is documented in the README ("Comparing runs") and
//! scripts rely on it: the agreement line is exactly
//! [`Agreement::line`](super::Agreement::line).

use std::fmt::Write as _;

use wsconform_wire::Role;

use super::{role_name, Matrix};
use crate::report::markdown::md;
use crate::report::view::category_name;

/// The Markdown page.
pub fn render(m: &Matrix, generated_at: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", md(&m.title));
    let _ = writeln!(
        out,
        "Generated at {} by wsconform {}.\n",
        md(generated_at),
        env!("CARGO_PKG_VERSION")
    );
    if !m.see_also.is_empty() {
        let links: Vec<String> = m
            .see_also
            .iter()
            .map(|l| format!("[{}]({})", md(&l.text), l.href))
            .collect();
        let _ = writeln!(out, "See also: {}.\n", links.join(" · "));
    }
    let _ = writeln!(
        out,
        "Each cell: cases passed/cases run ({}); – where a column ran none of the category.\n",
        md(&m.gate.describe())
    );
    summary_table(&mut out, m);
    agreement(&mut out, m);
    for role in m.roles() {
        differing(&mut out, m, role);
    }
    out
}

fn summary_table(out: &mut String, m: &Matrix) {
    out.push_str("| implementation | role | tool |");
    for c in &m.categories {
        let _ = write!(out, " {} |", md(c));
    }
    out.push_str(" all |\n| --- | --- | --- |");
    for _ in &m.categories {
        out.push_str(" ---: |");
    }
    out.push_str(" ---: |\n");
    for c in &m.columns {
        let tool = match &c.column.tool_version {
            Some(v) => format!("{} {v}", c.column.tool.name()),
            None => c.column.tool.name().to_string(),
        };
        let _ = write!(
            out,
            "| {} | {} | {} |",
            md(&c.column.label),
            role_name(c.column.role),
            md(&tool)
        );
        for cat in &m.categories {
            let cell = c.tallies.get(cat).map_or("–".to_string(), |t| t.text());
            let _ = write!(out, " {cell} |");
        }
        let _ = writeln!(out, " {} |", c.overall.text());
    }
    let names: Vec<String> = m
        .categories
        .iter()
        .map(|c| match category_name(c) {
            "" => md(c),
            name => format!("{} {name}", md(c)),
        })
        .collect();
    let _ = writeln!(out, "\nCategories: {}.\n", names.join(" · "));
}

/// Per implementation judged by both tools: the agreement line and every
/// difference.
fn agreement(out: &mut String, m: &Matrix) {
    if m.agreements.is_empty() {
        return;
    }
    out.push_str("## Agreement with Autobahn\n\n");
    out.push_str(
        "| implementation | role | identical | compared | run by one tool only |\n| --- | --- | ---: | ---: | ---: |\n",
    );
    for a in &m.agreements {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            md(&a.label),
            role_name(a.role),
            a.identical,
            a.compared,
            a.only_one
        );
    }
    out.push('\n');
    for a in &m.agreements {
        let _ = writeln!(
            out,
            "### {} ({})\n\n{}\n",
            md(&a.label),
            role_name(a.role),
            a.line()
        );
        if a.differences.is_empty() {
            continue;
        }
        out.push_str("| case | wsconform | Autobahn |\n| --- | --- | --- |\n");
        for (id, w, ab) in &a.differences {
            let _ = writeln!(out, "| {} | {} | {} |", md(id), w.pair(), ab.pair());
        }
        out.push('\n');
    }
}

/// The cases of `role` whose verdicts are not the same in every column
/// that ran them.
fn differing(out: &mut String, m: &Matrix, role: Role) {
    let columns: Vec<(usize, String)> = m
        .columns_of(role)
        .map(|(i, _)| (i, md(&m.column_name(i))))
        .collect();
    let rows: Vec<_> = m.cases.iter().filter(|r| r.role == role && r.differs).collect();
    let _ = writeln!(
        out,
        "## Cases whose verdicts differ ({} under test)\n",
        role_name(role)
    );
    if rows.is_empty() {
        let _ = writeln!(
            out,
            "Every case has the same verdicts in every {} column that ran it.\n",
            role_name(role)
        );
        return;
    }
    out.push_str("| case |");
    for (_, name) in &columns {
        let _ = write!(out, " {name} |");
    }
    out.push_str("\n| --- |");
    for _ in &columns {
        out.push_str(" --- |");
    }
    out.push('\n');
    for r in rows {
        let _ = write!(out, "| {} |", md(&r.id));
        for (i, _) in &columns {
            let cell = r.verdicts[*i].map_or("not run".to_string(), |v| v.short());
            let _ = write!(out, " {cell} |");
        }
        out.push('\n');
    }
    out.push('\n');
}
