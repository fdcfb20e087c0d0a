//! Testing servers: the full catalog against the built-in reference server,
//! and each misbehaviour knob failing exactly the cases that check its rule.

mod common;

use std::collections::BTreeMap;

use common::{expected_file, run_reference, selection};
use wsconform_wire::Role;

/// The real Autobahn|Testsuite's verdicts on the reference server
/// (peers/expected/README.md says how they were produced): ours must be the
/// same, case for case, close code included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_server_gets_autobahns_verdicts() {
    let results = run_reference([], selection(&[], &["hs.*", "mask.*", "pmd.*", "12.*", "13.*"])).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_knob_fails_exactly_the_cases_of_its_rule() {
    let good = expected_file("server/wsconform-reference.json");
    let knobs = [common::FRAME_KNOBS.as_slice(), common::HANDSHAKE_KNOBS.as_slice()].concat();
    let problems = common::knob_mismatches(
        &knobs,
        &good,
        // permessage-deflate has its own knobs (tests/pmd.rs).
        |c| c.applies_to(Role::Server) && c.deflate.is_none() && c.category() != "pmd",
        |knob| run_reference([knob], selection(&[], &["9.*", "12.*", "13.*", "pmd.*"])),
    )
    .await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// permessage-deflate (RFC 7692): the reference server negotiates it and
/// passes a sample of every subcategory of 12.x/13.x, every offer and
/// accept rule (the main job runs all 216, BENCHMARKS.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_server_passes_deflate_sample() {
    let results = run_reference([], selection(common::DEFLATE_SAMPLE, &[])).await;
    assert_eq!(results.results.len(), common::DEFLATE_SAMPLE.len());
    common::assert_deflate_ok(&results.results);
    assert!(results.passed && results.complete);
}

/// The opening-handshake cases Autobahn lacks: the reference server must
/// get every one right (the knob test shows each failing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_server_passes_every_handshake_case() {
    let results = run_reference([], selection(&["hs.*"], &[])).await;
    assert_eq!(results.results.len(), 30);
    assert_eq!(common::failing(&results.results), Default::default());
}

/// A message of many small frames (9.3.1: 4 MiB as 65 536 frames of 64
/// bytes) leaves in large writes, as Autobahn hands its reactor the whole
/// message, not in a system call or two per frame.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_small_frames_leave_in_large_writes() {
    let run = run_reference([], selection(&["9.3.1"], &[])).await;
    let writes: u64 = run.results[0].outcome.tx_octet_stats.values().sum();
    assert!(writes < 100, "{writes} writes for 9.3.1");
    assert!(run.passed && run.complete);
}
