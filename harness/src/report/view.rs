//! A tolerant reading of a `results.json` document (docs/results-json.md),
//! shared by the HTML, JUnit and Markdown renderers.
//!
//! The renderers work from the JSON value rather than from `CaseResult`s so
//! that `wsconform report render results.json` can re-render any saved run,
//! including one written by another wsconform version or edited by hand. So
//! every accessor here answers [`UNKNOWN`] (or `None`) for a missing or
//! mistyped field instead of panicking, and the texts it builds are plain
//! text: each renderer escapes them for its own format.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::Value;

use crate::gate::Gate;

/// What a report shows for a field the document does not have.
pub const UNKNOWN: &str = "?";

/// Autobahn's order of the `behavior` verdicts, best first, so count tables
/// read the same in every report.
const BEHAVIORS: [&str; 5] = ["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED"];
/// Autobahn's order of the `behaviorClose` verdicts.
const BEHAVIOR_CLOSES: [&str; 6] = [
    "OK",
    "INFORMATIONAL",
    "FAILED",
    "UNCLEAN",
    "WRONG CODE",
    "FAILED BY CLIENT",
];

/// The value at `path` below `v`, if every step exists.
pub fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, key| v.get(key))
}

/// The string at `path`, or [`UNKNOWN`].
pub fn text<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    at(v, path).and_then(Value::as_str).unwrap_or(UNKNOWN)
}

/// A scalar at `path` as display text (`true`, `1000`, `null` → "none"), or
/// [`UNKNOWN`] when absent or not a scalar.
pub fn scalar(v: &Value, path: &[&str]) -> String {
    match at(v, path) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Null) => "none".into(),
        _ => UNKNOWN.into(),
    }
}

/// `s` cut to at most `max` characters, with `…` when cut.
pub fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &s[..end]),
        None => s.to_string(),
    }
}

/// The bytes of a byte field in any of the shapes results.json uses: a plain
/// string (catalog patterns), `{"text"}`, `{"base64"}` or `{"hex"}`.
pub fn bytes_of(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.clone().into_bytes()),
        Value::Object(m) => {
            if let Some(t) = m.get("text").and_then(Value::as_str) {
                Some(t.as_bytes().to_vec())
            } else if let Some(b) = m.get("base64").and_then(Value::as_str) {
                base64::engine::general_purpose::STANDARD.decode(b).ok()
            } else {
                m.get("hex")
                    .and_then(Value::as_str)
                    .and_then(|h| hex::decode(h).ok())
            }
        }
        _ => None,
    }
}

/// Bytes for display on one line: quoted (control characters escaped) when
/// UTF-8, else `0x` and hex; at most `max` characters of either.
pub fn show_bytes(bytes: &[u8], max: usize) -> String {
    show_bytes_cut(bytes, max).0
}

/// [`show_bytes`], and whether it had to cut.
fn show_bytes_cut(bytes: &[u8], max: usize) -> (String, bool) {
    let (shown, cut) = match std::str::from_utf8(bytes) {
        Ok(t) => {
            let shown = truncate(t, max);
            let cut = shown.len() != t.len();
            (format!("{shown:?}"), cut)
        }
        Err(_) => {
            let hex = hex::encode(bytes);
            let shown = truncate(&hex, max);
            let cut = shown.len() != hex.len();
            (format!("0x{shown}"), cut)
        }
    };
    (shown, cut)
}

/// A payload for display: an observed one (`{len, sha1, head}`) or an
/// expected one (`{pattern, len}`, the pattern repeated to `len` bytes).
pub fn payload_line(p: &Value, max: usize) -> String {
    let len = p.get("len").and_then(Value::as_u64);
    if let Some(pattern) = p.get("pattern").and_then(bytes_of) {
        let shown = show_bytes(&pattern, max);
        return match len {
            Some(len) if len != pattern.len() as u64 => format!("{shown} repeated to {len} bytes"),
            _ => shown,
        };
    }
    let Some(head) = p.get("head").and_then(bytes_of) else {
        return UNKNOWN.into();
    };
    let (shown, cut) = show_bytes_cut(&head, max);
    match len {
        Some(len) if cut || len > head.len() as u64 => format!("{shown} ({len} bytes)"),
        _ => shown,
    }
}

/// One expected or received event on one line: `text "Hello"`,
/// `binary 0x00ff`, `pong "ping me"`, `timeout A`.
pub fn event_line(e: &Value) -> String {
    const MAX: usize = 40;
    let payload = || e.get("payload").map_or(UNKNOWN.into(), |p| payload_line(p, MAX));
    match e.get("event").and_then(Value::as_str) {
        Some("message") => {
            let kind = match e.get("binary").and_then(Value::as_bool) {
                Some(true) => "binary",
                Some(false) => "text",
                None => "message",
            };
            format!("{kind} {}", payload())
        }
        Some("pong") => format!("pong {}", payload()),
        Some("timeout") => format!("timeout {}", text(e, &["tag"])),
        _ => UNKNOWN.into(),
    }
}

/// A list of events on one line, at most `max` of them spelled out.
pub fn events_line(events: &[String], max: usize) -> String {
    if events.is_empty() {
        return "nothing".into();
    }
    let mut shown = events.iter().take(max).cloned().collect::<Vec<_>>().join(", ");
    if events.len() > max {
        shown.push_str(&format!(", … ({} events)", events.len()));
    }
    shown
}

/// A close frame record (`{code, reason}`) for display.
fn close_frame_line(c: Option<&Value>) -> String {
    match c {
        None => UNKNOWN.into(),
        Some(Value::Null) => "no close frame".into(),
        Some(c) => {
            let code = scalar(c, &["code"]);
            let code = if code == "none" { "no code".into() } else { code };
            match c.get("reason").and_then(bytes_of) {
                Some(r) if !r.is_empty() => format!("{code}, reason {}", show_bytes(&r, 60)),
                _ => code,
            }
        }
    }
}

/// A close frame's payload (from the wire log) as code and reason.
fn close_payload_line(bytes: &[u8]) -> String {
    match bytes {
        [] => "no code".into(),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            if reason.is_empty() {
                format!("code {code}")
            } else {
                format!("code {code}, reason {}", show_bytes(reason, 60))
            }
        }
        _ => format!("malformed {}", show_bytes(bytes, 8)),
    }
}

/// A whole document.
#[derive(Debug, Clone, Copy)]
pub struct Doc<'a>(pub &'a Value);

impl<'a> Doc<'a> {
    /// `name version` of the wsconform that wrote it.
    pub fn tool(&self) -> String {
        format!(
            "{} {}",
            text(self.0, &["tool", "name"]),
            text(self.0, &["tool", "version"])
        )
    }

    pub fn runs(&self) -> impl Iterator<Item = Run<'a>> + 'a {
        list(self.0, "runs").iter().map(Run)
    }
}

/// The array at `key`, or an empty one when absent or not an array.
fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// One agent's run.
#[derive(Debug, Clone, Copy)]
pub struct Run<'a>(pub &'a Value);

impl<'a> Run<'a> {
    pub fn agent(&self) -> &'a str {
        text(self.0, &["agent"])
    }

    /// The role of the implementation under test.
    pub fn role(&self) -> &'a str {
        text(self.0, &["peer_role"])
    }

    pub fn target(&self) -> &'a str {
        text(self.0, &["target"])
    }

    pub fn started(&self) -> &'a str {
        text(self.0, &["started"])
    }

    pub fn complete(&self) -> Option<bool> {
        self.0.get("complete").and_then(Value::as_bool)
    }

    /// `yes`, `no` or `?`.
    pub fn complete_text(&self) -> &'static str {
        match self.complete() {
            Some(true) => "yes",
            Some(false) => "no",
            None => UNKNOWN,
        }
    }

    pub fn cases(&self) -> impl Iterator<Item = Case<'a>> + 'a {
        list(self.0, "cases").iter().map(Case)
    }

    /// Verdict counts over the cases listed (not the stored `summary`, so
    /// the counts always agree with the case list they sit above).
    pub fn counts(&self, gate: &Gate) -> Counts {
        let mut behavior = BTreeMap::<String, usize>::new();
        let mut behavior_close = BTreeMap::<String, usize>::new();
        let (mut total, mut failing) = (0, 0);
        for c in self.cases() {
            total += 1;
            failing += usize::from(!c.passes(gate));
            *behavior.entry(c.behavior().to_string()).or_default() += 1;
            *behavior_close.entry(c.behavior_close().to_string()).or_default() += 1;
        }
        Counts {
            total,
            failing,
            behavior: in_order(behavior, &BEHAVIORS),
            behavior_close: in_order(behavior_close, &BEHAVIOR_CLOSES),
        }
    }
}

/// Counts in Autobahn's verdict order, unknown verdicts last.
fn in_order(mut counts: BTreeMap<String, usize>, order: &[&str]) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = order.iter().filter_map(|v| counts.remove_entry(*v)).collect();
    out.extend(counts);
    out
}

/// Verdict counts of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub total: usize,
    /// Cases that fail the gate.
    pub failing: usize,
    pub behavior: Vec<(String, usize)>,
    pub behavior_close: Vec<(String, usize)>,
}

impl Counts {
    /// Every verdict name seen, each once, behavior order first: the rows of
    /// a count table with one column per verdict kind.
    pub fn verdict_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.behavior.iter().map(|(v, _)| v.as_str()).collect();
        for (v, _) in &self.behavior_close {
            if !names.contains(&v.as_str()) {
                names.push(v);
            }
        }
        names
    }

    pub fn behavior_count(&self, verdict: &str) -> usize {
        count_of(&self.behavior, verdict)
    }

    pub fn behavior_close_count(&self, verdict: &str) -> usize {
        count_of(&self.behavior_close, verdict)
    }
}

fn count_of(counts: &[(String, usize)], verdict: &str) -> usize {
    counts.iter().find(|(v, _)| v == verdict).map_or(0, |(_, n)| *n)
}

/// One case of a run.
#[derive(Debug, Clone, Copy)]
pub struct Case<'a>(pub &'a Value);

impl<'a> Case<'a> {
    pub fn id(&self) -> &'a str {
        text(self.0, &["id"])
    }

    /// The first component of the id: Autobahn's category (`7` for `7.1.6`).
    pub fn category(&self) -> &'a str {
        let id = self.id();
        id.split('.').next().unwrap_or(id)
    }

    /// The description as the catalog has it: Autobahn's, which may hold
    /// `<br>` and `<b>` (see [`sanitize_description`]).
    pub fn description(&self) -> &'a str {
        text(self.0, &["description"])
    }

    /// The description's first sentence or line, markup removed, at most 80
    /// characters: what fits in a test name or a table cell.
    pub fn short_description(&self) -> String {
        let plain = strip_tags(self.description());
        let first = plain
            .split('\n')
            .next()
            .unwrap_or_default()
            .split_inclusive(". ")
            .next()
            .unwrap_or_default();
        truncate(&collapse_spaces(first), 80)
    }

    pub fn expectation(&self) -> &'a str {
        text(self.0, &["expectation"])
    }

    pub fn rfc_section(&self) -> &'a str {
        text(self.0, &["rfc", "section"])
    }

    pub fn rfc_level(&self) -> &'a str {
        text(self.0, &["rfc", "level"])
    }

    /// `RFC 6455 §5.5.3 (MUST)`.
    pub fn rfc_line(&self) -> String {
        format!("{} ({})", self.rfc_section(), self.rfc_level())
    }

    pub fn notes(&self) -> Vec<&'a str> {
        list(self.0, "notes").iter().filter_map(Value::as_str).collect()
    }

    pub fn behavior(&self) -> &'a str {
        text(self.0, &["verdict", "behavior"])
    }

    pub fn behavior_close(&self) -> &'a str {
        text(self.0, &["verdict", "behavior_close"])
    }

    /// Autobahn's sentence explaining `behavior`.
    pub fn result(&self) -> &'a str {
        text(self.0, &["verdict", "result"])
    }

    /// Autobahn's sentence explaining `behaviorClose`.
    pub fn result_close(&self) -> &'a str {
        text(self.0, &["verdict", "result_close"])
    }

    pub fn passes(&self, gate: &Gate) -> bool {
        gate.passes_names(self.behavior(), self.behavior_close())
    }

    pub fn duration_ms(&self) -> Option<u64> {
        at(self.0, &["outcome", "duration_ms"]).and_then(Value::as_u64)
    }

    pub fn outcome(&self) -> Option<&'a Value> {
        self.0.get("outcome")
    }

    /// The traffic counter `key` of a permessage-deflate case (Autobahn's
    /// `trafficStats`), 0 when absent.
    fn traffic(&self, key: &str) -> u64 {
        at(self.0, &["outcome", "traffic", key])
            .and_then(Value::as_u64)
            .unwrap_or(0)
    }

    /// Compression ratios (bytes on the wire / bytes of the messages) of
    /// what the harness sent and what it received, as Autobahn's
    /// `outgoingCompressionRatio` / `incomingCompressionRatio`; `None` for a
    /// direction that carried no message bytes. Only when the case
    /// negotiated permessage-deflate.
    pub fn compression_ratios(&self) -> Option<(Option<f64>, Option<f64>)> {
        at(self.0, &["outcome", "deflate", "response"])?;
        let ratio = |wire: &str, app: &str| match self.traffic(app) {
            0 => None,
            app => Some(self.traffic(wire) as f64 / app as f64),
        };
        Some((
            ratio("outgoing_octets_websocket_level", "outgoing_octets_app_level"),
            ratio("incoming_octets_websocket_level", "incoming_octets_app_level"),
        ))
    }

    /// permessage-deflate as negotiated (the accepted extension element as
    /// the server sent it) and the compression ratios, in one line; `None`
    /// when the case did not negotiate it.
    pub fn deflate_summary(&self) -> Option<String> {
        let response = at(self.0, &["outcome", "deflate", "response"])?.as_str()?;
        let (out, inc) = self.compression_ratios()?;
        let ratio = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{r:.3}"));
        let breaks = at(self.0, &["outcome", "deflate", "response_breaks"])
            .and_then(Value::as_str)
            .map(|b| format!(" (accepted as Autobahn does, though {b})"))
            .unwrap_or_default();
        Some(format!(
            "{response}{breaks}; sent {} → {} bytes (ratio {}), received {} → {} bytes (ratio {})",
            self.traffic("outgoing_octets_app_level"),
            self.traffic("outgoing_octets_websocket_level"),
            ratio(out),
            self.traffic("incoming_octets_websocket_level"),
            self.traffic("incoming_octets_app_level"),
            ratio(inc),
        ))
    }

    pub fn setup_error(&self) -> Option<&'a str> {
        at(self.0, &["outcome", "setup_error"]).and_then(Value::as_str)
    }

    /// The peer's close code as text: a number, `none`, or `?`.
    pub fn remote_close_code(&self) -> String {
        match at(self.0, &["outcome", "remote_close"]) {
            Some(Value::Null) => "none".into(),
            Some(c) => scalar(c, &["code"]),
            None => UNKNOWN.into(),
        }
    }

    /// The expected event lists, verdict → one line per event, in the
    /// order of the verdicts (OK first).
    pub fn expected(&self) -> Vec<(String, Vec<String>)> {
        let Some(map) = self.0.get("expected").and_then(Value::as_object) else {
            return Vec::new();
        };
        let lists = map
            .iter()
            .map(|(verdict, events)| {
                let events = events.as_array().map_or(&[][..], Vec::as_slice);
                (verdict.clone(), events.iter().map(event_line).collect())
            })
            .collect();
        in_order_lists(lists)
    }

    pub fn received(&self) -> Vec<String> {
        at(self.0, &["outcome", "received"])
            .and_then(Value::as_array)
            .map_or(Vec::new(), |events| events.iter().map(event_line).collect())
    }

    /// The expected event lists on one line: `OK: pong "Hello"; NON-STRICT:
    /// nothing`, or a note for cases judged on their echoes (9.x).
    pub fn expected_line(&self, max_events: usize) -> String {
        let lists = self.expected();
        if lists.is_empty() {
            return "no event list (judged on its echoes)".into();
        }
        lists
            .iter()
            .map(|(verdict, events)| format!("{verdict}: {}", events_line(events, max_events)))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// What the case expects of the connection's end (`expected_close`).
    pub fn expected_close_line(&self) -> String {
        let ec = self.0.get("expected_close").unwrap_or(&Value::Null);
        let closer = match ec.get("closedByMe").and_then(Value::as_bool) {
            Some(true) => "the harness starts the closing handshake",
            Some(false) => "the peer fails the connection",
            None => "closer ?",
        };
        let codes = match ec.get("closeCode").and_then(Value::as_array) {
            Some(codes) => {
                let codes: Vec<String> = codes.iter().map(Value::to_string).collect();
                format!("peer's close code {} or none", codes.join(" or "))
            }
            None => "peer's close code ?".into(),
        };
        let clean = match ec.get("requireClean").and_then(Value::as_bool) {
            Some(true) => "clean close required",
            Some(false) => "unclean close allowed",
            None => "clean ?",
        };
        format!("{closer}; {codes}; {clean}")
    }

    /// What happened at the connection's end, on one line.
    pub fn actual_close_line(&self) -> String {
        let o = self.outcome().unwrap_or(&Value::Null);
        let closer = match o.get("closed_by_me").and_then(Value::as_bool) {
            Some(true) => "the harness started the closing handshake",
            Some(false) => "the peer closed or failed the connection",
            None => "closer ?",
        };
        let remote = close_frame_line(o.get("remote_close"));
        let clean = match o.get("was_clean").and_then(Value::as_bool) {
            Some(true) => "clean".to_string(),
            Some(false) => match o.get("was_not_clean_reason").and_then(Value::as_str) {
                Some(why) => format!("unclean: {why}"),
                None => "unclean".into(),
            },
            None => "clean ?".into(),
        };
        format!("{closer}; peer sent {remote}; {clean}")
    }

    /// Expected against actual on one line, for the parts of the verdict
    /// that are not OK: what a reader of a failure list needs first.
    pub fn mismatch_line(&self) -> String {
        const MAX_EVENTS: usize = 3;
        let mut parts = Vec::new();
        if let Some(why) = self.setup_error() {
            parts.push(format!("setup error: {why}"));
        }
        if self.behavior() != "OK" {
            parts.push(format!(
                "expected {} · received {}",
                self.expected_line(MAX_EVENTS),
                events_line(&self.received(), MAX_EVENTS)
            ));
        }
        if self.behavior_close() != "OK" {
            parts.push(format!(
                "close: expected {} · got {}",
                self.expected_close_line(),
                self.actual_close_line()
            ));
        }
        parts.join(" — ")
    }

    /// The close record as label → value pairs, for a detail view.
    pub fn close_record(&self) -> Vec<(&'static str, String)> {
        const FIELDS: [(&str, &str); 10] = [
            ("closed by harness", "closed_by_me"),
            ("failed by harness", "failed_by_me"),
            ("TCP dropped by harness", "dropped_by_me"),
            ("clean", "was_clean"),
            ("why not clean", "was_not_clean_reason"),
            ("opening handshake timeout", "was_open_handshake_timeout"),
            ("closing handshake timeout", "was_close_handshake_timeout"),
            ("server TCP drop timeout", "was_server_connection_drop_timeout"),
            ("harness deadline hit", "hit_deadline"),
            ("handshake completed", "handshake_completed"),
        ];
        let o = self.outcome().unwrap_or(&Value::Null);
        let mut out: Vec<(&'static str, String)> = FIELDS
            .iter()
            .map(|(label, key)| (*label, scalar(o, &[key])))
            .collect();
        out.push(("close sent", close_frame_line(o.get("local_close"))));
        out.push(("close received", close_frame_line(o.get("remote_close"))));
        out
    }
}

fn in_order_lists(mut lists: Vec<(String, Vec<String>)>) -> Vec<(String, Vec<String>)> {
    let rank = |v: &str| BEHAVIORS.iter().position(|b| *b == v).unwrap_or(BEHAVIORS.len());
    lists.sort_by_key(|(v, _)| rank(v));
    lists
}

/// Autobahn's description markup removed: `<br>` becomes a line break,
/// every other tag goes.
pub fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        match rest[start..].find('>') {
            Some(end) => {
                if rest[start..start + end].to_ascii_lowercase().starts_with("<br") {
                    out.push('\n');
                }
                rest = &rest[start + end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn collapse_spaces(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Escapes text for HTML content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Autobahn's descriptions are HTML on purpose (`<br>`, `<b>`): keep exactly
/// those tags, balanced, and escape everything else, so a description (from
/// a catalog or a tampered file) can format text but never inject markup.
pub fn sanitize_description(s: &str) -> String {
    const KEPT: [(&str, &str); 5] = [
        ("<br>", "<br>"),
        ("<br/>", "<br>"),
        ("<br />", "<br>"),
        ("<b>", "<b>"),
        ("</b>", "</b>"),
    ];
    let mut out = String::with_capacity(s.len());
    let mut bold = 0usize;
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        let tag = KEPT.iter().find(|(t, _)| {
            rest.get(..t.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(t))
        });
        match tag {
            Some((t, "<b>")) => {
                bold += 1;
                out.push_str("<b>");
                rest = &rest[t.len()..];
            }
            Some((t, "</b>")) => {
                if bold > 0 {
                    bold -= 1;
                    out.push_str("</b>");
                }
                rest = &rest[t.len()..];
            }
            Some((t, kept)) => {
                out.push_str(kept);
                rest = &rest[t.len()..];
            }
            None => {
                out.push_str(&escape_html(c.encode_utf8(&mut [0; 4])));
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out.push_str(&"</b>".repeat(bold));
    out
}

/// One wire log entry as display cells: time in ms, direction, kind,
/// opcode, fin, rsv, mask, length and a preview of the bytes.
pub fn wire_row(e: &Value) -> [String; 9] {
    const PREVIEW: usize = 80;
    let t_ms = e
        .get("t_us")
        .and_then(Value::as_u64)
        .map_or(UNKNOWN.into(), |t| format!("{}.{:03}", t / 1000, t % 1000));
    let kind = e.get("kind").and_then(Value::as_str).unwrap_or(UNKNOWN);
    let dir = match kind.split('_').next() {
        Some("tx") => "→ sent",
        Some("rx") => "← received",
        _ => "",
    };
    let tag = || {
        e.get("tag")
            .and_then(Value::as_str)
            .map_or(String::new(), |t| format!(" {t}"))
    };
    let no_frame = || [String::new(), String::new(), String::new(), String::new()];
    let (shown_kind, frame, size, preview) = match kind {
        "tx_octets" | "rx_octets" => {
            let preview = match e.get("head").and_then(bytes_of) {
                // The row shows at most 2 × PREVIEW characters: encode no
                // more than that of a head that may be 64 KiB.
                Some(head) => {
                    let shown = &head[..head.len().min(PREVIEW)];
                    let more = shown.len() < head.len()
                        || e.get("len").and_then(Value::as_u64) > Some(head.len() as u64);
                    format!("{}{}", hex::encode(shown), if more { " …" } else { "" })
                }
                None => UNKNOWN.into(),
            };
            ("octets".to_string(), no_frame(), scalar(e, &["len"]), preview)
        }
        "tx_frame" | "rx_frame" => {
            let opcode = e.get("opcode").and_then(Value::as_u64);
            let frame = [
                opcode.map_or(UNKNOWN.into(), |o| format!("{o} {}", opcode_name(o))),
                scalar(e, &["fin"]),
                scalar(e, &["rsv"]),
                scalar(e, &["mask"]),
            ];
            let payload = e.get("payload").unwrap_or(&Value::Null);
            let preview = match (opcode, payload.get("head").and_then(bytes_of)) {
                (Some(8), Some(head)) => close_payload_line(&head),
                _ => payload_line(payload, PREVIEW),
            };
            let mut shown_kind = "frame".to_string();
            if let Some(chop) = e.get("chop").and_then(Value::as_u64) {
                shown_kind.push_str(&format!(", chops of {chop}"));
            }
            if e.get("sync").and_then(Value::as_bool) == Some(true) {
                shown_kind.push_str(", sync");
            }
            (shown_kind, frame, scalar(e, &["payload", "len"]), preview)
        }
        "timer" => {
            let what = format!("{}{} after {} ms", text(e, &["timer"]), tag(), scalar(e, &["ms"]));
            ("timer".into(), no_frame(), String::new(), what)
        }
        "timer_fired" => {
            let what = format!("{}{}", text(e, &["timer"]), tag());
            ("timer fired".into(), no_frame(), String::new(), what)
        }
        "note" => (
            "note".into(),
            no_frame(),
            String::new(),
            text(e, &["text"]).into(),
        ),
        other => (other.to_string(), no_frame(), String::new(), String::new()),
    };
    let [op, fin, rsv, mask] = frame;
    [
        t_ms,
        dir.into(),
        shown_kind,
        op,
        fin,
        rsv,
        mask,
        size,
        truncate(&preview, PREVIEW * 2),
    ]
}

/// RFC 6455 §11.8 opcode names.
fn opcode_name(op: u64) -> &'static str {
    match op {
        0 => "continuation",
        1 => "text",
        2 => "binary",
        8 => "close",
        9 => "ping",
        10 => "pong",
        _ => "reserved",
    }
}

/// Autobahn|Testsuite's names of its case categories, and wsconform's
/// names of its own families.
pub fn category_name(category: &str) -> &'static str {
    match category {
        "1" => "Framing",
        "2" => "Pings/Pongs",
        "3" => "Reserved Bits",
        "4" => "Opcodes",
        "5" => "Fragmentation",
        "6" => "UTF-8 Handling",
        "7" => "Close Handling",
        "9" => "Limits/Performance",
        "10" => "Auto-Fragmentation",
        "12" | "13" => "WebSocket Compression",
        // wsconform's own families (README, "Testing a server").
        "hs" => "Opening Handshake",
        "mask" => "Masking",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn descriptions_keep_only_br_and_b() {
        assert_eq!(
            sanitize_description("a<br>b <B>c</b><i>d</i></b><script>x</script><b>e"),
            "a<br>b <b>c</b>&lt;i&gt;d&lt;/i&gt;&lt;script&gt;x&lt;/script&gt;<b>e</b>"
        );
        assert_eq!(sanitize_description("é & <br/>"), "é &amp; <br>");
    }

    #[test]
    fn short_descriptions() {
        let c = json!({"description": "Send <b>ping</b>. Then more.\nSecond line"});
        assert_eq!(Case(&c).short_description(), "Send ping.");
        let long = json!({"description": "x".repeat(100)});
        assert_eq!(Case(&long).short_description().chars().count(), 81);
    }

    #[test]
    fn payloads_in_every_shape() {
        assert_eq!(payload_line(&json!({"pattern": "ab", "len": 2}), 10), "\"ab\"");
        assert_eq!(
            payload_line(&json!({"pattern": {"hex": "ff"}, "len": 4}), 10),
            "0xff repeated to 4 bytes"
        );
        assert_eq!(
            payload_line(&json!({"len": 70000, "head": {"text": "abc"}}), 10),
            "\"abc\" (70000 bytes)"
        );
        assert_eq!(
            payload_line(&json!({"len": 1, "head": {"base64": "/w=="}}), 10),
            "0xff"
        );
        assert_eq!(payload_line(&json!(7), 10), "?");
        assert_eq!(
            event_line(&json!({"event": "pong", "payload": {"pattern": "x\n", "len": 2}})),
            "pong \"x\\n\""
        );
        assert_eq!(event_line(&json!({"event": "bogus"})), "?");
    }

    #[test]
    fn wire_rows() {
        let close = json!({"kind": "rx_frame", "t_us": 1_000_237, "opcode": 8, "fin": true,
            "rsv": 0, "mask": null, "payload": {"len": 4, "head": {"base64": "A+hoaQ=="}}});
        let row = wire_row(&close);
        assert_eq!(row[0], "1000.237");
        assert_eq!(row[1], "← received");
        assert_eq!(row[3], "8 close");
        assert_eq!(row[8], "code 1000, reason \"hi\"");
        let odd = wire_row(&json!({"kind": 5}));
        assert_eq!(odd[0], "?");
    }

    #[test]
    fn odd_documents_read_as_unknown() {
        let doc = json!({"runs": [{"cases": [{}, 3, {"verdict": "x"}]}, "junk"]});
        let runs: Vec<Run> = Doc(&doc).runs().collect();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].agent(), "?");
        let gate = Gate::default();
        let counts = runs[0].counts(&gate);
        assert_eq!((counts.total, counts.failing), (3, 3));
        for c in runs[0].cases() {
            assert_eq!(c.behavior(), "?");
            assert!(c.expected_close_line().contains('?'));
            assert!(c.actual_close_line().contains('?'));
            assert_eq!(c.close_record().len(), 12);
        }
        assert_eq!(Doc(&json!(null)).tool(), "? ?");
    }
}
