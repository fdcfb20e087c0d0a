//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use serde_json::Value;
use wsconform::reference::{Knob, Knobs};
use wsconform::runner::CaseResult;
use wsconform::session::{run_clients, ClientRun, ClientUnderTest};
use wsconform::session::{run_servers, Common, RunResults, ServerRun};
use wsconform_cases::Selection;
use wsconform_cases::{catalog, Case, Event, HandshakeExpect, Judge, Requirement, Step};
use wsconform_wire::{CloseCode, ClosePayload, Opcode};

/// A file under the repository's `peers/expected/`.
pub fn expected_file(rel: &str) -> BTreeMap<String, Value> {
    let path = format!("{}/../peers/expected/{rel}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The other behaviors a `tolerated.json` under `peers/expected/` accepts
/// for `agent`, by case id.
pub fn tolerated(rel: &str, agent: &str) -> BTreeMap<String, Vec<String>> {
    let file = expected_file(rel);
    file.get(agent)
        .and_then(|m| m.as_object())
        .map(|m| {
            m.iter()
                .map(|(id, v)| {
                    let accept = v["accept"].as_array().into_iter().flatten();
                    (
                        id.clone(),
                        accept.filter_map(|a| a.as_str().map(String::from)).collect(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn selection(include: &[&str], exclude: &[&str]) -> Selection {
    Selection {
        include: include.iter().map(|s| s.to_string()).collect(),
        exclude: exclude.iter().map(|s| s.to_string()).collect(),
    }
}

/// A server-testing run of `selection` against the reference server.
pub fn server_run(selection: Selection) -> ServerRun {
    ServerRun {
        common: Common {
            selection,
            ..Common::default()
        },
        ..ServerRun::default()
    }
}

/// Runs `run` to the end, no reports.
pub async fn run_server(run: ServerRun) -> RunResults {
    run_servers(&run, Arc::new(AtomicBool::new(false)), |_| {})
        .await
        .expect("run completes")
}

/// Runs the reference server (with `knobs`) over `selection`, no reports.
pub async fn run_reference(knobs: impl IntoIterator<Item = Knob>, selection: Selection) -> RunResults {
    run_server(ServerRun {
        knobs: Knobs::new(knobs),
        ..server_run(selection)
    })
    .await
}

/// Runs a URL over `selection`, no reports.
pub async fn run_url(url: &str, agent: &str, selection: Selection) -> RunResults {
    run_server(ServerRun {
        url: Some(url.to_string()),
        agent: Some(agent.to_string()),
        ..server_run(selection)
    })
    .await
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
                .map(|c| c.0)
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

/// A client-testing run of `selection` with the reference client.
pub fn client_run(knobs: impl IntoIterator<Item = Knob>, selection: Selection) -> ClientRun {
    ClientRun {
        client: ClientUnderTest::Reference(Knobs::new(knobs)),
        common: Common {
            selection,
            ..Common::default()
        },
        ..ClientRun::default()
    }
}

/// Runs `run` (one agent) to the end, no reports.
pub async fn run_client(run: ClientRun) -> RunResults {
    let mut results = run_clients(&run, Arc::new(AtomicBool::new(false)))
        .await
        .expect("run completes");
    assert_eq!(results.runs.len(), 1, "one agent");
    results.runs.remove(0)
}

/// Runs the reference client (with `knobs`) against wsconform's fuzzing
/// server over `selection`, no reports.
pub async fn run_reference_client(knobs: impl IntoIterator<Item = Knob>, selection: Selection) -> RunResults {
    run_client(client_run(knobs, selection)).await
}

fn frames(case: &Case) -> impl Iterator<Item = &wsconform_cases::FrameSpec> {
    case.steps.iter().filter_map(|s| match s {
        Step::Frame { frame, .. } => Some(frame),
        _ => None,
    })
}

/// Which cases a knob must fail, stated as the rule the knob breaks, over
/// the catalog and the good peer's Autobahn verdicts (`good`).
pub fn knob_breaks(knob: Knob, case: &Case, good: &BTreeMap<String, Value>) -> bool {
    let informational = case.judge == Judge::Informational;
    let expect = case.handshake.as_ref().map(|h| &h.expect);
    // A WebSocket connection follows the handshake (all but the hs.* cases
    // that expect a refusal or leave it open).
    let connects =
        expect.is_none_or(|e| matches!(e, HandshakeExpect::Accept { .. } | HandshakeExpect::FreshKey));
    // The good peer sends a close frame: it sent a code, or the case requires
    // a clean closing handshake (which the good peer passes).
    let sent_code = good
        .get(&case.id)
        .is_some_and(|v| !v["remoteCloseCode"].is_null());
    let peer_sends_close = connects && (case.expected_close.require_clean || sent_code);
    match knob {
        // A close frame with RSV bits cleared is still answered properly (3.7).
        Knob::AcceptReservedBits => frames(case).any(|f| f.rsv != 0 && f.opcode != Opcode::CLOSE),
        Knob::IgnoreReservedOpcodes => frames(case).any(|f| f.opcode.is_reserved()),
        Knob::NoUtf8Validation => case.expected_close.close_codes == [CloseCode::INVALID_PAYLOAD],
        // Invalid close payloads that are still valid control frames (≤ 125 bytes).
        Knob::AcceptAnyCloseCode => {
            !informational
                && case.steps.iter().any(|s| match s {
                    Step::Close { code, reason } => {
                        let payload = [
                            code.map(|c| c.to_be_bytes().to_vec()).unwrap_or_default(),
                            reason.to_vec(),
                        ]
                        .concat();
                        payload.len() <= 125 && ClosePayload::parse(&payload).is_err()
                    }
                    _ => false,
                })
        }
        Knob::NeverPong => case
            .expected
            .values()
            .flatten()
            .any(|e| matches!(e, Event::Pong { .. })),
        Knob::WrongCloseCode => {
            !informational
                && peer_sends_close
                && !case
                    .expected_close
                    .close_codes
                    .contains(&CloseCode::INTERNAL_ERROR)
        }
        Knob::DropOnClose => !informational && connects && case.expected_close.require_clean,
        // A client that accepts what it only SHOULD refuse is NON-STRICT,
        // which passes the gate (hs.client.http-1.0).
        Knob::LaxHandshake => match expect {
            Some(HandshakeExpect::Reject { .. }) => true,
            Some(HandshakeExpect::ClientFails) => case.rfc.level == Requirement::Must,
            _ => false,
        },
        Knob::WrongAccept | Knob::Http10Response | Knob::UpgradeList => connects,
        Knob::FixedKey | Knob::RepeatKeyOutsideCases => expect == Some(&HandshakeExpect::FreshKey),
        // A frame masked the wrong way for the harness's role (the peer's peer).
        Knob::LaxMasking => case
            .peer
            .is_some_and(|peer| frames(case).any(|f| f.masking.breaks_rule_for(peer.peer()))),
        // These are checked case for case against the real Autobahn's
        // verdicts on the same peer instead (tests/verdict_fidelity.rs).
        Knob::InvalidCloseCode
        | Knob::InvalidCloseReason
        | Knob::LongClose
        | Knob::NonMinimalLength
        | Knob::LateEcho
        | Knob::InvalidUtf8Echo
        | Knob::PongFirst
        | Knob::BatchedReads => panic!("{knob:?} has recorded Autobahn verdicts, not a rule"),
        // permessage-deflate knobs: tests/pmd.rs lists the pmd.* cases each
        // one fails (and verdict_fidelity.rs compares deflate-corrupt-echo
        // with the real Autobahn on 12.x/13.x).
        Knob::UndefinedDeflateParam
        | Knob::AcceptEveryOffer
        | Knob::UnofferedClientWindow
        | Knob::OmitServerWindowBits
        | Knob::LaxOfferWindowBits
        | Knob::LaxDeflateResponse
        | Knob::RequireClientWindowBits
        | Knob::AcceptRsv1Continuation
        | Knob::AcceptRsv1Control
        | Knob::InflateUnnegotiated
        | Knob::RefuseEmptyDeflateBlock
        | Knob::RefuseBfinal
        | Knob::DeflateCorruptEcho
        | Knob::IgnoreWindowBits
        | Knob::KeepContext
        | Knob::DeflateNoLimit => panic!("{knob:?} is checked in tests/pmd.rs"),
    }
}

/// The knobs of both reference peers.
pub const FRAME_KNOBS: [Knob; 8] = [
    Knob::AcceptReservedBits,
    Knob::IgnoreReservedOpcodes,
    Knob::NoUtf8Validation,
    Knob::AcceptAnyCloseCode,
    Knob::NeverPong,
    Knob::WrongCloseCode,
    Knob::DropOnClose,
    Knob::LaxMasking,
];

/// The reference server's opening-handshake knobs.
pub const HANDSHAKE_KNOBS: [Knob; 4] = [
    Knob::LaxHandshake,
    Knob::WrongAccept,
    Knob::Http10Response,
    Knob::UpgradeList,
];

/// Each of `knobs`, run by `run` over all cases but 9.x (sizes and timing,
/// which no knob touches) for which `applies` holds: returns the knobs whose
/// failing cases differ from what `knob_breaks` says, with the difference.
pub async fn knob_mismatches<F, Fut>(
    knobs: &[Knob],
    good: &BTreeMap<String, Value>,
    applies: impl Fn(&Case) -> bool,
    run: F,
) -> Vec<String>
where
    F: Fn(Knob) -> Fut,
    Fut: std::future::Future<Output = RunResults>,
{
    let runs = futures_util::future::join_all(knobs.iter().map(|k| run(*k))).await;
    let mut problems = Vec::new();
    for (knob, results) in knobs.iter().zip(runs) {
        let want: BTreeSet<String> = catalog()
            .into_iter()
            .filter(|c| c.category() != "9" && applies(c) && knob_breaks(*knob, c, good))
            .map(|c| c.id)
            .collect();
        let got = failing(&results.results);
        if want.is_empty() {
            problems.push(format!("{knob:?}: the rule selects no case"));
        }
        if got != want {
            let missing: Vec<_> = want.difference(&got).collect();
            let extra: Vec<_> = got.difference(&want).collect();
            // The verdicts of the unexpected failures, so a failure seen
            // once (in CI) says what happened.
            let why: Vec<String> = results
                .results
                .iter()
                .filter(|r| extra.contains(&&r.case.id))
                .map(|r| {
                    format!(
                        "{}: {:?} / {:?}: {} {}",
                        r.case.id,
                        r.verdict.behavior,
                        r.verdict.behavior_close,
                        r.verdict.result,
                        r.verdict.result_close
                    )
                })
                .collect();
            problems.push(format!(
                "{knob:?}: should fail but passed {missing:?}; failed unexpectedly {extra:?} {why:?}"
            ));
        }
    }
    problems
}

/// 12.x/13.x in the tests: the first case of every subcategory (each corpus,
/// each offer and accept rule), and fragmented and large messages.
pub const DEFLATE_SAMPLE: &[&str] = &[
    "12.1.1", "12.2.1", "12.3.1", "12.4.1", "12.5.1", "12.1.11", "12.3.6", "13.1.1", "13.2.1", "13.3.1",
    "13.4.1", "13.5.1", "13.6.1", "13.7.1", "13.5.11", "13.7.6",
];

/// Every result OK/OK, with permessage-deflate negotiated and 1000
/// messages each way, as many bytes inflated as were sent.
pub fn assert_deflate_ok(results: &[CaseResult]) {
    for r in results {
        let (b, bc) = (r.verdict.behavior.as_str(), r.verdict.behavior_close.as_str());
        assert_eq!((b, bc), ("OK", "OK"), "{}: {}", r.case.id, r.verdict.result);
        assert!(r.outcome.deflate.is_some(), "{}: not negotiated", r.case.id);
        let t = r.outcome.traffic.as_ref().expect("traffic statistics");
        assert_eq!(
            (t.outgoing_websocket_messages, t.incoming_websocket_messages),
            (1000, 1000),
            "{}",
            r.case.id
        );
        assert_eq!(
            t.incoming_octets_app_level, t.outgoing_octets_app_level,
            "{}",
            r.case.id
        );
        assert!(t.incoming_octets_websocket_level > 0, "{}", r.case.id);
    }
}
