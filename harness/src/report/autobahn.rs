//! Autobahn-compatible reports: `index.json` (agent → case id → verdicts)
//! and one `<agent>_case_<id>.json` per case with Autobahn's keys
//! (reference §6.2–6.3), so existing `jq`/diff gates work unchanged.

use std::path::Path;

use serde_json::{json, Map, Value};
use wsconform_cases::payload::autobahn_preview;
use wsconform_cases::{Event, Judge, Payload};
use wsconform_wire::{Opcode, Role};

use super::{iso8601, report_prefixes, write_json_atomic, ReportError};
use crate::record::{CloseFrame, Digest, Observed, WireEntry};
use crate::runner::CaseResult;

/// The per-case file name: Autobahn's, `<prefix>_case_<id>.json`, where
/// `prefix` is the agent's from [`report_prefixes`].
pub fn case_file(prefix: &str, id: &str) -> String {
    format!("{prefix}_case_{}.json", id.replace('.', "_"))
}

/// `index.json` for one or more agents' results. `written` says whether a
/// case's report file exists; an entry without one has a null `reportfile`.
pub fn index(runs: &[(&str, Vec<&CaseResult>)], written: impl Fn(&str, &str) -> bool) -> Value {
    let agents: Vec<&str> = runs.iter().map(|(agent, _)| *agent).collect();
    let prefixes = report_prefixes(&agents);
    let mut index = Map::new();
    for ((agent, results), prefix) in runs.iter().zip(&prefixes) {
        let mut cases = Map::new();
        for r in results.iter() {
            let file = case_file(prefix, &r.case.id);
            let reportfile = if written(agent, &r.case.id) {
                Value::String(file)
            } else {
                Value::Null
            };
            cases.insert(
                r.case.id.clone(),
                json!({
                    "behavior": r.verdict.behavior.as_str(),
                    "behaviorClose": r.verdict.behavior_close.as_str(),
                    "duration": r.outcome.duration_ms,
                    "remoteCloseCode": r.outcome.remote_close.as_ref().and_then(|c| c.code),
                    "reportfile": reportfile,
                }),
            );
        }
        index.insert(agent.to_string(), Value::Object(cases));
    }
    Value::Object(index)
}

/// Writes `index.json` and every per-case file of every agent into `outdir`.
/// `position` gives a case's 1-based index in the run's case list.
///
/// A per-case file that cannot be written does not stop the others, nor
/// `index.json` (whose entry for it gets a null `reportfile`): one agent's
/// trouble must not cost the other agents their reports. Those failures are
/// returned; only a failure to write `index.json` itself is an error.
pub fn write(
    outdir: &Path,
    runs: &[(&str, Vec<&CaseResult>)],
    position: impl Fn(&str) -> usize,
    harness: Role,
) -> Result<Vec<ReportError>, ReportError> {
    let agents: Vec<&str> = runs.iter().map(|(agent, _)| *agent).collect();
    let prefixes = report_prefixes(&agents);
    let mut failed = std::collections::BTreeSet::new();
    let mut failures = Vec::new();
    for ((agent, results), prefix) in runs.iter().zip(&prefixes) {
        for r in results.iter() {
            let value = case_report(agent, position(&r.case.id), r, harness);
            let path = outdir.join(case_file(prefix, &r.case.id));
            if let Err(e) = write_json_atomic(&path, "case report", &value) {
                failed.insert((agent.to_string(), r.case.id.clone()));
                failures.push(e);
            }
        }
    }
    let written = |agent: &str, id: &str| !failed.contains(&(agent.to_string(), id.to_string()));
    write_json_atomic(&outdir.join("index.json"), "index", &index(runs, written))?;
    Ok(failures)
}

/// Autobahn's `[len, preview]` of a recorded payload. The memory budget may
/// have dropped a payload's head (RFC-wise nothing is lost: its length and
/// hash were counted); then the preview says so instead of showing bytes
/// that are not the payload's.
fn recorded_preview(d: &Digest) -> Value {
    if (d.head.len() as u64) < d.len.min(64) {
        return json!([d.len, "(not kept)"]);
    }
    autobahn_preview(&d.head, d.len)
}

fn preview_text(bytes: &[u8], len: u64) -> Value {
    autobahn_preview(bytes, len)
        .get(1)
        .cloned()
        .unwrap_or(Value::Null)
}

fn expected_event(e: &Event) -> Value {
    let payload = |p: &Payload| preview_text(&p.slice(0, 64), p.len);
    match e {
        Event::Message { payload: p, binary } => json!(["message", payload(p), binary]),
        Event::Pong { payload: p } => json!(["pong", payload(p)]),
        Event::Timeout { tag } => json!(["timeout", tag]),
    }
}

fn observed_event(e: &Observed) -> Value {
    let payload = |d: &Digest| recorded_preview(d).get(1).cloned().unwrap_or(Value::Null);
    match e {
        Observed::Message { binary, payload: d } => json!(["message", payload(d), binary]),
        Observed::Pong { payload: d } => json!(["pong", payload(d)]),
        Observed::Timeout { tag } => json!(["timeout", tag]),
    }
}

fn hex_octets(head: &[u8], len: usize) -> Value {
    let mut text = hex::encode(head);
    if len > head.len() {
        text.push_str(" ...");
    }
    json!([len, text])
}

fn wire_entry(e: &WireEntry) -> Option<Value> {
    let secs = |ms: u64| {
        if ms.is_multiple_of(1000) {
            json!(ms / 1000)
        } else {
            json!(ms as f64 / 1000.0)
        }
    };
    let mask = |m: &Option<[u8; 4]>| m.map_or(Value::Null, |m| json!(hex::encode(m)));
    Some(match e {
        WireEntry::TxOctets { len, sync, head, .. } => json!(["TO", hex_octets(head, *len), sync]),
        WireEntry::RxOctets { len, head, .. } => json!(["RO", hex_octets(head, *len)]),
        WireEntry::TxFrame {
            opcode,
            fin,
            rsv,
            mask: m,
            payload,
            chop,
            sync,
            ..
        } => json!([
            "TF",
            recorded_preview(payload),
            opcode,
            fin,
            rsv,
            mask(m),
            Value::Null,
            chop,
            sync
        ]),
        WireEntry::RxFrame {
            opcode,
            fin,
            rsv,
            mask: m,
            payload,
            ..
        } => json!([
            "RF",
            recorded_preview(payload),
            opcode,
            fin,
            rsv,
            m.is_some(),
            mask(m)
        ]),
        WireEntry::Timer { timer, ms, tag, .. } => match *timer {
            "kill" => json!(["KL", secs(*ms)]),
            "close" => json!(["TI", secs(*ms)]),
            _ => json!(["CT", secs(*ms), tag]),
        },
        WireEntry::TimerFired { timer, tag, .. } => match *timer {
            "kill" => json!(["KLE"]),
            "close" => json!(["TIE"]),
            _ => json!(["CTE", tag]),
        },
        WireEntry::Note { .. } => return None,
    })
}

fn stats<K: ToString>(map: &std::collections::BTreeMap<K, u64>) -> Value {
    Value::Object(map.iter().map(|(k, v)| (k.to_string(), json!(v))).collect())
}

/// Frame counts keyed by the opcode's number, as Autobahn writes them
/// (`"1"`, not the opcode's display name `"text"`).
fn frame_stats(map: &std::collections::BTreeMap<Opcode, u64>) -> Value {
    Value::Object(map.iter().map(|(op, v)| (op.0.to_string(), json!(v))).collect())
}

fn close_parts(c: &Option<CloseFrame>) -> (Value, Value) {
    match c {
        None => (Value::Null, Value::Null),
        Some(c) => (json!(c.code), c.reason_text().map_or(Value::Null, Value::String)),
    }
}

/// One per-case report with Autobahn's keys.
pub fn case_report(agent: &str, index: usize, r: &CaseResult, harness: Role) -> Value {
    let o = &r.outcome;
    let c = &r.case;
    let limits = matches!(c.judge, Judge::Echoes { .. } | Judge::Compressed { .. });
    let compression = matches!(c.judge, Judge::Compressed { .. });
    let expected: Map<String, Value> = if limits {
        Map::new()
    } else {
        c.expected
            .iter()
            .map(|(b, events)| {
                (
                    b.as_str().to_string(),
                    Value::Array(events.iter().map(expected_event).collect()),
                )
            })
            .collect()
    };
    let (local_code, local_reason) = close_parts(&o.local_close);
    let (remote_code, remote_reason) = close_parts(&o.remote_close);
    json!({
        "agent": agent,
        "behavior": r.verdict.behavior.as_str(),
        "behaviorClose": r.verdict.behavior_close.as_str(),
        "case": index,
        "closedByMe": o.closed_by_me,
        "createStats": true,
        "createWirelog": o.wirelog_enabled,
        "description": c.description,
        "droppedByMe": o.dropped_by_me,
        "duration": o.duration_ms,
        "expectation": c.expectation,
        "expected": expected,
        "expectedClose": serde_json::to_value(&c.expected_close).unwrap_or(Value::Null),
        "failedByMe": o.failed_by_me,
        "httpRequest": o.http_request,
        "httpResponse": o.http_response,
        "id": c.id,
        "isServer": harness == Role::Server,
        "localCloseCode": local_code,
        "localCloseReason": local_reason,
        "received": o.received.iter().map(observed_event).collect::<Vec<_>>(),
        "remoteCloseCode": remote_code,
        "remoteCloseReason": remote_reason,
        "reportCompressionRatio": compression,
        "reportTime": limits,
        "result": r.verdict.result,
        "resultClose": r.verdict.result_close,
        "rxFrameStats": frame_stats(&o.rx_frame_stats),
        "rxOctetStats": stats(&o.rx_octet_stats),
        "started": iso8601(o.started),
        // Autobahn keeps them when all echoes arrived (`case12_x_x.py`);
        // wsconform whenever compression was negotiated.
        "trafficStats": o.traffic.as_ref().map_or(Value::Null, |t| t.autobahn_json()),
        "txFrameStats": frame_stats(&o.tx_frame_stats),
        "txOctetStats": stats(&o.tx_octet_stats),
        "wasClean": o.was_clean,
        "wasCloseHandshakeTimeout": o.was_close_handshake_timeout,
        "wasNotCleanReason": o.was_not_clean_reason,
        "wasOpenHandshakeTimeout": o.was_open_handshake_timeout,
        "wasServerConnectionDropTimeout": o.was_server_connection_drop_timeout,
        "wirelog": o.wirelog.iter().filter_map(wire_entry).collect::<Vec<_>>(),
        // Not Autobahn's: wire log entries and payload heads not kept for
        // want of memory budget (budget.rs); 0 when the log is whole.
        "wirelogNotKept": o.not_kept,
    })
}
