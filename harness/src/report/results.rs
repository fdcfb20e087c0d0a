//! wsconform's own report, `results.json`: everything the Autobahn format
//! has plus the RFC reference and requirement level of each case, the notes,
//! and a lossless wire log. Documented in `docs/results-json.md`; the
//! `schema_version` changes whenever a field changes meaning or goes away.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use serde::Serialize;
use wsconform_cases::{Behavior, Event, ExpectedClose, RfcRef};

use super::{iso8601, write_json_atomic, ReportError};
use crate::record::Outcome;
use crate::runner::CaseResult;
use crate::verdict::Verdict;

pub const SCHEMA_VERSION: u32 = 1;

/// Who was tested, and how the run went.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    pub agent: String,
    /// The role of the implementation under test (`server` or `client`).
    pub peer_role: wsconform_wire::Role,
    /// The URL tested, or the address listened on.
    pub target: String,
    #[serde(serialize_with = "iso")]
    pub started: SystemTime,
    /// False when the run was interrupted: only finished cases are listed.
    pub complete: bool,
}

fn iso<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&iso8601(*t))
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Results<'a> {
    schema_version: u32,
    tool: Tool,
    runs: Vec<Run<'a>>,
}

/// One agent's run.
#[derive(Serialize)]
struct Run<'a> {
    #[serde(flatten)]
    info: &'a RunInfo,
    summary: Counts,
    cases: Vec<CaseEntry<'a>>,
}

/// Verdict counts.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub behavior: BTreeMap<&'static str, usize>,
    pub behavior_close: BTreeMap<&'static str, usize>,
}

impl Counts {
    pub fn of(results: &[CaseResult]) -> Counts {
        let mut c = Counts::default();
        for r in results {
            *c.behavior.entry(r.verdict.behavior.as_str()).or_default() += 1;
            *c.behavior_close
                .entry(r.verdict.behavior_close.as_str())
                .or_default() += 1;
        }
        c
    }
}

#[derive(Serialize)]
struct CaseEntry<'a> {
    id: &'a str,
    description: &'a str,
    expectation: &'a str,
    rfc: &'a RfcRef,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    notes: &'a [String],
    verdict: &'a Verdict,
    expected: &'a BTreeMap<Behavior, Vec<Event>>,
    expected_close: &'a ExpectedClose,
    outcome: &'a Outcome,
}

/// Writes `results.json` into `outdir`: one run per agent tested. The
/// document borrows the results and is serialized straight into the file,
/// so writing it never holds a second copy of what the run kept.
pub fn write(outdir: &Path, runs: &[(RunInfo, &[CaseResult])]) -> Result<(), ReportError> {
    let doc = Results {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "wsconform",
            version: env!("CARGO_PKG_VERSION"),
        },
        runs: runs
            .iter()
            .map(|(info, results)| Run {
                info,
                summary: Counts::of(results),
                cases: results.iter().map(entry).collect(),
            })
            .collect(),
    };
    write_json_atomic(&outdir.join("results.json"), "results", &doc)
}

fn entry(r: &CaseResult) -> CaseEntry<'_> {
    CaseEntry {
        id: &r.case.id,
        description: &r.case.description,
        expectation: &r.case.expectation,
        rfc: &r.case.rfc,
        notes: &r.case.notes,
        verdict: &r.verdict,
        expected: &r.case.expected,
        expected_close: &r.case.expected_close,
        outcome: &r.outcome,
    }
}
