//! `wsconform report matrix`: many runs side by side — a panel of
//! implementations, two versions of one library, or wsconform's verdicts
//! beside Autobahn's on the same implementation.
//!
//! Each input becomes columns (one per agent and role, [`input`]); the
//! [`Matrix`] holds, per column and category, how many cases pass by the
//! gate's rule (`gate.rs`, so the matrix never disagrees with an exit code),
//! every case's verdicts across the columns, and for each implementation
//! judged by both tools the agreement between them. Renderers:
//! [`markdown`] (`matrix.md`), [`page`] (`index.html`) and `matrix.json`
//! (here). Everything but the one generated-at line depends only on the
//! inputs, so regenerating with nothing changed gives no diff but the date.

pub mod input;
pub mod markdown;
pub mod page;

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;
use wsconform_cases::{id_key, Behavior, BehaviorClose};
use wsconform_wire::Role;

use super::view::category_name;
use super::{write_atomic, write_json_atomic, ReportError};
use crate::gate::Gate;

/// Most columns in one matrix: a panel of 20 implementations in both roles,
/// judged by both tools, with room to spare.
pub const MAX_COLUMNS: usize = 128;

/// `matrix.json`'s layout version, raised when a field changes meaning or
/// goes away (docs/matrix-json.md).
pub const MATRIX_VERSION: u32 = 1;

/// Which tool judged a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tool {
    Wsconform,
    Autobahn,
}

impl Tool {
    pub fn name(self) -> &'static str {
        match self {
            Tool::Wsconform => "wsconform",
            Tool::Autobahn => "Autobahn",
        }
    }
}

/// `server` or `client`, as results.json spells a role.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Server => "server",
        Role::Client => "client",
    }
}

/// A case's two verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdicts {
    pub behavior: Behavior,
    pub behavior_close: BehaviorClose,
}

impl Verdicts {
    /// `behavior / behaviorClose`, both always spelled out.
    pub fn pair(&self) -> String {
        format!("{} / {}", self.behavior.as_str(), self.behavior_close.as_str())
    }

    /// `OK` when both are OK, else the pair: short cells in wide tables.
    pub fn short(&self) -> String {
        if self.behavior == Behavior::Ok && self.behavior_close == BehaviorClose::Ok {
            "OK".into()
        } else {
            self.pair()
        }
    }
}

/// One column as read from an input: one agent in one role, judged by one
/// tool.
#[derive(Debug, Clone)]
pub struct Column {
    /// What the outputs call it: the LABEL given, else the agent.
    pub label: String,
    pub agent: String,
    /// The role of the implementation under test.
    pub role: Role,
    pub tool: Tool,
    pub tool_version: Option<String>,
    pub started: Option<String>,
    pub complete: Option<bool>,
    /// The file the column was read from (a results.json, an index.json or
    /// a summary): every row links it, so even a page published without
    /// the full reports links each column to its verdicts.
    pub source: PathBuf,
    /// The input's full HTML report (`index.html` beside it, or where
    /// `--full-reports` says), if any.
    pub report: Option<PathBuf>,
    /// The run's position in a results.json: the full report opens one of
    /// its cases with `#case=ID&run=N`.
    pub report_run: Option<usize>,
    /// Case id → verdicts.
    pub cases: BTreeMap<String, Verdicts>,
    /// Case id → its description on one line, markup removed (a
    /// results.json has them; an index.json does not).
    pub descriptions: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum MatrixError {
    #[error("no columns: the inputs hold no runs")]
    Empty,
    #[error("more than {MAX_COLUMNS} columns")]
    TooMany,
    #[error(
        "two columns are {label} ({role}, judged by {tool}): give one input another LABEL= (a LABEL \
         shared by a wsconform and an Autobahn column of one role compares them)"
    )]
    Duplicate {
        label: String,
        role: &'static str,
        tool: &'static str,
    },
    #[error("cannot find {path}: {source}")]
    Path { path: String, source: std::io::Error },
    #[error("{0} is not a file")]
    NotAFile(String),
    #[error("--full-reports {pattern:?}: {why}")]
    Pattern { pattern: String, why: &'static str },
    #[error(transparent)]
    Write(#[from] ReportError),
}

/// Passed and total cases of one column in one category (or overall).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub passed: usize,
    pub total: usize,
}

impl Tally {
    fn add(&mut self, passed: bool) {
        self.total += 1;
        self.passed += usize::from(passed);
    }

    /// `passed/total`.
    pub fn text(&self) -> String {
        format!("{}/{}", self.passed, self.total)
    }
}

/// A column with what the outputs show about it.
#[derive(Debug, Clone)]
pub struct ColumnView {
    pub column: Column,
    /// Its input file as a URL relative to the output folder.
    pub source: String,
    /// Its full report as a URL relative to the output folder.
    pub link: Option<String>,
    /// Category → tally, for the categories it ran.
    pub tallies: BTreeMap<String, Tally>,
    pub overall: Tally,
}

/// One case of one role across the columns of that role.
#[derive(Debug, Clone)]
pub struct CaseRow {
    pub role: Role,
    pub id: String,
    pub category: String,
    /// The description from the first column that has one.
    pub description: Option<String>,
    /// Per column of the matrix (all roles): `None` where the column is of
    /// the other role or did not run the case.
    pub verdicts: Vec<Option<Verdicts>>,
    /// The columns that ran it do not all give the same verdicts.
    pub differs: bool,
    /// Some column that ran it fails the gate.
    pub fails_somewhere: bool,
}

/// One implementation in one role judged by both tools.
#[derive(Debug, Clone)]
pub struct Agreement {
    pub label: String,
    pub role: Role,
    /// Column indices.
    pub wsconform: usize,
    pub autobahn: usize,
    /// Cases both ran.
    pub compared: usize,
    /// Of those, the cases with the same behavior and behaviorClose.
    pub identical: usize,
    /// Cases only one of the two ran (not compared).
    pub only_one: usize,
    /// Case id, wsconform's verdicts, Autobahn's.
    pub differences: Vec<(String, Verdicts, Verdicts)>,
}

impl Agreement {
    /// The agreement line, exactly as matrix.md writes it.
    pub fn line(&self) -> String {
        format!(
            "{} of {} cases identical (behavior and behaviorClose)",
            self.identical, self.compared
        )
    }
}

/// Everything the three outputs show.
#[derive(Debug, Clone)]
pub struct Matrix {
    pub title: String,
    pub gate: Gate,
    pub columns: Vec<ColumnView>,
    /// Every category some column ran, in order: Autobahn's numbered ones,
    /// then wsconform's named families.
    pub categories: Vec<String>,
    /// By role (server first), then case id.
    pub cases: Vec<CaseRow>,
    pub agreements: Vec<Agreement>,
    /// Documents published with the matrix that a reader should find from
    /// it (`--see-also`), e.g. the panel's agreement with Autobahn: shown
    /// under the title of the page and of matrix.md.
    pub see_also: Vec<SeeAlso>,
}

/// A link to a document beside the matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeeAlso {
    pub text: String,
    /// Relative to the output folder, percent-encoded ([`relative_url`]).
    pub href: String,
}

/// The category of a case id: its first component (`7` of `7.1.6`, `hs`
/// of `hs.server.3`).
pub fn category_of(id: &str) -> &str {
    id.split('.').next().unwrap_or(id)
}

/// Numbered categories in numeric order, then named ones by name.
fn category_key(c: &str) -> (u64, String) {
    (c.parse::<u64>().unwrap_or(u64::MAX), c.to_string())
}

/// Servers first: the main job.
fn role_rank(role: Role) -> u8 {
    match role {
        Role::Server => 0,
        Role::Client => 1,
    }
}

impl Matrix {
    /// Builds the matrix of `columns` (in the order given) under `gate`.
    /// `out_dir` is where the outputs go: links are made relative to it,
    /// so the folder can be published as it is. A column with no full
    /// report beside its input gets the one `full_reports` names, if that
    /// file exists now.
    pub fn build(
        title: String,
        columns: Vec<Column>,
        gate: Gate,
        out_dir: &Path,
        full_reports: Option<&ReportPattern>,
    ) -> Result<Matrix, MatrixError> {
        if columns.is_empty() {
            return Err(MatrixError::Empty);
        }
        if columns.len() > MAX_COLUMNS {
            return Err(MatrixError::TooMany);
        }
        let mut seen = std::collections::BTreeSet::new();
        for c in &columns {
            if !seen.insert((c.label.as_str(), role_rank(c.role), c.tool)) {
                return Err(MatrixError::Duplicate {
                    label: c.label.clone(),
                    role: role_name(c.role),
                    tool: c.tool.name(),
                });
            }
        }
        let out_dir = canonical(out_dir)?;
        let mut categories = Vec::new();
        let views = columns
            .into_iter()
            .map(|mut column| {
                let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
                let mut overall = Tally::default();
                for (id, v) in &column.cases {
                    let pass = gate.passes_pair(v.behavior, v.behavior_close);
                    tallies.entry(category_of(id).to_string()).or_default().add(pass);
                    overall.add(pass);
                }
                for c in tallies.keys() {
                    if !categories.contains(c) {
                        categories.push(c.clone());
                    }
                }
                if column.report.is_none() {
                    if let Some(found) = full_reports.and_then(|p| p.find(&out_dir, &column)) {
                        column.report = Some(found);
                        // Which run of that report is this column's is not
                        // known: it is linked as a whole, not case by case.
                        column.report_run = None;
                    }
                }
                let link = match &column.report {
                    Some(report) => Some(relative_url(&out_dir, &canonical(report)?)),
                    None => None,
                };
                let source = relative_url(&out_dir, &canonical(&column.source)?);
                Ok(ColumnView {
                    column,
                    source,
                    link,
                    tallies,
                    overall,
                })
            })
            .collect::<Result<Vec<_>, MatrixError>>()?;
        categories.sort_by_key(|c| category_key(c));
        let cases = case_rows(&views, &gate);
        let agreements = agreements(&views);
        Ok(Matrix {
            title,
            gate,
            columns: views,
            categories,
            cases,
            agreements,
            see_also: Vec::new(),
        })
    }

    /// Links `target` (a file that exists now) from the page and matrix.md,
    /// as `text`, relative to `out_dir`, where the outputs are written: a
    /// link that would not resolve is an error, not a broken page.
    pub fn see_also(&mut self, out_dir: &Path, text: String, target: &Path) -> Result<(), MatrixError> {
        let target = canonical(target)?;
        if !target.is_file() {
            return Err(MatrixError::NotAFile(target.display().to_string()));
        }
        let href = relative_url(&canonical(out_dir)?, &target);
        self.see_also.push(SeeAlso { text, href });
        Ok(())
    }

    /// Writes `matrix.md`, `matrix.json` and `index.html` into `out_dir`,
    /// each atomically. `generated_at` goes on one line of each, the only
    /// line that changes when the inputs do not.
    pub fn write(&self, out_dir: &Path, generated_at: &str) -> Result<(), MatrixError> {
        write_atomic(
            &out_dir.join("matrix.md"),
            markdown::render(self, generated_at).as_bytes(),
        )?;
        write_json_atomic(&out_dir.join("matrix.json"), "matrix", &self.json(generated_at))?;
        write_atomic(
            &out_dir.join("index.html"),
            page::render(self, generated_at).as_bytes(),
        )?;
        Ok(())
    }

    /// The columns of `role`, with their indices.
    pub fn columns_of(&self, role: Role) -> impl Iterator<Item = (usize, &ColumnView)> {
        self.columns
            .iter()
            .enumerate()
            .filter(move |(_, c)| c.column.role == role)
    }

    /// Column `i`'s name in tables: its label, and the tool when another
    /// column of its role has the same label (the pairs compared).
    pub fn column_name(&self, i: usize) -> String {
        let c = &self.columns[i].column;
        let shared = self
            .columns
            .iter()
            .filter(|o| o.column.role == c.role && o.column.label == c.label)
            .count()
            > 1;
        if shared {
            format!("{} ({})", c.label, c.tool.name())
        } else {
            c.label.clone()
        }
    }

    /// The roles that have columns, servers first.
    pub fn roles(&self) -> Vec<Role> {
        [Role::Server, Role::Client]
            .into_iter()
            .filter(|r| self.columns.iter().any(|c| c.column.role == *r))
            .collect()
    }

    /// `matrix.json`'s document (docs/matrix-json.md).
    pub fn json(&self, generated_at: &str) -> MatrixJson<'_> {
        MatrixJson {
            wsconform_matrix: MATRIX_VERSION,
            generated_at: generated_at.to_string(),
            title: &self.title,
            tool: ToolJson {
                name: "wsconform",
                version: env!("CARGO_PKG_VERSION"),
            },
            gate: self.gate.describe(),
            categories: self
                .categories
                .iter()
                .map(|c| CategoryJson {
                    id: c,
                    name: category_name(c),
                })
                .collect(),
            columns: self
                .columns
                .iter()
                .map(|c| ColumnJson {
                    label: &c.column.label,
                    agent: &c.column.agent,
                    role: role_name(c.column.role),
                    tool: c.column.tool,
                    tool_version: c.column.tool_version.as_deref(),
                    started: c.column.started.as_deref(),
                    complete: c.column.complete,
                    source: &c.source,
                    report: c.link.as_deref(),
                    passed: c.overall.passed,
                    total: c.overall.total,
                    categories: &c.tallies,
                })
                .collect(),
            cases: self
                .cases
                .iter()
                .map(|r| CaseJson {
                    role: role_name(r.role),
                    id: &r.id,
                    category: &r.category,
                    description: r.description.as_deref(),
                    differs: r.differs,
                    verdicts: r.verdicts.iter().map(|v| v.map(|v| v.pair())).collect(),
                })
                .collect(),
            agreement: self
                .agreements
                .iter()
                .map(|a| AgreementJson {
                    label: &a.label,
                    role: role_name(a.role),
                    wsconform: a.wsconform,
                    autobahn: a.autobahn,
                    compared: a.compared,
                    identical: a.identical,
                    only_one: a.only_one,
                    differences: a
                        .differences
                        .iter()
                        .map(|(id, w, ab)| DifferenceJson {
                            id,
                            wsconform: w.pair(),
                            autobahn: ab.pair(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// Every (role, case) some column ran, with its verdicts in every column.
fn case_rows(columns: &[ColumnView], gate: &Gate) -> Vec<CaseRow> {
    let mut keys: Vec<(Role, &str)> = Vec::new();
    let mut known = std::collections::BTreeSet::new();
    for c in columns {
        for id in c.column.cases.keys() {
            if known.insert((role_rank(c.column.role), id.as_str())) {
                keys.push((c.column.role, id));
            }
        }
    }
    keys.sort_by_key(|(role, id)| (role_rank(*role), id_key(id)));
    keys.into_iter()
        .map(|(role, id)| {
            let verdicts: Vec<Option<Verdicts>> = columns
                .iter()
                .map(|c| {
                    (c.column.role == role)
                        .then(|| c.column.cases.get(id).copied())
                        .flatten()
                })
                .collect();
            let mut ran = verdicts.iter().flatten();
            let first = ran.next().copied();
            let differs = ran.any(|v| Some(*v) != first);
            let fails_somewhere = verdicts
                .iter()
                .flatten()
                .any(|v| !gate.passes_pair(v.behavior, v.behavior_close));
            CaseRow {
                role,
                id: id.to_string(),
                category: category_of(id).to_string(),
                description: columns
                    .iter()
                    .find_map(|c| c.column.descriptions.get(id))
                    .cloned(),
                verdicts,
                differs,
                fails_somewhere,
            }
        })
        .collect()
}

/// A wsconform column and an Autobahn column with the same label and role
/// are one implementation judged by both tools: compare them case by case.
fn agreements(columns: &[ColumnView]) -> Vec<Agreement> {
    let mut out = Vec::new();
    for (w, wc) in columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.column.tool == Tool::Wsconform)
    {
        let Some((a, ac)) = columns.iter().enumerate().find(|(_, c)| {
            c.column.tool == Tool::Autobahn
                && c.column.label == wc.column.label
                && c.column.role == wc.column.role
        }) else {
            continue;
        };
        let (ws, ab) = (&wc.column.cases, &ac.column.cases);
        let mut ids: Vec<&String> = ws.keys().filter(|id| ab.contains_key(*id)).collect();
        ids.sort_by_key(|id| id_key(id));
        let differences: Vec<(String, Verdicts, Verdicts)> = ids
            .iter()
            .filter_map(|id| {
                let (x, y) = (ws.get(*id)?, ab.get(*id)?);
                (x != y).then(|| ((*id).clone(), *x, *y))
            })
            .collect();
        let union = ws.len() + ab.keys().filter(|id| !ws.contains_key(*id)).count();
        out.push(Agreement {
            label: wc.column.label.clone(),
            role: wc.column.role,
            wsconform: w,
            autobahn: a,
            compared: ids.len(),
            identical: ids.len() - differences.len(),
            only_one: union - ids.len(),
            differences,
        });
    }
    out
}

/// `--full-reports PATTERN`: where the full HTML report of a column whose
/// input has none beside it is, as a path relative to the output folder
/// with `{label}` and `{role}` replaced per column
/// (`runs/{label}/{role}/index.html` for the committed summaries of a
/// panel). A report is linked only when its file exists as the matrix is
/// written, so one pattern serves a folder published with the reports and
/// the same folder committed without them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportPattern(String);

/// Longest `--full-reports` pattern, in characters.
pub const MAX_PATTERN_CHARS: usize = 200;

impl ReportPattern {
    /// A relative path of plain names (no `..`, no root), whose only
    /// braces are the two placeholders: what it names stays inside the
    /// output folder.
    pub fn parse(pattern: &str) -> Result<ReportPattern, MatrixError> {
        let bad = |why| MatrixError::Pattern {
            pattern: pattern.chars().take(MAX_PATTERN_CHARS).collect(),
            why,
        };
        if pattern.is_empty() || pattern.chars().count() > MAX_PATTERN_CHARS {
            return Err(bad("1 to 200 characters"));
        }
        if pattern.chars().any(char::is_control) {
            return Err(bad("holds a control character"));
        }
        let rest = pattern.replace("{label}", "").replace("{role}", "");
        if rest.contains(['{', '}']) {
            return Err(bad("the only placeholders are {label} and {role}"));
        }
        if !plain_relative(Path::new(pattern)) {
            return Err(bad(
                "must be a relative path without .. (it is relative to --out)",
            ));
        }
        Ok(ReportPattern(pattern.to_string()))
    }

    /// The report of `column` under `out_dir`, if that file exists. A
    /// label (an agent name from an input) that would make the path leave
    /// the folder names none.
    fn find(&self, out_dir: &Path, column: &Column) -> Option<PathBuf> {
        let rel = self
            .0
            .replace("{role}", role_name(column.role))
            .replace("{label}", &column.label);
        let path = out_dir.join(Some(Path::new(&rel)).filter(|p| plain_relative(p))?);
        path.is_file().then_some(path)
    }
}

/// Only plain names: no root, no `.` or `..`.
fn plain_relative(path: &Path) -> bool {
    path.components().all(|c| matches!(c, Component::Normal(_)))
}

fn canonical(path: &Path) -> Result<PathBuf, MatrixError> {
    std::fs::canonicalize(path).map_err(|source| MatrixError::Path {
        path: path.display().to_string(),
        source,
    })
}

/// `to` (a file) as a URL relative to the folder `from`, both absolute:
/// `../a%20b/index.html`. Each path segment is percent-encoded (RFC 3986
/// §2.1) except its unreserved characters, so no name can end the
/// attribute or add a query or fragment.
pub fn relative_url(from: &Path, to: &Path) -> String {
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); from.len() - common];
    parts.extend(
        to[common..]
            .iter()
            .map(|c| percent_encode(c.as_os_str().as_encoded_bytes())),
    );
    parts.join("/")
}

/// `s` with every byte but the unreserved characters percent-encoded
/// (RFC 3986 §2.1, §2.3): safe as a path segment or a fragment value.
pub fn percent_encode(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(Debug, Serialize)]
pub struct MatrixJson<'a> {
    wsconform_matrix: u32,
    generated_at: String,
    title: &'a str,
    tool: ToolJson,
    gate: String,
    categories: Vec<CategoryJson<'a>>,
    columns: Vec<ColumnJson<'a>>,
    cases: Vec<CaseJson<'a>>,
    agreement: Vec<AgreementJson<'a>>,
}

#[derive(Debug, Serialize)]
struct ToolJson {
    name: &'static str,
    version: &'static str,
}

#[derive(Debug, Serialize)]
struct CategoryJson<'a> {
    id: &'a str,
    name: &'static str,
}

#[derive(Debug, Serialize)]
struct ColumnJson<'a> {
    label: &'a str,
    agent: &'a str,
    role: &'static str,
    tool: Tool,
    tool_version: Option<&'a str>,
    started: Option<&'a str>,
    complete: Option<bool>,
    source: &'a str,
    report: Option<&'a str>,
    passed: usize,
    total: usize,
    categories: &'a BTreeMap<String, Tally>,
}

#[derive(Debug, Serialize)]
struct CaseJson<'a> {
    role: &'static str,
    id: &'a str,
    category: &'a str,
    description: Option<&'a str>,
    differs: bool,
    verdicts: Vec<Option<String>>,
}

#[derive(Debug, Serialize)]
struct AgreementJson<'a> {
    label: &'a str,
    role: &'static str,
    wsconform: usize,
    autobahn: usize,
    compared: usize,
    identical: usize,
    only_one: usize,
    differences: Vec<DifferenceJson<'a>>,
}

#[derive(Debug, Serialize)]
struct DifferenceJson<'a> {
    id: &'a str,
    wsconform: String,
    autobahn: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use wsconform_cases::{Behavior as B, BehaviorClose as C};

    fn v(b: B, c: C) -> Verdicts {
        Verdicts {
            behavior: b,
            behavior_close: c,
        }
    }

    fn column(label: &str, role: Role, tool: Tool, cases: &[(&str, Verdicts)]) -> Column {
        Column {
            label: label.into(),
            agent: label.into(),
            role,
            tool,
            tool_version: None,
            started: None,
            complete: Some(true),
            source: input_file(),
            report: None,
            report_run: None,
            cases: cases.iter().map(|(id, v)| (id.to_string(), *v)).collect(),
            descriptions: BTreeMap::new(),
        }
    }

    /// One file every test column claims to be read from (links need it
    /// to exist).
    fn input_file() -> PathBuf {
        let path = scratch("input").join("results.json");
        std::fs::write(&path, "{}").expect("writes the input");
        path
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("wsconform-matrix-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("creates scratch folder");
        dir
    }

    fn build(columns: Vec<Column>, gate: Gate) -> Matrix {
        let dir = scratch("build");
        Matrix::build("t".into(), columns, gate, &dir, None).expect("builds")
    }

    fn sample() -> Vec<Column> {
        let ok = v(B::Ok, C::Ok);
        vec![
            column(
                "a",
                Role::Server,
                Tool::Wsconform,
                &[
                    ("1.1.1", ok),
                    ("2.2", v(B::Failed, C::Ok)),
                    ("6.4.1", v(B::NonStrict, C::Ok)),
                    ("7.1.6", v(B::Informational, C::Ok)),
                    ("12.1.1", v(B::Unimplemented, C::Ok)),
                    ("hs.server.standard", ok),
                ],
            ),
            column(
                "a",
                Role::Server,
                Tool::Autobahn,
                &[
                    ("1.1.1", ok),
                    ("2.2", v(B::Failed, C::Ok)),
                    ("6.4.1", v(B::NonStrict, C::Ok)),
                    ("7.1.6", v(B::Informational, C::Unclean)),
                    ("12.1.1", v(B::Unimplemented, C::Ok)),
                ],
            ),
            column(
                "b",
                Role::Server,
                Tool::Wsconform,
                &[("1.1.1", ok), ("2.2", ok), ("6.4.1", v(B::NonStrict, C::Ok))],
            ),
            column(
                "b",
                Role::Client,
                Tool::Wsconform,
                &[("1.1.1", v(B::Ok, C::WrongCode))],
            ),
        ]
    }

    #[test]
    fn passes_are_counted_by_the_gate() {
        let m = build(sample(), Gate::default());
        let a = &m.columns[0];
        assert_eq!(a.overall, Tally { passed: 5, total: 6 });
        assert_eq!(a.tallies["2"], Tally { passed: 0, total: 1 });
        assert_eq!(a.tallies["6"], Tally { passed: 1, total: 1 }, "NON-STRICT passes");
        assert_eq!(
            a.tallies["12"],
            Tally { passed: 1, total: 1 },
            "UNIMPLEMENTED passes"
        );
        assert_eq!(
            m.columns[1].tallies["7"],
            Tally { passed: 0, total: 1 },
            "UNCLEAN fails"
        );
        assert_eq!(
            m.columns[3].overall,
            Tally { passed: 0, total: 1 },
            "WRONG CODE fails"
        );

        let strict = build(
            sample(),
            Gate {
                strict: true,
                ..Gate::default()
            },
        );
        assert_eq!(strict.columns[0].tallies["6"], Tally { passed: 0, total: 1 });
        assert_eq!(strict.columns[2].overall, Tally { passed: 2, total: 3 });
        let features = build(
            sample(),
            Gate {
                require_features: true,
                ..Gate::default()
            },
        );
        assert_eq!(features.columns[0].tallies["12"], Tally { passed: 0, total: 1 });
        // The counts are the gate's, case by case.
        for c in &m.columns {
            let passing = c
                .column
                .cases
                .values()
                .filter(|v| Gate::default().passes_pair(v.behavior, v.behavior_close))
                .count();
            assert_eq!(c.overall.passed, passing);
        }
    }

    #[test]
    fn categories_are_ordered_numbers_then_families() {
        let m = build(sample(), Gate::default());
        assert_eq!(m.categories, ["1", "2", "6", "7", "12", "hs"]);
    }

    #[test]
    fn cases_not_run_are_not_differences() {
        let m = build(sample(), Gate::default());
        let row = |role: Role, id: &str| {
            m.cases
                .iter()
                .find(|r| r.role == role && r.id == id)
                .unwrap_or_else(|| panic!("row {id}"))
        };
        let hs = row(Role::Server, "hs.server.standard");
        assert_eq!(hs.verdicts, [Some(v(B::Ok, C::Ok)), None, None, None]);
        assert!(!hs.differs, "run by one column only");
        let nonstrict = row(Role::Server, "6.4.1");
        assert!(!nonstrict.differs && !nonstrict.fails_somewhere);
        let ping = row(Role::Server, "2.2");
        assert!(ping.differs && ping.fails_somewhere);
        assert_eq!(ping.verdicts[3], None, "a client column has no server verdicts");
        let client = row(Role::Client, "1.1.1");
        assert_eq!(client.verdicts, [None, None, None, Some(v(B::Ok, C::WrongCode))]);
        assert!(!client.differs);
        // Servers first, then by case id in numeric order.
        let ids: Vec<(Role, &str)> = m.cases.iter().map(|r| (r.role, r.id.as_str())).collect();
        assert_eq!(
            ids[..6].iter().map(|(_, id)| *id).collect::<Vec<_>>(),
            ["1.1.1", "2.2", "6.4.1", "7.1.6", "12.1.1", "hs.server.standard"]
        );
        assert_eq!(ids[6], (Role::Client, "1.1.1"));
        let md = markdown::render(&m, "T");
        assert!(
            !md.contains("| hs.server.standard |"),
            "not listed as differing:\n{md}"
        );
        assert!(md.contains("| 2.2 | FAILED / OK | FAILED / OK | OK |"), "{md}");
        assert!(
            md.contains("| b | server | wsconform | 3/3 | – |")
                || md.contains("| b | server | wsconform | 1/1 | 1/1 | 1/1 | – | – | – | 3/3 |"),
            "{md}"
        );
    }

    #[test]
    fn agreement_compares_the_two_tools() {
        let m = build(sample(), Gate::default());
        assert_eq!(m.agreements.len(), 1, "only a is judged by both");
        let a = &m.agreements[0];
        assert_eq!((a.wsconform, a.autobahn, a.role), (0, 1, Role::Server));
        assert_eq!((a.compared, a.identical, a.only_one), (5, 4, 1));
        assert_eq!(a.line(), "4 of 5 cases identical (behavior and behaviorClose)");
        assert_eq!(a.differences.len(), 1);
        assert_eq!(a.differences[0].0, "7.1.6");
        let md = markdown::render(&m, "T");
        assert!(
            md.contains("\n4 of 5 cases identical (behavior and behaviorClose)\n"),
            "{md}"
        );
        assert!(md.contains("| a | server | 4 | 5 | 1 |"), "{md}");
        assert!(
            md.contains("| 7.1.6 | INFORMATIONAL / OK | INFORMATIONAL / UNCLEAN |"),
            "{md}"
        );
        assert_eq!(m.column_name(0), "a (wsconform)");
        assert_eq!(m.column_name(2), "b", "b's other column is of the other role");
    }

    #[test]
    fn duplicate_columns_are_refused() {
        let mut columns = sample();
        columns.push(column("a", Role::Server, Tool::Autobahn, &[]));
        let dir = scratch("dup");
        let err = Matrix::build("t".into(), columns, Gate::default(), &dir, None).expect_err("refused");
        assert!(
            err.to_string()
                .contains("two columns are a (server, judged by Autobahn)"),
            "{err}"
        );
        let err = Matrix::build("t".into(), Vec::new(), Gate::default(), &dir, None).expect_err("refused");
        assert!(matches!(err, MatrixError::Empty));
    }

    /// Everything but the line holding the date.
    fn without(text: &str, date: &str) -> String {
        text.lines()
            .filter(|l| !l.contains(date))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn renders_are_deterministic_but_for_the_date() {
        let (d1, d2) = ("2026-01-01T00:00:00.000Z", "2027-02-02T11:11:11.111Z");
        let (x, y) = (build(sample(), Gate::default()), build(sample(), Gate::default()));
        let json = |m: &Matrix, d| {
            String::from_utf8(crate::report::to_json("m", &m.json(d)).expect("json")).expect("utf8")
        };
        for (a, b) in [
            (markdown::render(&x, d1), markdown::render(&y, d2)),
            (page::render(&x, d1), page::render(&y, d2)),
            (json(&x, d1), json(&y, d2)),
        ] {
            assert_eq!(a.lines().filter(|l| l.contains(d1)).count(), 1, "one dated line");
            assert_ne!(a, b);
            assert_eq!(without(&a, d1), without(&b, d2));
        }
    }

    #[test]
    fn hostile_labels_stay_text() {
        let evil = "<img src=x onerror=alert(1)>|*`";
        let mut columns = sample();
        columns[2].label = evil.into();
        columns[2].agent = "</script><script>alert(2)</script>".into();
        columns[2].cases.insert("<b>9.9</b>".into(), v(B::Failed, C::Ok));
        columns[2]
            .descriptions
            .insert("<b>9.9</b>".into(), "\"><script>alert(3)</script>".into());
        let m = build(columns, Gate::default());
        let page = page::render(&m, "T");
        assert!(!page.contains("<img") && !page.contains("<b>9.9"), "escaped");
        assert_eq!(page.matches("<script").count(), 1, "only the page's script");
        assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(
            page.contains("title=\"&quot;&gt;&lt;script&gt;alert(3)"),
            "a description stays in its attribute"
        );
        let md = markdown::render(&m, "T");
        assert!(
            !md.contains("<img") && md.contains("&lt;img src=x onerror=alert(1)&gt;\\|\\*\\`"),
            "{md}"
        );
    }

    #[test]
    fn page_is_bounded_for_a_panel() {
        let verdicts = [
            v(B::Ok, C::Ok),
            v(B::Failed, C::Ok),
            v(B::NonStrict, C::Ok),
            v(B::Informational, C::Unclean),
        ];
        let ids: Vec<String> = (0..600)
            .map(|i| format!("{}.{}.{}", i % 13 + 1, i / 13, i % 7))
            .collect();
        let columns: Vec<Column> = (0..20)
            .map(|c| {
                let mut col = column(
                    &format!("implementation-{c}"),
                    if c % 2 == 0 { Role::Server } else { Role::Client },
                    Tool::Wsconform,
                    &[],
                );
                col.cases = ids
                    .iter()
                    .enumerate()
                    .map(|(i, id)| {
                        (
                            id.clone(),
                            verdicts[(i * 7 + c) % 4 % if c % 3 == 0 { 4 } else { 1 }],
                        )
                    })
                    .collect();
                col
            })
            .collect();
        let m = build(columns, Gate::default());
        assert_eq!(m.cases.len(), 1200);
        let page = page::render(&m, "T");
        let md = markdown::render(&m, "T");
        eprintln!(
            "20 columns × 600 cases: page {} bytes, matrix.md {} bytes",
            page.len(),
            md.len()
        );
        assert!(page.len() < 1024 * 1024, "{} bytes", page.len());
        assert!(md.len() < 1024 * 1024, "{} bytes", md.len());
        assert!(!page.contains("http://") && !page.contains("https://") && !page.contains("src="));
    }

    #[test]
    fn full_reports_are_linked_only_where_they_exist() {
        let out = scratch("pattern");
        for dir in ["runs/a/server", "server"] {
            std::fs::create_dir_all(out.join(dir)).expect("creates folder");
            std::fs::write(out.join(dir).join("index.html"), "<p>").expect("writes");
        }
        let pattern = ReportPattern::parse("runs/{label}/{role}/index.html").expect("valid");
        let mut columns = sample();
        columns[0].report_run = Some(0);
        columns[3].label = "..".into();
        columns[3].role = Role::Server;
        columns[3].tool = Tool::Autobahn;
        columns[3].cases.clear();
        let m = Matrix::build("t".into(), columns, Gate::default(), &out, Some(&pattern)).expect("builds");
        let links: Vec<Option<&str>> = m.columns.iter().map(|c| c.link.as_deref()).collect();
        assert_eq!(
            links,
            [
                Some("runs/a/server/index.html"),
                Some("runs/a/server/index.html"),
                None,
                None
            ],
            "b has no report; a label cannot lead out of runs/"
        );
        assert_eq!(
            m.columns[0].column.report_run, None,
            "a report found by the pattern is not opened case by case"
        );
        let source = &m.columns[0].source;
        assert!(
            source.starts_with("../") && source.ends_with("-input/results.json"),
            "the input, relative to the output folder: {source}"
        );
        let unlinked = build(sample(), Gate::default());
        assert!(
            unlinked.columns.iter().all(|c| c.link.is_none()),
            "no pattern, no report"
        );

        for ok in ["{label}.html", "r/{role}/{label}/index.html"] {
            assert!(ReportPattern::parse(ok).is_ok(), "{ok}");
        }
        let long = "x".repeat(201);
        for bad in [
            "",
            "/r/{label}",
            "../{label}",
            "r/../x",
            "./x",
            "r/{agent}",
            "r/{label",
            "a\nb",
            &long,
        ] {
            let err = ReportPattern::parse(bad).expect_err(bad);
            assert!(err.to_string().starts_with("--full-reports "), "{err}");
        }
    }

    #[test]
    fn see_also_links_existing_files_relative_to_the_output_folder() {
        let out = scratch("see-also");
        let page_dir = out.join("page");
        std::fs::create_dir_all(&page_dir).expect("creates folder");
        let doc = out.join("agreement <1>.md");
        std::fs::write(&doc, "# a").expect("writes");
        let mut m = Matrix::build("t".into(), sample(), Gate::default(), &page_dir, None).expect("builds");
        m.see_also(&page_dir, "Agreement <&> [x]".into(), &doc)
            .expect("links");
        assert_eq!(
            m.see_also,
            [SeeAlso {
                text: "Agreement <&> [x]".into(),
                href: "../agreement%20%3C1%3E.md".into()
            }]
        );
        let html = page::render(&m, "now");
        assert!(
            html.contains(
                "<nav class=\"see-also\">See also: <a href=\"../agreement%20%3C1%3E.md\">Agreement &lt;&amp;&gt; [x]</a></nav>"
            ),
            "under the title, escaped"
        );
        let md = markdown::render(&m, "now");
        assert!(
            md.contains("See also: [Agreement &lt;&amp;&gt; \\[x\\]](../agreement%20%3C1%3E.md).\n"),
            "{md}"
        );
        // A link that would not resolve is refused; a folder is not a document.
        assert!(matches!(
            m.see_also(&page_dir, "x".into(), &out.join("missing.md")),
            Err(MatrixError::Path { .. })
        ));
        assert!(matches!(
            m.see_also(&page_dir, "x".into(), &out),
            Err(MatrixError::NotAFile(_))
        ));
        assert_eq!(m.see_also.len(), 1);
        // Without links, no line at all.
        let plain = build(sample(), Gate::default());
        assert!(!page::render(&plain, "now").contains("see-also"));
        assert!(!markdown::render(&plain, "now").contains("See also"));
    }

    #[test]
    fn relative_urls() {
        let u = |a: &str, b: &str| relative_url(Path::new(a), Path::new(b));
        assert_eq!(
            u("/r/matrix", "/r/ws/server/index.html"),
            "../ws/server/index.html"
        );
        assert_eq!(u("/r", "/r/ws/index.html"), "ws/index.html");
        assert_eq!(
            u("/r/a/b", "/x/y z/#?\"<.html"),
            "../../../x/y%20z/%23%3F%22%3C.html"
        );
    }
}
