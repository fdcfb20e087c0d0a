//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use serde_json::Value;
use wsconform::reference::{Knob, Knobs};
use wsconform::runner::CaseResult;
use wsconform::session::{run_servers, RunResults, ServerRun};
use wsconform_cases::Selection;

/// A file under the repository's `peers/expected/`.
pub fn expected_file(rel: &str) -> BTreeMap<String, Value> {
    let path = format!("{}/../peers/expected/{rel}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn selection(include: &[&str], exclude: &[&str]) -> Selection {
    Selection {
        include: include.iter().map(|s| s.to_string()).collect(),
        exclude: exclude.iter().map(|s| s.to_string()).collect(),
    }
}

/// Runs the reference server (with `knobs`) over `selection`, no reports.
pub async fn run_reference(knobs: &[Knob], selection: Selection) -> RunResults {
    let run = ServerRun {
        knobs: Knobs::new(knobs.iter().copied()),
        selection,
        outdir: None,
        ..ServerRun::default()
    };
    run_servers(&run, Arc::new(AtomicBool::new(false)), |_| {})
        .await
        .expect("run completes")
}

/// Runs a URL over `selection`, no reports.
pub async fn run_url(url: &str, agent: &str, selection: Selection) -> RunResults {
    let run = ServerRun {
        url: Some(url.to_string()),
        agent: Some(agent.to_string()),
        selection,
        outdir: None,
        ..ServerRun::default()
    };
    run_servers(&run, Arc::new(AtomicBool::new(false)), |_| {})
        .await
        .expect("run completes")
}

/// Ids of the cases whose verdicts fail the default gate.
pub fn failing(results: &[CaseResult]) -> BTreeSet<String> {
    let gate = wsconform::gate::Gate::default();
    results
        .iter()
        .filter(|r| !gate.passes(&r.verdict))
        .map(|r| r.case.id.clone())
        .collect()
}

/// (behavior, behaviorClose, remoteCloseCode) per case, as in index.json.
pub fn verdicts(results: &[CaseResult]) -> BTreeMap<String, (String, String, Value)> {
    results
        .iter()
        .map(|r| {
            let code = r
                .outcome
                .remote_close
                .as_ref()
                .and_then(|c| c.code)
                .map_or(Value::Null, Value::from);
            (
                r.case.id.clone(),
                (
                    r.verdict.behavior.as_str().to_string(),
                    r.verdict.behavior_close.as_str().to_string(),
                    code,
                ),
            )
        })
        .collect()
}

/// Compares a run with an expected-verdicts file; `tolerated` maps case
/// ids to the other behaviors accepted for them. Returns the differences.
pub fn compare(
    results: &[CaseResult],
    expected: &BTreeMap<String, Value>,
    tolerated: &BTreeMap<String, Vec<String>>,
) -> Vec<String> {
    let ours = verdicts(results);
    let mut diffs = Vec::new();
    for (id, want) in expected {
        let Some((b, bc, code)) = ours.get(id) else {
            diffs.push(format!("{id}: not run"));
            continue;
        };
        let want_b = want["behavior"].as_str().unwrap_or_default();
        let ok_b = b == want_b || tolerated.get(id).is_some_and(|alts| alts.contains(b));
        let ok_bc = bc == want["behaviorClose"].as_str().unwrap_or_default();
        let ok_code = *code == want["remoteCloseCode"];
        if !(ok_b && ok_bc && ok_code) {
            diffs.push(format!(
                "{id}: expected {want_b}/{}/{}, got {b}/{bc}/{code}",
                want["behaviorClose"], want["remoteCloseCode"]
            ));
        }
    }
    diffs
}
