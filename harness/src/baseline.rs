//! Expected-results baselines: CI fails on *changes* against a checked-in
//! file instead of on every known failure (what tungstenite and others do by
//! hand today with `jq` and `diff`).
//!
//! Three shapes are read:
//! - wsconform's own: `{"wsconform_baseline": 1, "agents": {AGENT: {ID: ENTRY}}}`;
//! - an Autobahn `index.json` with or without durations, as tungstenite keeps
//!   in `expected-results.json`: `{AGENT: {ID: ENTRY}}`;
//! - a flat map for a single implementation: `{ID: ENTRY}`.
//!
//! `ENTRY` is `{"behavior": …, "behaviorClose": …}`, optionally with a
//! `"reason"` saying why a non-OK verdict is expected; other keys
//! (`duration`, `remoteCloseCode`, `reportfile`) are ignored.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{json, Map, Value};

use crate::runner::CaseResult;

pub const FORMAT_VERSION: u64 = 1;

/// What a baseline expects of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub behavior: String,
    pub behavior_close: String,
    pub reason: Option<String>,
}

/// A loaded baseline: per agent (`None` for a flat file that applies to
/// any agent), per case id.
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    pub agents: BTreeMap<Option<String>, BTreeMap<String, Entry>>,
}

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("cannot read baseline {0}: {1}")]
    Read(String, std::io::Error),
    #[error("baseline {0} is not JSON: {1}")]
    Json(String, serde_json::Error),
    #[error("baseline {0}: {1}")]
    Shape(String, String),
    #[error("baseline {path} has no entries for agent {agent:?} (it has {have})")]
    NoAgent {
        path: String,
        agent: String,
        have: String,
    },
}

fn entry(v: &Value) -> Option<Entry> {
    Some(Entry {
        behavior: v.get("behavior")?.as_str()?.to_string(),
        behavior_close: v.get("behaviorClose")?.as_str()?.to_string(),
        reason: v.get("reason").and_then(Value::as_str).map(str::to_string),
    })
}

fn entries(map: &Map<String, Value>) -> Option<BTreeMap<String, Entry>> {
    map.iter().map(|(id, v)| Some((id.clone(), entry(v)?))).collect()
}

fn is_entry(v: &Value) -> bool {
    v.get("behavior").is_some()
}

impl Baseline {
    pub fn load(path: &Path) -> Result<Baseline, BaselineError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| BaselineError::Read(name.clone(), e))?;
        let doc: Value = serde_json::from_str(&text).map_err(|e| BaselineError::Json(name.clone(), e))?;
        Baseline::from_json(&doc).map_err(|why| BaselineError::Shape(name, why))
    }

    pub fn from_json(doc: &Value) -> Result<Baseline, String> {
        let top = doc.as_object().ok_or("not a JSON object")?;
        let bad_entry = "an entry lacks a string \"behavior\" or \"behaviorClose\"";
        let mut agents = BTreeMap::new();
        if let Some(version) = top.get("wsconform_baseline") {
            if version.as_u64() != Some(FORMAT_VERSION) {
                return Err(format!("unsupported wsconform_baseline version {version}"));
            }
            let by_agent = top
                .get("agents")
                .and_then(Value::as_object)
                .ok_or("no \"agents\" object")?;
            for (agent, cases) in by_agent {
                let cases = cases.as_object().ok_or("an agent's entry is not an object")?;
                agents.insert(Some(agent.clone()), entries(cases).ok_or(bad_entry)?);
            }
        } else if top.values().all(is_entry) {
            agents.insert(None, entries(top).ok_or(bad_entry)?);
        } else {
            for (agent, cases) in top {
                let cases = cases.as_object().filter(|c| c.values().all(is_entry)).ok_or(
                    "neither a wsconform baseline, nor an Autobahn index.json, nor a flat map of case verdicts",
                )?;
                agents.insert(Some(agent.clone()), entries(cases).ok_or(bad_entry)?);
            }
        }
        Ok(Baseline { agents })
    }

    /// The entries for `agent`: its own, else the file's only set.
    pub fn for_agent(&self, agent: &str, path: &str) -> Result<&BTreeMap<String, Entry>, BaselineError> {
        if let Some(e) = self.agents.get(&Some(agent.to_string())) {
            return Ok(e);
        }
        if self.agents.len() == 1 {
            if let Some(e) = self.agents.values().next() {
                return Ok(e);
            }
        }
        Err(BaselineError::NoAgent {
            path: path.to_string(),
            agent: agent.to_string(),
            have: self
                .agents
                .keys()
                .map(|a| a.clone().unwrap_or_else(|| "any".into()))
                .collect::<Vec<_>>()
                .join(", "),
        })
    }
}

/// How a run compares with a baseline.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Comparison {
    /// (id, expected, actual) for cases whose verdicts changed.
    pub changed: Vec<(String, Entry, Entry)>,
    /// Cases that ran but the baseline does not mention.
    pub unlisted: Vec<String>,
    /// Baseline entries that match no case of the catalog.
    pub stale: Vec<String>,
}

impl Comparison {
    pub fn is_clean(&self) -> bool {
        self.changed.is_empty() && self.unlisted.is_empty() && self.stale.is_empty()
    }

    /// Human-readable lines, one per finding.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (id, want, got) in &self.changed {
            let why = want
                .reason
                .as_deref()
                .map(|r| format!(" (baseline: {r})"))
                .unwrap_or_default();
            out.push(format!(
                "changed {id}: expected {}/{}, got {}/{}{why}",
                want.behavior, want.behavior_close, got.behavior, got.behavior_close
            ));
        }
        for id in &self.unlisted {
            out.push(format!(
                "not in the baseline: {id} (rerun with --update-expect to record it)"
            ));
        }
        for id in &self.stale {
            out.push(format!("stale baseline entry: {id} is not a case"));
        }
        out
    }
}

fn actual(r: &CaseResult) -> Entry {
    Entry {
        behavior: r.verdict.behavior.as_str().to_string(),
        behavior_close: r.verdict.behavior_close.as_str().to_string(),
        reason: None,
    }
}

/// Compares `results` with `expected`; `catalog_ids` are every id that
/// exists, to tell stale entries from cases merely not selected this run.
pub fn compare(
    expected: &BTreeMap<String, Entry>,
    results: &[CaseResult],
    catalog_ids: &BTreeSet<String>,
) -> Comparison {
    let mut c = Comparison::default();
    for r in results {
        let got = actual(r);
        match expected.get(&r.case.id) {
            None => c.unlisted.push(r.case.id.clone()),
            Some(want) if (&want.behavior, &want.behavior_close) != (&got.behavior, &got.behavior_close) => {
                c.changed.push((r.case.id.clone(), want.clone(), got))
            }
            Some(_) => {}
        }
    }
    c.stale = expected
        .keys()
        .filter(|id| !catalog_ids.contains(*id))
        .cloned()
        .collect();
    c
}

/// A baseline document recording `runs` (agent, results): verdicts only,
/// nothing that changes from run to run; reasons kept from `previous`.
pub fn render(runs: &[(&str, &[CaseResult])], previous: Option<&Baseline>) -> Value {
    let mut agents = Map::new();
    for (agent, results) in runs {
        let old = previous.and_then(|b| b.for_agent(agent, "").ok());
        let mut cases = Map::new();
        for r in results.iter() {
            let got = actual(r);
            let reason = old
                .and_then(|o| o.get(&r.case.id))
                .filter(|e| e.behavior == got.behavior && e.behavior_close == got.behavior_close)
                .and_then(|e| e.reason.clone());
            let mut v = json!({"behavior": got.behavior, "behaviorClose": got.behavior_close});
            if let Some(reason) = reason {
                v["reason"] = json!(reason);
            }
            cases.insert(r.case.id.clone(), v);
        }
        agents.insert(agent.to_string(), Value::Object(cases));
    }
    json!({"wsconform_baseline": FORMAT_VERSION, "agents": agents})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_all_three_shapes() {
        let ours = json!({"wsconform_baseline": 1, "agents": {"a": {"1.1.1": {"behavior": "OK", "behaviorClose": "OK", "reason": "x"}}}});
        let b = Baseline::from_json(&ours).expect("ours");
        assert_eq!(
            b.for_agent("a", "f").expect("a")["1.1.1"].reason.as_deref(),
            Some("x")
        );
        let index = json!({"Tungstenite": {"1.1.1": {"behavior": "OK", "behaviorClose": "OK", "duration": 2, "remoteCloseCode": 1000, "reportfile": "t.json"}}});
        let b = Baseline::from_json(&index).expect("index");
        // A single agent's file applies whatever our agent is called.
        assert!(b.for_agent("other-name", "f").is_ok());
        let flat = json!({"2.1": {"behavior": "OK", "behaviorClose": "OK", "remoteCloseCode": 1000}});
        assert!(Baseline::from_json(&flat)
            .expect("flat")
            .for_agent("x", "f")
            .is_ok());
        assert!(Baseline::from_json(&json!({"a": 1})).is_err());
        assert!(Baseline::from_json(&json!({"wsconform_baseline": 2, "agents": {}})).is_err());
        let two = json!({"a": {}, "b": {}});
        assert!(matches!(
            Baseline::from_json(&two).expect("two agents").for_agent("c", "f"),
            Err(BaselineError::NoAgent { .. })
        ));
    }
}
