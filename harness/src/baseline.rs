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

use crate::gate::{behavior_close_named, behavior_named, Gate, UnknownVerdict};
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
    pub shape: Shape,
}

/// Who wrote a baseline, which decides what its silence about a case means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shape {
    /// wsconform's own file: a case it does not list is a change.
    #[default]
    Wsconform,
    /// An Autobahn `index.json` (or tungstenite's `expected-results.json`,
    /// or a flat map like it): it cannot list wsconform's own families
    /// (`hs.*`, `mask.*`), so those are judged by the gate instead, as in a
    /// run without a baseline; an Autobahn case it does not list is a change.
    Autobahn,
}

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("cannot read baseline {0}: {1}")]
    Read(String, std::io::Error),
    #[error("baseline {0} is not JSON: {1}")]
    Json(String, serde_json::Error),
    #[error("baseline {0}: {1}")]
    Shape(String, ShapeError),
    #[error("baseline {path} has no entries for agent {agent:?} (it has {have})")]
    NoAgent {
        path: String,
        agent: String,
        have: String,
    },
}

/// What is wrong inside a baseline that is valid JSON. Every entry is
/// checked when the file is read, before the run: a typo in a checked-in
/// baseline must stop CI at once, not after a whole run, and never pass as
/// a "changed" verdict nobody can reproduce.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    #[error("not a JSON object")]
    NotObject,
    #[error("unsupported wsconform_baseline version {0}")]
    Version(String),
    #[error("no \"agents\" object")]
    NoAgents,
    #[error("agent {0:?}: not an object of case entries")]
    AgentNotObject(String),
    #[error("neither a wsconform baseline, nor an Autobahn index.json, nor a flat map of case verdicts")]
    Unrecognized,
    #[error("{at}: {key:?} must be a string")]
    NotString { at: String, key: &'static str },
    #[error("{at}: {key:?}: {why}")]
    UnknownVerdict {
        at: String,
        key: &'static str,
        why: UnknownVerdict,
    },
}

/// Where an entry is, for messages: `case 1.1.1` or `agent "a", case 1.1.1`.
fn place(agent: Option<&str>, id: &str) -> String {
    match agent {
        Some(agent) => format!("agent {agent:?}, case {id}"),
        None => format!("case {id}"),
    }
}

fn entry(v: &Value, at: impl Fn() -> String) -> Result<Entry, ShapeError> {
    let string = |key: &'static str| match v.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        _ => Err(ShapeError::NotString { at: at(), key }),
    };
    let (behavior, behavior_close) = (string("behavior")?, string("behaviorClose")?);
    let unknown = |key, why| ShapeError::UnknownVerdict { at: at(), key, why };
    behavior_named(&behavior).map_err(|why| unknown("behavior", why))?;
    behavior_close_named(&behavior_close).map_err(|why| unknown("behaviorClose", why))?;
    let reason = match v.get("reason") {
        None | Some(Value::Null) => None,
        Some(Value::String(r)) => Some(r.clone()),
        Some(_) => {
            return Err(ShapeError::NotString {
                at: at(),
                key: "reason",
            })
        }
    };
    Ok(Entry {
        behavior,
        behavior_close,
        reason,
    })
}

fn entries(agent: Option<&str>, map: &Map<String, Value>) -> Result<BTreeMap<String, Entry>, ShapeError> {
    map.iter()
        .map(|(id, v)| Ok((id.clone(), entry(v, || place(agent, id))?)))
        .collect()
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

    pub fn from_json(doc: &Value) -> Result<Baseline, ShapeError> {
        let top = doc.as_object().ok_or(ShapeError::NotObject)?;
        let mut agents = BTreeMap::new();
        let shape = match top.contains_key("wsconform_baseline") {
            true => Shape::Wsconform,
            false => Shape::Autobahn,
        };
        if let Some(version) = top.get("wsconform_baseline") {
            if version.as_u64() != Some(FORMAT_VERSION) {
                return Err(ShapeError::Version(version.to_string()));
            }
            let by_agent = top
                .get("agents")
                .and_then(Value::as_object)
                .ok_or(ShapeError::NoAgents)?;
            for (agent, cases) in by_agent {
                let cases = cases
                    .as_object()
                    .ok_or_else(|| ShapeError::AgentNotObject(agent.clone()))?;
                agents.insert(Some(agent.clone()), entries(Some(agent), cases)?);
            }
        } else if top.values().all(is_entry) {
            agents.insert(None, entries(None, top)?);
        } else {
            for (agent, cases) in top {
                let cases = cases
                    .as_object()
                    .filter(|c| c.values().all(is_entry))
                    .ok_or(ShapeError::Unrecognized)?;
                agents.insert(Some(agent.clone()), entries(Some(agent), cases)?);
            }
        }
        Ok(Baseline { agents, shape })
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
    /// wsconform's own cases, which an Autobahn baseline cannot list, that
    /// fail the gate: (id, actual).
    pub failed: Vec<(String, Entry)>,
    /// Baseline entries that match no case of the catalog.
    pub stale: Vec<String>,
}

impl Comparison {
    pub fn is_clean(&self) -> bool {
        self.changed.is_empty() && self.unlisted.is_empty() && self.stale.is_empty() && self.failed.is_empty()
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
        for (id, got) in &self.failed {
            out.push(format!(
                "failed {id}: {}/{} (a wsconform case, which an Autobahn baseline cannot list, judged by the gate)",
                got.behavior, got.behavior_close
            ));
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

/// Compares `results` with `expected`, entries of a baseline of `shape`;
/// `catalog_ids` are every id that exists, to tell stale entries from cases
/// merely not selected this run; `gate` judges the cases the baseline's
/// shape cannot list.
pub fn compare(
    expected: &BTreeMap<String, Entry>,
    shape: Shape,
    results: &[CaseResult],
    catalog_ids: &BTreeSet<String>,
    gate: &Gate,
) -> Comparison {
    let mut c = Comparison::default();
    for r in results {
        let got = actual(r);
        match expected.get(&r.case.id) {
            None if shape == Shape::Autobahn && !r.case.is_autobahn() => {
                if !gate.passes(&r.verdict) {
                    c.failed.push((r.case.id.clone(), got));
                }
            }
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

    /// An Autobahn baseline cannot list wsconform's own cases: those are
    /// judged by the gate; wsconform's own baseline must list them.
    #[test]
    fn own_cases_against_an_autobahn_baseline_are_judged_by_the_gate() {
        use wsconform_cases::{Behavior, BehaviorClose};
        let case = |id: &str| {
            wsconform_cases::catalog()
                .into_iter()
                .find(|c| c.id == id)
                .expect("in the catalog")
        };
        let result = |id: &str, behavior, behavior_close| CaseResult {
            case: case(id),
            outcome: crate::record::Outcome::new(std::time::SystemTime::now()),
            verdict: crate::verdict::Verdict {
                behavior,
                behavior_close,
                result: String::new(),
                result_close: String::new(),
            },
        };
        let ok = |id| result(id, Behavior::Ok, BehaviorClose::Ok);
        let failed = |id| result(id, Behavior::Failed, BehaviorClose::Ok);
        let index = json!({"T": {"1.1.1": {"behavior": "OK", "behaviorClose": "OK"}}});
        let autobahn = Baseline::from_json(&index).expect("index");
        assert_eq!(autobahn.shape, Shape::Autobahn);
        let entries = autobahn.for_agent("T", "f").expect("T");
        let ids: BTreeSet<String> = wsconform_cases::catalog().into_iter().map(|c| c.id).collect();
        let gate = Gate::default();
        let own = "hs.client.fresh-key";
        let run = [ok("1.1.1"), ok(own)];
        assert!(compare(entries, autobahn.shape, &run, &ids, &gate).is_clean());
        let run = [ok("1.1.1"), failed(own)];
        let c = compare(entries, autobahn.shape, &run, &ids, &gate);
        assert_eq!(c.failed.len(), 1, "{c:?}");
        assert!(
            c.lines()[0].starts_with("failed hs.client.fresh-key: FAILED/OK"),
            "{:?}",
            c.lines()
        );
        // An Autobahn case it does not list is still a change.
        let run = [ok("1.1.1"), ok("1.1.2")];
        assert_eq!(
            compare(entries, autobahn.shape, &run, &ids, &gate).unlisted,
            ["1.1.2"]
        );
        // wsconform's own baseline must list its own cases.
        let ours = json!({"wsconform_baseline": 1, "agents": {"T": {"1.1.1": {"behavior": "OK", "behaviorClose": "OK"}}}});
        let ours = Baseline::from_json(&ours).expect("ours");
        let entries = ours.for_agent("T", "f").expect("T");
        let run = [ok("1.1.1"), ok(own)];
        assert_eq!(compare(entries, ours.shape, &run, &ids, &gate).unlisted, [own]);
    }

    #[test]
    fn verdict_names_are_checked() {
        let bogus = json!({"wsconform_baseline": 1, "agents": {"a": {"1.1.1": {"behavior": "BOGUS", "behaviorClose": "OK"}}}});
        let why = Baseline::from_json(&bogus).expect_err("BOGUS").to_string();
        assert!(
            why.starts_with(
                "agent \"a\", case 1.1.1: \"behavior\": unknown variant `BOGUS`, expected one of"
            ),
            "{why}"
        );
        let flat = json!({"2.1": {"behavior": "OK", "behaviorClose": "NON-STRICT"}});
        let why = Baseline::from_json(&flat)
            .expect_err("not a close verdict")
            .to_string();
        assert!(
            why.starts_with("case 2.1: \"behaviorClose\": unknown variant `NON-STRICT`"),
            "{why}"
        );
        let lower = json!({"T": {"2.1": {"behavior": "ok", "behaviorClose": "OK"}}});
        assert!(
            Baseline::from_json(&lower).is_err(),
            "names are exact, as Autobahn writes them"
        );
        let number = json!({"2.1": {"behavior": 1, "behaviorClose": "OK"}});
        assert_eq!(
            Baseline::from_json(&number).expect_err("a number").to_string(),
            "case 2.1: \"behavior\" must be a string"
        );
        let reason = json!({"2.1": {"behavior": "OK", "behaviorClose": "OK", "reason": 5}});
        assert!(Baseline::from_json(&reason).is_err());
        // Every verdict the harness writes reads back.
        let all = json!({"2.1": {"behavior": "UNIMPLEMENTED", "behaviorClose": "FAILED BY CLIENT"}});
        assert!(Baseline::from_json(&all).is_ok());
    }
}
