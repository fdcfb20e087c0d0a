//! The inputs of `wsconform report matrix`: `[LABEL][@ROLE]=PATH` arguments,
//! and the three layouts they may name — wsconform's `results.json`
//! (docs/results-json.md), Autobahn|Testsuite's `index.json`
//! (`{agent: {case id: {behavior, behaviorClose, duration, remoteCloseCode,
//! reportfile}}}`, written by `createMasterReportJSON` in Autobahn's
//! `autobahntestsuite/fuzzing.py`), and a summary: a `.txt` file with one
//! line per case, `id behavior behaviorClose`, as `scripts/compliance.sh`
//! commits them (`reports/ID/ROLE.txt`), so that the published matrix can be
//! rebuilt from what is committed.
//!
//! Every input is untrusted: a file may be huge, edited by hand or written by
//! a hostile peer's agent name. Files are parsed as streams into the few
//! fields the matrix keeps (ids and verdicts), under the budgets below, and
//! any surprise is an [`InputError`]: one line, exit 2 at the CLI.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read as _};
use std::path::{Path, PathBuf};

use serde::de::IgnoredAny;
use serde::Deserialize;
use wsconform_cases::{Behavior, BehaviorClose};
use wsconform_wire::Role;

use super::{Column, Tool, Verdicts};
use crate::gate::{behavior_close_named, behavior_named};
use crate::report::view::strip_tags;

/// Largest input file read, in bytes: a full run with every wire log is a
/// few tens of megabytes; past this a file is not a report anyone wrote.
pub const MAX_INPUT_BYTES: u64 = 512 * 1024 * 1024;
/// Most cases one column may hold (the catalog has about 600).
pub const MAX_CASES: usize = 10_000;
/// Longest case id, in bytes (the catalog's longest is about 30).
pub const MAX_ID_BYTES: usize = 64;
/// Longest label given on the command line, in characters.
pub const MAX_LABEL_CHARS: usize = 64;
/// Characters kept of an agent name, a version or a date from an input.
pub const MAX_TEXT_CHARS: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("input {0:?}: {1}")]
    Spec(String, &'static str),
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{0} holds neither results.json nor index.json")]
    NoReport(String),
    #[error("{path} is larger than {MAX_INPUT_BYTES} bytes")]
    TooLarge { path: String },
    #[error("{path} is not JSON: {source}")]
    NotJson { path: String, source: serde_json::Error },
    #[error("{path} is neither a wsconform results.json nor an Autobahn index.json: {why}")]
    Layout { path: String, why: String },
    #[error("{path}: {why}")]
    Content { path: String, why: String },
    #[error(
        "{path} holds {n} agents ({agents}): a LABEL names one column, so give it to an input with one agent"
    )]
    LabelOnMany { path: String, n: usize, agents: String },
    #[error(
        "{path} is a summary (.txt), which names neither implementation nor role: write \
         LABEL@ROLE={path}"
    )]
    SummaryUnnamed { path: String },
    #[error("{path} holds no run of a {role} under test")]
    NoRunOfRole { path: String, role: &'static str },
    #[error(
        "cannot tell the role of {agent} in {path}: Autobahn's index.json does not say it and no \
         case report beside it does; write @server=PATH (from fuzzingclient) or @client=PATH \
         (from fuzzingserver)"
    )]
    UnknownRole { path: String, agent: String },
}

/// One `INPUT` argument: `[LABEL][@ROLE]=PATH` or a plain `PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSpec {
    /// Names the input's one column instead of its agent.
    pub label: Option<String>,
    /// The role of the implementation under test: selects the runs of a
    /// results.json, states it for an index.json.
    pub role: Option<Role>,
    pub path: PathBuf,
}

impl InputSpec {
    /// Parses `[LABEL][@ROLE]=PATH`. The text before the first `=` is a
    /// label only when it holds no `/`, so any path can still be given
    /// (`./a=b/results.json`).
    pub fn parse(arg: &str) -> Result<InputSpec, InputError> {
        let bad = |why| InputError::Spec(arg.to_string(), why);
        let Some((head, path)) = arg.split_once('=').filter(|(head, _)| !head.contains('/')) else {
            if arg.is_empty() {
                return Err(bad("empty"));
            }
            return Ok(InputSpec {
                label: None,
                role: None,
                path: PathBuf::from(arg),
            });
        };
        if path.is_empty() {
            return Err(bad("no PATH after ="));
        }
        let (label, role) = match head.rsplit_once('@') {
            Some((label, role)) => {
                let role = match role {
                    "server" => Role::Server,
                    "client" => Role::Client,
                    _ => return Err(bad("the role after @ must be server or client")),
                };
                (label, Some(role))
            }
            None => (head, None),
        };
        let label = if label.is_empty() {
            if role.is_none() {
                return Err(bad("empty LABEL before ="));
            }
            None
        } else {
            Some(check_label(label).map_err(bad)?)
        };
        Ok(InputSpec {
            label,
            role,
            path: PathBuf::from(path),
        })
    }
}

/// A label is shown in every output: 1–64 characters, at least one letter
/// or digit, no control characters.
fn check_label(label: &str) -> Result<String, &'static str> {
    if label.chars().count() > MAX_LABEL_CHARS {
        return Err("LABEL longer than 64 characters");
    }
    if label.chars().any(char::is_control) {
        return Err("LABEL holds a control character");
    }
    if !label.chars().any(char::is_alphanumeric) {
        return Err("LABEL needs a letter or digit");
    }
    Ok(label.to_string())
}

/// `s` cut to [`MAX_TEXT_CHARS`] characters, control characters replaced:
/// texts from inputs reach every output.
pub fn clean_text(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(MAX_TEXT_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if s.chars().nth(MAX_TEXT_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// The report file a PATH names: itself, or inside a folder `results.json`
/// (a wsconform `--outdir`, which also holds an index.json) before
/// `index.json` (an Autobahn report folder).
fn report_file(path: &Path) -> Result<PathBuf, InputError> {
    let meta = std::fs::metadata(path).map_err(|source| InputError::Io {
        path: path.display().to_string(),
        source,
    })?;
    if !meta.is_dir() {
        return Ok(path.to_path_buf());
    }
    ["results.json", "index.json"]
        .iter()
        .map(|name| path.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| InputError::NoReport(path.display().to_string()))
}

/// Opens `path` for a streaming parse, refusing files over the budget.
fn open(path: &Path) -> Result<impl std::io::Read, InputError> {
    let io = |source| InputError::Io {
        path: path.display().to_string(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    if file.metadata().map_err(io)?.len() > MAX_INPUT_BYTES {
        return Err(InputError::TooLarge {
            path: path.display().to_string(),
        });
    }
    // `take` also bounds a file that grows while it is read.
    Ok(BufReader::new(file).take(MAX_INPUT_BYTES + 1))
}

/// Parses `path` as `T`, streamed; `Err` carries serde's message.
fn parse<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Result<T, serde_json::Error>, InputError> {
    Ok(serde_json::from_reader(open(path)?))
}

#[derive(Deserialize)]
struct ResultsIn {
    schema_version: u32,
    tool: Option<ToolIn>,
    runs: Vec<RunIn>,
}

#[derive(Deserialize)]
struct ToolIn {
    version: Option<String>,
}

#[derive(Deserialize)]
struct RunIn {
    agent: String,
    peer_role: Role,
    started: Option<String>,
    complete: Option<bool>,
    cases: Vec<CaseIn>,
}

#[derive(Deserialize)]
struct CaseIn {
    id: String,
    description: Option<String>,
    verdict: VerdictIn,
}

#[derive(Deserialize)]
struct VerdictIn {
    behavior: String,
    behavior_close: String,
}

#[derive(Deserialize)]
struct IndexEntry {
    behavior: String,
    #[serde(rename = "behaviorClose")]
    behavior_close: String,
    reportfile: Option<String>,
}

type IndexIn = BTreeMap<String, BTreeMap<String, IndexEntry>>;

/// Autobahn's per-case report: `isServer` is true when the fuzzer was the
/// server, i.e. a client was under test (`fuzzing.py`, the case report's
/// keys).
#[derive(Deserialize)]
struct CaseReportIn {
    #[serde(rename = "isServer")]
    is_server: bool,
}

/// Reads one input into its columns, in the order the file lists them.
pub fn read(spec: &InputSpec) -> Result<Vec<Column>, InputError> {
    let path = report_file(&spec.path)?;
    let shown = path.display().to_string();
    if path.extension().is_some_and(|e| e == "txt") {
        return from_summary(&path, spec).map(|c| vec![c]);
    }
    let probe: BTreeMap<String, IgnoredAny> = parse(&path)?.map_err(|source| match source.classify() {
        serde_json::error::Category::Data => InputError::Layout {
            path: shown.clone(),
            why: "the top level is not a JSON object".into(),
        },
        _ => InputError::NotJson {
            path: shown.clone(),
            source,
        },
    })?;
    let layout = |e: serde_json::Error| InputError::Layout {
        path: shown.clone(),
        why: e.to_string(),
    };
    let report = path
        .parent()
        .map(|dir| dir.join("index.html"))
        .filter(|p| p.is_file());
    // Just enough to tell the layouts apart: results.json has a
    // `schema_version`; index.json is a map of agents.
    let columns = if probe.contains_key("schema_version") {
        let doc: ResultsIn = parse(&path)?.map_err(layout)?;
        from_results(&path, spec, doc, report)?
    } else {
        let doc: IndexIn = parse(&path)?.map_err(layout)?;
        from_index(&path, spec, doc, report)?
    };
    let agents: Vec<&str> = {
        let mut a: Vec<&str> = columns.iter().map(|c| c.agent.as_str()).collect();
        a.dedup();
        a
    };
    if spec.label.is_some() && agents.len() > 1 {
        return Err(InputError::LabelOnMany {
            path: shown,
            n: agents.len(),
            agents: clean_text(&agents.join(", ")),
        });
    }
    Ok(columns)
}

fn content(path: &str, why: String) -> InputError {
    InputError::Content {
        path: path.to_string(),
        why,
    }
}

/// The verdicts of case `id`, checked against Autobahn's names.
fn verdicts(path: &str, agent: &str, id: &str, b: &str, c: &str) -> Result<Verdicts, InputError> {
    let behavior: Behavior = behavior_named(b).map_err(|e| {
        content(
            path,
            format!("case {} of {}: behavior {e}", clean_text(id), clean_text(agent)),
        )
    })?;
    let behavior_close: BehaviorClose = behavior_close_named(c).map_err(|e| {
        content(
            path,
            format!(
                "case {} of {}: behaviorClose {e}",
                clean_text(id),
                clean_text(agent)
            ),
        )
    })?;
    Ok(Verdicts {
        behavior,
        behavior_close,
    })
}

/// Adds case `id` to a column's cases, under the budgets.
fn add_case(
    path: &str,
    agent: &str,
    cases: &mut BTreeMap<String, Verdicts>,
    id: String,
    v: Verdicts,
) -> Result<(), InputError> {
    if id.is_empty() || id.len() > MAX_ID_BYTES || id.chars().any(char::is_control) {
        return Err(content(
            path,
            format!(
                "case id {:?} of {} is empty, longer than {MAX_ID_BYTES} bytes or holds control characters",
                clean_text(&id),
                clean_text(agent)
            ),
        ));
    }
    if cases.len() >= MAX_CASES {
        return Err(content(
            path,
            format!("{} has more than {MAX_CASES} cases", clean_text(agent)),
        ));
    }
    if cases.insert(id.clone(), v).is_some() {
        return Err(content(
            path,
            format!("case {id} of {} is listed twice", clean_text(agent)),
        ));
    }
    Ok(())
}

fn from_results(
    file: &Path,
    spec: &InputSpec,
    doc: ResultsIn,
    report: Option<PathBuf>,
) -> Result<Vec<Column>, InputError> {
    let path = &file.display().to_string();
    if doc.schema_version != crate::report::results::SCHEMA_VERSION {
        return Err(content(
            path,
            format!(
                "schema_version {} is not {} (docs/results-json.md)",
                doc.schema_version,
                crate::report::results::SCHEMA_VERSION
            ),
        ));
    }
    let version = doc.tool.and_then(|t| t.version).map(|v| clean_text(&v));
    let mut columns = Vec::new();
    for (run_index, run) in doc.runs.into_iter().enumerate() {
        if spec.role.is_some_and(|r| r != run.peer_role) {
            continue;
        }
        let mut cases = BTreeMap::new();
        let mut descriptions = BTreeMap::new();
        for c in run.cases {
            let v = verdicts(
                path,
                &run.agent,
                &c.id,
                &c.verdict.behavior,
                &c.verdict.behavior_close,
            )?;
            if let Some(d) = c.description {
                descriptions.insert(c.id.clone(), clean_text(&strip_tags(&d)));
            }
            add_case(path, &run.agent, &mut cases, c.id, v)?;
        }
        let agent = clean_text(&run.agent);
        columns.push(Column {
            label: spec.label.clone().unwrap_or_else(|| agent.clone()),
            agent,
            role: run.peer_role,
            tool: Tool::Wsconform,
            tool_version: version.clone(),
            started: run.started.as_deref().map(clean_text),
            complete: run.complete,
            source: file.to_path_buf(),
            report: report.clone(),
            report_run: Some(run_index),
            cases,
            descriptions,
        });
    }
    if columns.is_empty() {
        if let Some(role) = spec.role {
            return Err(InputError::NoRunOfRole {
                path: path.to_string(),
                role: super::role_name(role),
            });
        }
    }
    Ok(columns)
}

fn from_index(
    file: &Path,
    spec: &InputSpec,
    doc: IndexIn,
    report: Option<PathBuf>,
) -> Result<Vec<Column>, InputError> {
    let path = file.display().to_string();
    let mut columns = Vec::new();
    for (agent, entries) in doc {
        let role = match spec.role {
            Some(role) => role,
            None => role_from_case_reports(file, &entries).ok_or_else(|| InputError::UnknownRole {
                path: path.clone(),
                agent: clean_text(&agent),
            })?,
        };
        let mut cases = BTreeMap::new();
        for (id, e) in entries {
            let v = verdicts(&path, &agent, &id, &e.behavior, &e.behavior_close)?;
            add_case(&path, &agent, &mut cases, id, v)?;
        }
        let agent = clean_text(&agent);
        columns.push(Column {
            label: spec.label.clone().unwrap_or_else(|| agent.clone()),
            agent,
            role,
            tool: Tool::Autobahn,
            tool_version: None,
            started: None,
            complete: None,
            source: file.to_path_buf(),
            report: report.clone(),
            report_run: None,
            cases,
            descriptions: BTreeMap::new(),
        });
    }
    Ok(columns)
}

/// A summary's one column. The file says only ids and verdicts, so the
/// label and the role come from the argument, and the column has no tool
/// version, date or full report of its own (`--full-reports` may name one).
fn from_summary(file: &Path, spec: &InputSpec) -> Result<Column, InputError> {
    let path = file.display().to_string();
    let (Some(label), Some(role)) = (&spec.label, spec.role) else {
        return Err(InputError::SummaryUnnamed { path });
    };
    let mut text = String::new();
    open(file)?
        .read_to_string(&mut text)
        .map_err(|source| InputError::Io {
            path: path.clone(),
            source,
        })?;
    let mut cases = BTreeMap::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        // Only behaviorClose has values with a space ("WRONG CODE").
        let mut fields = line.splitn(3, ' ');
        let (Some(id), Some(b), Some(c)) = (fields.next(), fields.next(), fields.next()) else {
            return Err(content(
                &path,
                format!("line {} is not \"id behavior behaviorClose\"", n + 1),
            ));
        };
        let v = verdicts(&path, label, id, b, c)?;
        add_case(&path, label, &mut cases, id.to_string(), v)?;
    }
    Ok(Column {
        label: label.clone(),
        agent: label.clone(),
        role,
        tool: Tool::Wsconform,
        tool_version: None,
        started: None,
        complete: None,
        source: file.to_path_buf(),
        report: None,
        report_run: None,
        cases,
        descriptions: BTreeMap::new(),
    })
}

/// The role under test, from the first per-case report beside an
/// index.json that can be read (`isServer`: the fuzzer was the server).
/// Only plain file names are followed: an edited index.json cannot make
/// this read outside its folder.
fn role_from_case_reports(index: &Path, entries: &BTreeMap<String, IndexEntry>) -> Option<Role> {
    let dir = index.parent()?;
    entries.values().find_map(|e| {
        let name = e.reportfile.as_deref()?;
        if Path::new(name).file_name()? != name || name == ".." {
            return None;
        }
        let report: CaseReportIn = parse(&dir.join(name)).ok()?.ok()?;
        Some(if report.is_server {
            Role::Client
        } else {
            Role::Server
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(arg: &str) -> Result<InputSpec, InputError> {
        InputSpec::parse(arg)
    }

    #[test]
    fn input_syntax() {
        let plain = spec("reports/servers").expect("a path");
        assert_eq!((plain.label, plain.role), (None, None));
        let labelled = spec("ws 8.18@server=out/index.json").expect("label and role");
        assert_eq!(labelled.label.as_deref(), Some("ws 8.18"));
        assert_eq!(labelled.role, Some(Role::Server));
        assert_eq!(labelled.path, PathBuf::from("out/index.json"));
        let role_only = spec("@client=ab").expect("role only");
        assert_eq!((role_only.label, role_only.role), (None, Some(Role::Client)));
        let odd_path = spec("./a=b/results.json").expect("a path with =");
        assert_eq!(odd_path.label, None);
        assert_eq!(odd_path.path, PathBuf::from("./a=b/results.json"));
        assert_eq!(
            spec("me@x.org=p").map(|s| s.role).ok(),
            None,
            "a role must be server or client"
        );
        for bad in [
            "",
            "=p",
            "x=",
            "@=p",
            "--=p",
            "a\u{7}=p",
            &format!("{}=p", "x".repeat(65)),
        ] {
            assert!(spec(bad).is_err(), "{bad:?} is refused");
        }
    }

    #[test]
    fn texts_are_cut_and_cleaned() {
        assert_eq!(clean_text("a\nb"), "a b");
        assert_eq!(clean_text(&"x".repeat(200)).chars().count(), MAX_TEXT_CHARS + 1);
    }
}
