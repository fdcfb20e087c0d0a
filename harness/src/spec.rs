//! Autobahn spec files (`fuzzingclient.json`, `fuzzingserver.json`, reference
//! §5) read as input, so an existing CI configuration switches to wsconform
//! by changing one line. Keys and options without a meaning for wsconform
//! produce warnings, never silent differences.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

/// A server to test, from `servers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecServer {
    pub url: String,
    pub agent: Option<String>,
}

/// The protocol timeouts a spec's `options` may change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpecTimeouts {
    pub open_handshake: Option<Duration>,
    pub close_handshake: Option<Duration>,
    pub server_connection_drop: Option<Duration>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Spec {
    pub servers: Vec<SpecServer>,
    /// fuzzingserver: the URL to listen on.
    pub url: Option<String>,
    /// fuzzingserver with a `wss://` url: the certificate and key files
    /// (PEM), as Autobahn's `cert` and `key`.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub cases: Vec<String>,
    pub exclude_cases: Vec<String>,
    /// (agent pattern, case patterns), both anchored at both ends, `*` a wildcard.
    pub exclude_agent_cases: Vec<(String, Vec<String>)>,
    pub outdir: Option<PathBuf>,
    pub timeouts: SpecTimeouts,
    /// What the spec says that wsconform does not act on.
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read spec {0}: {1}")]
    Read(String, std::io::Error),
    #[error("spec {0} is not JSON: {1}")]
    Json(String, serde_json::Error),
    #[error("spec {0}: {1}")]
    Shape(String, String),
}

fn strings(v: &Value, key: &str) -> Result<Vec<String>, String> {
    match v.get(key) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("{key:?} must list strings"))
            })
            .collect(),
        Some(_) => Err(format!("{key:?} must be a list")),
    }
}

fn seconds(v: &Value, key: &str) -> Result<Option<Duration>, String> {
    match v.get(key) {
        None => Ok(None),
        Some(x) => match x.as_f64() {
            Some(s) if s >= 0.0 && s.is_finite() => Ok(Some(Duration::from_secs_f64(s))),
            _ => Err(format!("option {key:?} must be a number of seconds")),
        },
    }
}

impl Spec {
    pub fn load(path: &Path) -> Result<Spec, SpecError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| SpecError::Read(name.clone(), e))?;
        let doc: Value = serde_json::from_str(&text).map_err(|e| SpecError::Json(name.clone(), e))?;
        Spec::from_json(&doc).map_err(|why| SpecError::Shape(name, why))
    }

    pub fn from_json(doc: &Value) -> Result<Spec, String> {
        let top = doc.as_object().ok_or("not a JSON object")?;
        let mut spec = Spec {
            cases: strings(doc, "cases")?,
            exclude_cases: strings(doc, "exclude-cases")?,
            url: doc.get("url").and_then(Value::as_str).map(str::to_string),
            outdir: doc.get("outdir").and_then(Value::as_str).map(PathBuf::from),
            cert: doc.get("cert").and_then(Value::as_str).map(PathBuf::from),
            key: doc.get("key").and_then(Value::as_str).map(PathBuf::from),
            ..Spec::default()
        };
        if let Some(servers) = doc.get("servers") {
            for s in servers.as_array().ok_or("\"servers\" must be a list")? {
                let url = s
                    .get("url")
                    .and_then(Value::as_str)
                    .ok_or("a server has no \"url\"")?;
                spec.servers.push(SpecServer {
                    url: url.to_string(),
                    agent: s.get("agent").and_then(Value::as_str).map(str::to_string),
                });
                for key in s.as_object().into_iter().flat_map(|o| o.keys()) {
                    if !matches!(key.as_str(), "url" | "agent") {
                        spec.warnings.push(format!("servers[].{key} is ignored"));
                    }
                }
            }
        }
        if let Some(map) = doc.get("exclude-agent-cases") {
            for (agent, cases) in map
                .as_object()
                .ok_or("\"exclude-agent-cases\" must be an object")?
            {
                let cases = strings(&serde_json::json!({ "c": cases }), "c")?;
                spec.exclude_agent_cases.push((agent.clone(), cases));
            }
        }
        if let Some(options) = doc.get("options") {
            let o = options.as_object().ok_or("\"options\" must be an object")?;
            spec.timeouts = SpecTimeouts {
                open_handshake: seconds(options, "openHandshakeTimeout")?,
                close_handshake: seconds(options, "closeHandshakeTimeout")?,
                server_connection_drop: seconds(options, "serverConnectionDropTimeout")?,
            };
            for key in o.keys() {
                if !matches!(
                    key.as_str(),
                    "openHandshakeTimeout" | "closeHandshakeTimeout" | "serverConnectionDropTimeout"
                ) {
                    spec.warnings.push(format!("option {key:?} is ignored"));
                }
            }
        }
        for key in top.keys() {
            if !matches!(
                key.as_str(),
                "servers"
                    | "url"
                    | "cert"
                    | "key"
                    | "cases"
                    | "exclude-cases"
                    | "exclude-agent-cases"
                    | "outdir"
                    | "options"
            ) {
                spec.warnings.push(format!("key {key:?} is ignored"));
            }
        }
        Ok(spec)
    }

    /// Case patterns to exclude for `agent` (Autobahn anchors both the
    /// agent and the case patterns at both ends).
    pub fn excluded_for(&self, agent: &str) -> Vec<String> {
        self.exclude_agent_cases
            .iter()
            .filter(|(pattern, _)| anchored_match(pattern, agent))
            .flat_map(|(_, cases)| cases.iter().cloned())
            .collect()
    }
}

/// `*` matches any text; everything else literally; both ends anchored.
pub fn anchored_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        return false;
    };
    if parts.len() == 1 {
        return pattern == text;
    }
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_autobahns_example() {
        let doc = serde_json::json!({
            "outdir": "./reports",
            "servers": [{"agent": "py-websockets", "url": "ws://127.0.0.1:19101"}],
            "cases": ["*"],
            "exclude-cases": ["12.*", "13.*"],
            "exclude-agent-cases": {"py-*": ["9.3.1"]},
            "options": {"closeHandshakeTimeout": 2, "failByDrop": false}
        });
        let spec = Spec::from_json(&doc).expect("parses");
        assert_eq!(spec.servers[0].agent.as_deref(), Some("py-websockets"));
        assert_eq!(spec.exclude_cases, ["12.*", "13.*"]);
        assert_eq!(spec.excluded_for("py-websockets"), ["9.3.1"]);
        assert!(spec.excluded_for("node-ws").is_empty());
        assert_eq!(spec.timeouts.close_handshake, Some(Duration::from_secs(2)));
        assert_eq!(spec.warnings, ["option \"failByDrop\" is ignored"]);
        assert!(Spec::from_json(&serde_json::json!({"servers": [{}]})).is_err());
        let tls = Spec::from_json(
            &serde_json::json!({"url": "wss://127.0.0.1:9001", "cert": "c.pem", "key": "k.pem"}),
        )
        .expect("parses");
        assert_eq!((tls.cert, tls.key), (Some("c.pem".into()), Some("k.pem".into())));
        assert!(tls.warnings.is_empty());
    }

    #[test]
    fn anchored_patterns() {
        assert!(anchored_match("py-*", "py-websockets"));
        assert!(!anchored_match("py", "py-websockets"));
        assert!(anchored_match("*ws", "node-ws"));
        assert!(!anchored_match("*ws", "node-ws2"));
        assert!(anchored_match("a*b*c", "aXbYc"));
        assert!(!anchored_match("ab*ba", "aba"));
    }
}
