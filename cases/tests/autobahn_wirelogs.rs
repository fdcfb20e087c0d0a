//! The catalog against Autobahn|Testsuite's own per-case reports.
//!
//! `peers/autobahn-reports/server/<agent>/*.json` are real Autobahn 25.10.1
//! reports (fuzzingclient mode) with wire logs. For every report this checks
//! that our case with the same id
//!
//! * sends the frames Autobahn sent (its `TF` entries: opcode, FIN, RSV,
//!   `[len, preview]`, `payload_len`, chop size, sync; the mask is random),
//! * arms the same timers in the same place (`KL` killAfter, `TI` closeAfter,
//!   `CT` continueLater),
//! * expects the same events (`expected`) and close (`expectedClose`),
//! * and carries Autobahn's `description` and `expectation` texts.
//!
//! Every mismatching case is printed with its diff; the test fails once, with
//! the list of all mismatching ids.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use wsconform_cases::payload::autobahn_preview;
use wsconform_cases::{catalog, Case, Event, FrameSpec, Payload, Step, Write};
use wsconform_wire::Opcode;

/// A wire-log entry that our script determines.
#[derive(Debug, Clone, PartialEq)]
enum Entry {
    /// `["TF", [len, preview], opcode, fin, rsv, mask, payload_len, chopsize, sync]`.
    Frame {
        opcode: Opcode,
        fin: bool,
        rsv: u8,
        shown: Value,
        repeat_len: Option<u64>,
        chop: Option<u64>,
        sync: bool,
    },
    /// `["KL", secs]`.
    Kill { ms: u64 },
    /// `["TI", secs]`.
    CloseAfter { ms: u64 },
    /// `["CT", secs, tag]`.
    Later { ms: u64, tag: Option<String> },
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opt = |v: &Option<u64>| v.map_or("-".to_string(), |n| n.to_string());
        match self {
            Entry::Frame {
                opcode,
                fin,
                rsv,
                shown,
                repeat_len,
                chop,
                sync,
            } => write!(
                f,
                "TF op={} fin={} rsv={rsv} {shown} payload_len={} chop={} sync={}",
                opcode.0,
                u8::from(*fin),
                opt(repeat_len),
                opt(chop),
                u8::from(*sync)
            ),
            Entry::Kill { ms } => write!(f, "KL {ms} ms"),
            Entry::CloseAfter { ms } => write!(f, "TI {ms} ms"),
            Entry::Later { ms, tag } => write!(f, "CT {ms} ms tag={tag:?}"),
        }
    }
}

/// One frame of our script. Autobahn logs a payload built with
/// `payload_len` (a pattern repeated) as the pattern plus the length; our
/// `Payload` does not say which way Autobahn built it, so both are accepted.
#[derive(Debug, Clone)]
struct Ours {
    literal: Entry,
    repeated: Option<Entry>,
    /// A `Wait` step comes before it in the script.
    after_wait: bool,
}

impl Ours {
    fn timer(entry: Entry, after_wait: bool) -> Ours {
        Ours {
            literal: entry,
            repeated: None,
            after_wait,
        }
    }

    fn matches(&self, theirs: &Entry) -> bool {
        self.literal == *theirs || self.repeated.as_ref() == Some(theirs)
    }

    /// The rendering to show next to `theirs`.
    fn shown_against(&self, theirs: Option<&Entry>) -> &Entry {
        match (theirs, &self.repeated) {
            (
                Some(Entry::Frame {
                    repeat_len: Some(_), ..
                }),
                Some(r),
            ) => r,
            _ => &self.literal,
        }
    }
}

fn preview(payload: &Payload) -> Value {
    autobahn_preview(&payload.slice(0, 64), payload.len)
}

fn frame_entry(frame: &FrameSpec, write: Write, after_wait: bool) -> Ours {
    let entry = |shown: Value, repeat_len: Option<u64>| Entry::Frame {
        opcode: frame.opcode,
        fin: frame.fin,
        rsv: frame.rsv,
        shown,
        repeat_len,
        chop: match write {
            Write::Chop(n) => Some(n as u64),
            _ => None,
        },
        sync: write == Write::Sync,
    };
    let pattern = &frame.payload.pattern.0;
    let repeated = (pattern.len() as u64 != frame.payload.len).then(|| {
        entry(
            autobahn_preview(pattern, pattern.len() as u64),
            Some(frame.payload.len),
        )
    });
    Ours {
        literal: entry(preview(&frame.payload), None),
        repeated,
        after_wait,
    }
}

/// The `TF`/`KL`/`TI`/`CT` entries our steps produce, in order. A
/// `FrameHeader`/`FrameData` frame is written raw (Autobahn logs only `TO`);
/// category 9 runs with Autobahn's wire log off during the transfer, so only
/// its timers are compared.
fn our_entries(case: &Case) -> Vec<Ours> {
    // 12.x/13.x: Autobahn's `onOpen` turns the wire log off first thing
    // (`case12_x_x.py`), so nothing of the steps is logged.
    if case.deflate.is_some() {
        return Vec::new();
    }
    let wirelog_off = case.category() == "9";
    let mut out = Vec::new();
    let mut after_wait = false;
    for step in &case.steps {
        let mut frame = |f: FrameSpec, write: Write| {
            if !wirelog_off {
                out.push(frame_entry(&f, write, after_wait));
            }
        };
        match step {
            Step::Frame { frame: f, write } => frame(f.clone(), *write),
            Step::Message {
                opcode,
                payload,
                fragment_size,
            } => {
                for f in wsconform_cases::message_frames(*opcode, payload, *fragment_size) {
                    frame(f, Write::Whole);
                }
            }
            Step::Close { code, reason } => {
                let mut bytes = code.map(|c| c.to_be_bytes().to_vec()).unwrap_or_default();
                bytes.extend(reason.to_vec());
                frame(FrameSpec::new(Opcode::CLOSE, Payload::bytes(bytes)), Write::Whole);
            }
            Step::RoundTrips { .. } => assert!(wirelog_off, "{}: round trips outside category 9", case.id),
            Step::CorpusMessages { .. } | Step::DeflateBomb { .. } => {
                unreachable!("{}: compressed messages without deflate", case.id)
            }
            Step::FrameHeader { .. } | Step::FrameData { .. } => {}
            Step::Wait { ms, tag } => {
                out.push(Ours::timer(
                    Entry::Later {
                        ms: *ms,
                        tag: tag.clone(),
                    },
                    after_wait,
                ));
                after_wait = true;
            }
            Step::KillAfter { ms } => out.push(Ours::timer(Entry::Kill { ms: *ms }, after_wait)),
            Step::CloseAfter { ms } => out.push(Ours::timer(Entry::CloseAfter { ms: *ms }, after_wait)),
        }
    }
    out
}

fn secs_to_ms(v: &Value) -> u64 {
    (v.as_f64().expect("seconds") * 1000.0).round() as u64
}

/// Autobahn's `TF`, `KL`, `TI` and `CT` entries.
fn their_entries(report: &Value) -> Vec<Entry> {
    let log = report["wirelog"].as_array().expect("wirelog");
    log.iter()
        .filter_map(|e| {
            let e = e.as_array().expect("entry");
            let opt_u64 = |v: &Value| v.as_u64();
            Some(match e[0].as_str().expect("kind") {
                "TF" => Entry::Frame {
                    opcode: Opcode(e[2].as_u64().expect("opcode") as u8),
                    fin: e[3].as_bool().expect("fin"),
                    rsv: e[4].as_u64().expect("rsv") as u8,
                    shown: e[1].clone(),
                    repeat_len: opt_u64(&e[6]),
                    chop: opt_u64(&e[7]),
                    sync: e[8].as_bool().expect("sync"),
                },
                "KL" => Entry::Kill {
                    ms: secs_to_ms(&e[1]),
                },
                "TI" => Entry::CloseAfter {
                    ms: secs_to_ms(&e[1]),
                },
                "CT" => Entry::Later {
                    ms: secs_to_ms(&e[1]),
                    tag: e[2].as_str().map(String::from),
                },
                _ => return None,
            })
        })
        .collect()
}

/// A close frame Autobahn sends on its own rather than by script: 1000 when
/// done (finishWhenDone) or in reply to the peer's close, empty when
/// closeAfter fires, 1001 (with a reason) when killAfter fires.
fn is_reactive_close(e: &Entry) -> bool {
    let Entry::Frame {
        opcode: Opcode::CLOSE,
        shown,
        ..
    } = e
    else {
        return false;
    };
    let text = shown[1].as_str().unwrap_or("");
    text.is_empty() || text == "0x03e8" || text.starts_with("0x03e9")
}

/// Compares the wire entries; returns the diff lines, empty when equal.
fn diff_wire(case: &Case, report: &Value) -> Vec<String> {
    let ours = our_entries(case);
    let mut theirs = Vec::new();
    for e in their_entries(report) {
        let scripted = ours.get(theirs.len()).is_some_and(|o| o.matches(&e));
        if !scripted && is_reactive_close(&e) {
            continue;
        }
        theirs.push(e);
    }
    let equal_prefix = theirs.len() <= ours.len() && ours.iter().zip(&theirs).all(|(o, t)| o.matches(t));
    // The peer may fail the connection during a Wait: Autobahn's log then
    // stops there.
    let cut_after_wait = ours.get(theirs.len()).is_none_or(|o| o.after_wait);
    if equal_prefix && cut_after_wait {
        return Vec::new();
    }
    let mut lines = Vec::new();
    for i in 0..ours.len().max(theirs.len()) {
        let t = theirs.get(i);
        let o = ours.get(i);
        let same = matches!((o, t), (Some(o), Some(t)) if o.matches(t));
        let show = |x: Option<String>| x.unwrap_or_else(|| "(none)".into());
        lines.push(format!(
            "  {} {i:3} ours:     {}\n          autobahn: {}",
            if same { " " } else { "!" },
            show(o.map(|o| o.shown_against(t).to_string())),
            show(t.map(ToString::to_string)),
        ));
    }
    if equal_prefix {
        lines.push("  Autobahn's log ends early, but not after a Wait step of ours".into());
    }
    lines
}

/// Our `expected` in Autobahn's JSON form.
fn expected_json(case: &Case) -> Value {
    let events = |list: &[Event]| -> Value {
        list.iter()
            .map(|e| match e {
                Event::Message { payload, binary } => json!(["message", preview(payload)[1], binary]),
                Event::Pong { payload } => json!(["pong", preview(payload)[1]]),
                Event::Timeout { tag } => json!(["timeout", tag]),
            })
            .collect()
    };
    case.expected
        .iter()
        .map(|(b, list)| (b.as_str().to_string(), events(list)))
        .collect()
}

fn diff_fields(case: &Case, report: &Value) -> Vec<String> {
    let ours = [
        ("description", json!(case.description)),
        ("expectation", json!(case.expectation)),
        ("expected", expected_json(case)),
        (
            "expectedClose",
            serde_json::to_value(&case.expected_close).expect("serializes"),
        ),
    ];
    ours.into_iter()
        .filter(|(field, v)| report[*field] != *v)
        .map(|(field, v)| format!("  {field}:\n    ours:     {v}\n    autobahn: {}", report[field]))
        .collect()
}

/// serde_json cannot hold a lone UTF-16 surrogate, which Autobahn (Python 2)
/// writes for encoded surrogates in previews (`\ud800`): such escapes become
/// `\ufffd`, as `autobahn_preview` renders them. Pairs are kept.
fn replace_lone_surrogates(json: &str) -> String {
    let b = json.as_bytes();
    let unit = |i: usize| -> Option<u16> {
        (b.get(i..i + 2)? == br"\u").then_some(())?;
        u16::from_str_radix(json.get(i + 2..i + 6)?, 16).ok()
    };
    let mut out = String::with_capacity(json.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            match unit(i) {
                Some(0xD800..=0xDBFF) if matches!(unit(i + 6), Some(0xDC00..=0xDFFF)) => {
                    out.push_str(&json[i..i + 12]);
                    i += 12;
                }
                Some(0xD800..=0xDFFF) => {
                    out.push_str(r"\ufffd");
                    i += 6;
                }
                _ => {
                    out.push_str(&json[i..i + 2]);
                    i += 2;
                }
            }
        } else {
            let len = json[i..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&json[i..i + len]);
            i += len;
        }
    }
    out
}

fn report_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../peers/autobahn-reports/server");
    let mut files = Vec::new();
    for agent in std::fs::read_dir(&root).expect("reports directory") {
        let agent = agent.expect("entry").path();
        for f in std::fs::read_dir(&agent).expect("agent directory") {
            let f = f.expect("entry").path();
            if f.file_name()
                .is_some_and(|n| n.to_string_lossy().contains("_case_"))
            {
                files.push(f);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn catalog_matches_autobahn_reports() {
    // Autobahn's cases: every one but wsconform's own handshake category.
    // 12.x/13.x log nothing of their steps (`our_entries`); their reports
    // are kept apart (peers/autobahn-reports/*/deflate/), not compared here.
    let all: Vec<_> = catalog()
        .into_iter()
        .filter(|c| c.is_autobahn() && c.deflate.is_none())
        .collect();
    let files = report_files();
    assert!(
        files.len() >= 301,
        "expected reports for categories 1-10, found {}",
        files.len()
    );
    let mut bad = BTreeSet::new();
    let mut printed: BTreeMap<String, String> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable");
        let report: Value = serde_json::from_str(&replace_lone_surrogates(&text)).expect("JSON");
        let id = report["id"].as_str().expect("id");
        seen.insert(id.to_string());
        let Some(case) = all.iter().find(|c| c.id == id) else {
            println!("{id}: no such case in the catalog ({})", file.display());
            bad.insert(id.to_string());
            continue;
        };
        let mut lines = diff_wire(case, &report);
        lines.extend(diff_fields(case, &report));
        if lines.is_empty() {
            continue;
        }
        bad.insert(id.to_string());
        // The same diff against the second agent adds nothing.
        let diff = lines.join("\n");
        if printed.get(id) != Some(&diff) {
            let agent = file
                .parent()
                .and_then(Path::file_name)
                .map(|n| n.to_string_lossy());
            println!("{id} (vs {}):\n{diff}", agent.unwrap_or_default());
            printed.insert(id.to_string(), diff);
        }
    }
    let mut bad: Vec<_> = bad.into_iter().collect();
    bad.sort_by_key(|id| wsconform_cases::id_key(id));
    assert!(
        bad.is_empty(),
        "{} cases differ from Autobahn: {}",
        bad.len(),
        bad.join(" ")
    );
    assert_eq!(
        seen.len(),
        all.len(),
        "every case of categories 1-10 has a report"
    );
}

#[test]
fn lone_surrogates_are_replaced_pairs_kept() {
    assert_eq!(
        replace_lone_surrogates(r#"["\ud800edited"]"#),
        r#"["\ufffdedited"]"#
    );
    assert_eq!(
        replace_lone_surrogates(r#"["\ud800\udc00", "\\ud800"]"#),
        r#"["\ud800\udc00", "\\ud800"]"#
    );
}

/// A peer that fails fast ends Autobahn's log early: fine after a Wait of
/// ours, a mismatch anywhere else.
#[test]
fn early_end_is_accepted_only_after_a_wait() {
    let all = catalog();
    let case = |id: &str| all.iter().find(|c| c.id == id).expect("exists");
    let tf = |shown: Value, opcode: Opcode, fin: bool| {
        json!(["TF", shown, opcode, fin, 0, "00000000", null, null, false])
    };
    let reply = tf(json!([2, "0x03e8"]), Opcode::CLOSE, true);
    let kosme = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";
    let failed_fast = json!({"wirelog": [
        tf(autobahn_preview(kosme, 11), Opcode::TEXT, false), ["CT", 1, "A"], reply.clone()
    ]});
    assert_eq!(diff_wire(case("6.4.1"), &failed_fast), Vec::<String>::new());
    let cut_short = json!({"wirelog": [reply]});
    assert!(!diff_wire(case("1.1.1"), &cut_short).is_empty());
}
