//! Autobahn spec files (`fuzzingclient.json`, `fuzzingserver.json`, reference
//! §5) read as input, so an existing CI configuration switches to wsconform
//! by changing one line. Keys and options without a meaning for wsconform
//! produce warnings, never silent differences; keys with a meaning are
//! type- and range-checked here, before anything runs, so a typo in a CI
//! configuration is one line on stderr and never a panic in the middle of
//! a run.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

/// A server to test, from `servers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecServer {
    pub url: String,
    pub agent: Option<String>,
}

/// One of Autobahn's protocol timers as a spec sets it: `None` when the
/// spec leaves it alone (the harness's default applies), `Some(None)` when
/// the spec disables it with `0` (Autobahn's `protocol.py` arms a timer only
/// when it is `> 0`), `Some(Some(d))` for a duration.
pub type SpecTimer = Option<Option<Duration>>;

/// The protocol timeouts a spec's `options` may change.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpecTimeouts {
    pub open_handshake: SpecTimer,
    pub close_handshake: SpecTimer,
    pub server_connection_drop: SpecTimer,
}

/// Shortest protocol timer a spec may set (other than 0, which disables
/// it): below a millisecond the timer would fire before any peer could
/// answer, which is a typo, not a configuration.
pub const MIN_TIMEOUT: Duration = Duration::from_millis(1);

/// Longest protocol timer a spec may set. Autobahn's defaults are 1–5 s and
/// an hour is far beyond any real peer; the bound keeps every deadline
/// computed from these timers (scaled by `--timeout-scale`, summed over a
/// whole run) far from `Duration`'s limits, so no arithmetic on them can
/// overflow.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

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
    Shape(String, ShapeError),
}

/// What is wrong inside a spec that is valid JSON. `key` is where, written
/// as a path into the document (`options.openHandshakeTimeout`,
/// `exclude-agent-cases["py-*"]`, `servers[1].url`), so the message points
/// at the line to fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ShapeError {
    #[error("the spec is not a JSON object")]
    NotObject,
    #[error("{key} must be {want}, got {got}")]
    Type {
        key: String,
        want: &'static str,
        got: Shown,
    },
    #[error("{key} is missing")]
    Missing { key: String },
    #[error(
        "{key} must be 0 (disabled) or from {min} to {max} seconds, got {got} seconds",
        min = MIN_TIMEOUT.as_secs_f64(),
        max = MAX_TIMEOUT.as_secs_f64()
    )]
    Timeout { key: String, got: Shown },
}

/// A JSON value as an error message shows it: its JSON text, cut short so
/// one bad value cannot turn a one-line error into a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown(String);

impl Shown {
    const MAX_CHARS: usize = 40;

    fn of(v: &Value) -> Shown {
        let text = v.to_string();
        Shown(match text.char_indices().nth(Self::MAX_CHARS) {
            Some((cut, _)) => format!("{}…", &text[..cut]),
            None => text,
        })
    }
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn wrong_type(key: impl Into<String>, want: &'static str, got: &Value) -> ShapeError {
    ShapeError::Type {
        key: key.into(),
        want,
        got: Shown::of(got),
    }
}

/// A list of strings at `key` (where `v` is that value), e.g. case patterns.
fn string_list(key: &str, v: &Value) -> Result<Vec<String>, ShapeError> {
    let want = "a list of strings";
    let items = v.as_array().ok_or_else(|| wrong_type(key, want, v))?;
    items
        .iter()
        .map(|i| {
            i.as_str()
                .map(str::to_string)
                .ok_or_else(|| wrong_type(key, want, v))
        })
        .collect()
}

/// An optional string at `key` of `obj`, shown in errors as `at`.
fn opt_string(obj: &Value, key: &str, at: &str) -> Result<Option<String>, ShapeError> {
    match obj.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(wrong_type(at, "a string", other)),
    }
}

/// A protocol timer in seconds, as Autobahn reads it (0 disables it).
fn timer(options: &Value, key: &str) -> Result<SpecTimer, ShapeError> {
    let at = format!("options.{key}");
    let Some(v) = options.get(key) else {
        return Ok(None);
    };
    let secs = v
        .as_f64()
        .ok_or_else(|| wrong_type(at.clone(), "a number of seconds", v))?;
    if secs == 0.0 {
        return Ok(Some(None));
    }
    let in_range = (MIN_TIMEOUT.as_secs_f64()..=MAX_TIMEOUT.as_secs_f64()).contains(&secs);
    // In range, so finite and far from Duration's limits: this cannot panic.
    match in_range.then(|| Duration::try_from_secs_f64(secs).ok()).flatten() {
        Some(d) => Ok(Some(Some(d))),
        None => Err(ShapeError::Timeout {
            key: at,
            got: Shown::of(v),
        }),
    }
}

/// The option keys wsconform acts on.
const TIMER_KEYS: [&str; 3] = [
    "openHandshakeTimeout",
    "closeHandshakeTimeout",
    "serverConnectionDropTimeout",
];

impl Spec {
    pub fn load(path: &Path) -> Result<Spec, SpecError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| SpecError::Read(name.clone(), e))?;
        let doc: Value = serde_json::from_str(&text).map_err(|e| SpecError::Json(name.clone(), e))?;
        Spec::from_json(&doc).map_err(|why| SpecError::Shape(name, why))
    }

    pub fn from_json(doc: &Value) -> Result<Spec, ShapeError> {
        let top = doc.as_object().ok_or(ShapeError::NotObject)?;
        let list = |key: &str| top.get(key).map_or(Ok(Vec::new()), |v| string_list(key, v));
        let mut spec = Spec {
            cases: list("cases")?,
            exclude_cases: list("exclude-cases")?,
            url: opt_string(doc, "url", "url")?,
            outdir: opt_string(doc, "outdir", "outdir")?.map(PathBuf::from),
            cert: opt_string(doc, "cert", "cert")?.map(PathBuf::from),
            key: opt_string(doc, "key", "key")?.map(PathBuf::from),
            ..Spec::default()
        };
        if let Some(servers) = doc.get("servers") {
            let servers = servers
                .as_array()
                .ok_or_else(|| wrong_type("servers", "a list of objects", servers))?;
            for (n, s) in servers.iter().enumerate() {
                let at = |key: &str| format!("servers[{n}].{key}");
                let fields = s
                    .as_object()
                    .ok_or_else(|| wrong_type(format!("servers[{n}]"), "an object", s))?;
                let url = opt_string(s, "url", &at("url"))?
                    .ok_or_else(|| ShapeError::Missing { key: at("url") })?;
                spec.servers.push(SpecServer {
                    url,
                    agent: opt_string(s, "agent", &at("agent"))?,
                });
                for key in fields.keys() {
                    if !matches!(key.as_str(), "url" | "agent") {
                        spec.warnings.push(format!("servers[].{key} is ignored"));
                    }
                }
            }
        }
        if let Some(map) = doc.get("exclude-agent-cases") {
            let map = map
                .as_object()
                .ok_or_else(|| wrong_type("exclude-agent-cases", "an object of agent patterns", map))?;
            for (agent, cases) in map {
                let at = format!("exclude-agent-cases[{}]", Value::from(agent.as_str()));
                spec.exclude_agent_cases
                    .push((agent.clone(), string_list(&at, cases)?));
            }
        }
        if let Some(options) = doc.get("options") {
            let o = options
                .as_object()
                .ok_or_else(|| wrong_type("options", "an object", options))?;
            spec.timeouts = SpecTimeouts {
                open_handshake: timer(options, TIMER_KEYS[0])?,
                close_handshake: timer(options, TIMER_KEYS[1])?,
                server_connection_drop: timer(options, TIMER_KEYS[2])?,
            };
            for key in o.keys() {
                if !TIMER_KEYS.contains(&key.as_str()) {
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
        assert_eq!(spec.timeouts.close_handshake, Some(Some(Duration::from_secs(2))));
        assert_eq!(spec.timeouts.open_handshake, None, "not in the spec");
        assert_eq!(spec.warnings, ["option \"failByDrop\" is ignored"]);
        assert!(Spec::from_json(&serde_json::json!({"servers": [{}]})).is_err());
        let tls = Spec::from_json(
            &serde_json::json!({"url": "wss://127.0.0.1:9001", "cert": "c.pem", "key": "k.pem"}),
        )
        .expect("parses");
        assert_eq!((tls.cert, tls.key), (Some("c.pem".into()), Some("k.pem".into())));
        assert!(tls.warnings.is_empty());
    }

    fn shape_error(doc: Value) -> String {
        match Spec::from_json(&doc) {
            Ok(spec) => panic!("accepted {doc}: {spec:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn timers_are_range_checked_and_zero_disables() {
        let opts = |v: Value| serde_json::json!({"options": {"openHandshakeTimeout": v}});
        let spec = Spec::from_json(&opts(serde_json::json!(0))).expect("0 disables");
        assert_eq!(spec.timeouts.open_handshake, Some(None));
        let spec = Spec::from_json(&opts(serde_json::json!(0.5))).expect("half a second");
        assert_eq!(
            spec.timeouts.open_handshake,
            Some(Some(Duration::from_millis(500)))
        );
        let spec = Spec::from_json(&opts(serde_json::json!(3600))).expect("the upper bound");
        assert_eq!(spec.timeouts.open_handshake, Some(Some(MAX_TIMEOUT)));
        for bad in [
            serde_json::json!(-1),
            serde_json::json!(1e300),
            serde_json::json!(3600.5),
            serde_json::json!(u64::MAX),
            serde_json::json!(1e-9),
        ] {
            let why = shape_error(opts(bad.clone()));
            assert_eq!(
                why,
                format!("options.openHandshakeTimeout must be 0 (disabled) or from 0.001 to 3600 seconds, got {bad} seconds")
            );
        }
        assert_eq!(
            shape_error(serde_json::json!({"options": {"closeHandshakeTimeout": "5"}})),
            "options.closeHandshakeTimeout must be a number of seconds, got \"5\""
        );
    }

    #[test]
    fn shape_errors_name_the_key() {
        assert_eq!(
            shape_error(serde_json::json!({"exclude-agent-cases": {"*": 5}})),
            "exclude-agent-cases[\"*\"] must be a list of strings, got 5"
        );
        assert_eq!(
            shape_error(serde_json::json!({"cases": ["1.*", 2]})),
            "cases must be a list of strings, got [\"1.*\",2]"
        );
        assert_eq!(
            shape_error(serde_json::json!({"servers": [{"url": "ws://h"}, {"agent": "a"}]})),
            "servers[1].url is missing"
        );
        assert_eq!(
            shape_error(serde_json::json!({"servers": [{"url": "ws://h", "agent": 7}]})),
            "servers[0].agent must be a string, got 7"
        );
        assert_eq!(
            shape_error(serde_json::json!({"url": 9001})),
            "url must be a string, got 9001"
        );
        assert_eq!(
            shape_error(serde_json::json!([])),
            "the spec is not a JSON object"
        );
        let long = shape_error(serde_json::json!({"outdir": ["x".repeat(500)]}));
        assert!(long.len() < 100, "values are cut short: {long}");
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
