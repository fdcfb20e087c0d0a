//! Case files: fuzzing reproducers (and any hand-written case) in the
//! catalog's own serializable format, so `wsconform replay --case-file`
//! and `wsconform server --case-file` run them beside the catalog and a
//! project can commit its findings as regression cases.
//!
//! A file holds one case (`wsconform show ID` prints one), a JSON array of
//! cases, or the reproducer layout `wsconform fuzz` writes:
//! `{"wsconform_case_file": 1, "case": {…}, "finding": {…}}`, where
//! `finding` records the class, the seed and the wire log of the run that
//! found it (for people; only `case` is read back).

use std::path::{Path, PathBuf};

use serde::Serialize;
use wsconform_cases::Case;

use crate::record::WireEntry;

use super::Finding;

/// The layout version `wsconform fuzz` writes.
pub const VERSION: u32 = 1;

/// Why a case file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CaseFileError {
    #[error("case file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("case file {path}: not a case, a list of cases or a wsconform reproducer: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("case file {path}: holds no case")]
    Empty { path: PathBuf },
    #[error("case file {path}: case id {id:?} is also a catalog case or in another case file")]
    DuplicateId { path: PathBuf, id: String },
    #[error("case file {path} is larger than {max} bytes")]
    TooLarge { path: PathBuf, max: u64 },
}

/// Case files are read whole; a reproducer is a few kilobytes.
const MAX_FILE: u64 = 16 << 20;

/// What a reproducer file records about its finding.
#[derive(Debug, Serialize)]
pub struct FindingRecord<'a> {
    pub finding: &'a Finding,
    /// The campaign's `--seed`, the iteration, and the iteration's own seed
    /// (the script is `generate::script(iteration_seed)`).
    pub seed: u64,
    pub iteration: u64,
    pub iteration_seed: u64,
    /// Steps of the generated script before minimization.
    pub original_steps: usize,
    /// Runs of the peer that minimization took.
    pub minimize_runs: usize,
    /// The target fuzzed (URL, or the reference server and its knobs).
    pub target: String,
    /// The wire log of the minimized script's run.
    pub wirelog: &'a [WireEntry],
}

#[derive(Serialize)]
struct Reproducer<'a> {
    wsconform_case_file: u32,
    case: &'a Case,
    finding: FindingRecord<'a>,
}

/// Writes a reproducer (atomically: temporary file, then rename).
pub fn save(path: &Path, case: &Case, finding: FindingRecord<'_>) -> Result<(), crate::report::ReportError> {
    let doc = Reproducer {
        wsconform_case_file: VERSION,
        case,
        finding,
    };
    let json = crate::report::to_json("case file", &doc)?;
    crate::report::write_atomic(path, &json)
}

/// Reads the cases of one file.
pub fn load(path: &Path) -> Result<Vec<Case>, CaseFileError> {
    let read = |source| CaseFileError::Read {
        path: path.to_path_buf(),
        source,
    };
    let len = std::fs::metadata(path).map_err(read)?.len();
    if len > MAX_FILE {
        return Err(CaseFileError::TooLarge {
            path: path.to_path_buf(),
            max: MAX_FILE,
        });
    }
    let text = std::fs::read_to_string(path).map_err(read)?;
    let parse = |source| CaseFileError::Parse {
        path: path.to_path_buf(),
        source,
    };
    let value: serde_json::Value = serde_json::from_str(&text).map_err(parse)?;
    let cases = match value {
        serde_json::Value::Array(_) => serde_json::from_value::<Vec<Case>>(value).map_err(parse)?,
        serde_json::Value::Object(ref map) if map.contains_key("wsconform_case_file") => {
            let case = map.get("case").cloned().unwrap_or(serde_json::Value::Null);
            vec![serde_json::from_value::<Case>(case).map_err(parse)?]
        }
        other => vec![serde_json::from_value::<Case>(other).map_err(parse)?],
    };
    if cases.is_empty() {
        return Err(CaseFileError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(cases)
}

/// Reads every file, refusing ids that are already taken (by the catalog
/// or an earlier file): reports are keyed by id.
pub fn load_all(paths: &[PathBuf]) -> Result<Vec<Case>, CaseFileError> {
    let mut ids: std::collections::BTreeSet<String> =
        wsconform_cases::catalog().into_iter().map(|c| c.id).collect();
    let mut out = Vec::new();
    for path in paths {
        for case in load(path)? {
            if !ids.insert(case.id.clone()) {
                return Err(CaseFileError::DuplicateId {
                    path: path.clone(),
                    id: case.id,
                });
            }
            out.push(case);
        }
    }
    Ok(out)
}
