//! The full catalog against the built-in reference server, and each
//! misbehaviour knob failing exactly the cases that check its rule.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{expected_file, failing, run_reference, selection};
use wsconform::reference::Knob;
use wsconform_cases::{catalog, Case, Event, Judge, Step};
use wsconform_wire::{ClosePayload, Opcode};

/// The real Autobahn|Testsuite's verdicts on the reference server
/// (peers/expected/README.md says how they were produced): ours must be the
/// same, case for case, close code included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_server_gets_autobahns_verdicts() {
    let results = run_reference(&[], selection(&[], &[])).await;
    assert_eq!(results.results.len(), 301);
    let expected = expected_file("server/wsconform-reference.json");
    let diffs = common::compare(&results.results, &expected, &BTreeMap::new());
    assert!(
        diffs.is_empty(),
        "differences from Autobahn:\n{}",
        diffs.join("\n")
    );
    assert!(results.passed && results.complete);
}

/// Runs every case but 9.x (sizes and timing, which no knob touches) with
/// `knob` and checks that exactly `should_fail` fail.
async fn knob_fails_exactly(knob: Knob, should_fail: impl Fn(&Case) -> bool) {
    let results = run_reference(&[knob], selection(&[], &["9.*"])).await;
    let want: BTreeSet<String> = catalog()
        .into_iter()
        .filter(|c| c.category() != "9" && should_fail(c))
        .map(|c| c.id)
        .collect();
    assert!(!want.is_empty(), "{knob:?}: the rule selects no case");
    assert_eq!(failing(&results.results), want, "{knob:?}");
}

fn frames(case: &Case) -> impl Iterator<Item = &wsconform_cases::FrameSpec> {
    case.steps.iter().filter_map(|s| match s {
        Step::Frame { frame, .. } => Some(frame),
        _ => None,
    })
}

/// Cases in which the good reference server sends a close frame: it sent a
/// code, or the case requires a clean closing handshake (which it passes).
fn server_sends_close(case: &Case) -> bool {
    let expected = expected_file("server/wsconform-reference.json");
    case.expected_close.require_clean || !expected[&case.id]["remoteCloseCode"].is_null()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knob_accept_reserved_bits() {
    // A close frame with RSV bits cleared is still answered properly (3.7).
    knob_fails_exactly(Knob::AcceptReservedBits, |c| {
        frames(c).any(|f| f.rsv != 0 && f.opcode != Opcode::CLOSE.0)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knob_ignore_reserved_opcodes() {
    knob_fails_exactly(Knob::IgnoreReservedOpcodes, |c| {
        frames(c).any(|f| Opcode(f.opcode).is_reserved())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knob_no_utf8_validation() {
    knob_fails_exactly(Knob::NoUtf8Validation, |c| c.expected_close.close_codes == [1007]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knob_accept_any_close_code() {
    // Invalid close payloads that are still valid control frames (≤ 125 bytes).
    knob_fails_exactly(Knob::AcceptAnyCloseCode, |c| {
        c.judge != Judge::Informational
            && c.steps.iter().any(|s| match s {
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
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knob_never_pong() {
    knob_fails_exactly(Knob::NeverPong, |c| {
        c.expected
            .values()
            .flatten()
            .any(|e| matches!(e, Event::Pong { .. }))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knob_wrong_close_code() {
    knob_fails_exactly(Knob::WrongCloseCode, |c| {
        c.judge != Judge::Informational
            && server_sends_close(c)
            && !c.expected_close.close_codes.contains(&1011)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knob_drop_on_close() {
    knob_fails_exactly(Knob::DropOnClose, |c| {
        c.judge != Judge::Informational && c.expected_close.require_clean
    })
    .await;
}
