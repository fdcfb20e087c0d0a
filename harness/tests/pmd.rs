//! The `pmd.*` family (permessage-deflate rules Autobahn never breaks,
//! `cases/src/families/pmd.rs`): every case passes on the clean reference
//! peers in both roles, and each permessage-deflate knob fails exactly the
//! cases listed for it, FAILED, with the close the case expects broken. And
//! a knob that corrupts the reference peers' compressed echoes fails every
//! 12.x/13.x case of the sample in both roles (verdict_fidelity.rs compares
//! those verdicts with the real Autobahn's).

mod common;

use std::collections::BTreeSet;

use common::{run_reference, run_reference_client, selection};
use wsconform::reference::Knob;
use wsconform::session::RunResults;
use wsconform_cases::{Behavior, BehaviorClose};

/// The pmd.* cases (id after `pmd.ROLE.`) each knob fails, and why the ones
/// that are not its own rule fail too.
const SERVER_KNOBS: &[(Knob, &[&str])] = &[
    // Every case that negotiates: the harness refuses the response (RFC
    // 7692 §5), so nothing else runs.
    (
        Knob::UndefinedDeflateParam,
        &[
            "bfinal",
            "decompression-bomb",
            "empty-final-fragment",
            "no-context-takeover-honoured",
            "offer-client-window-7",
            "offer-server-window-16",
            "response-two-elements",
            "response-undefined-param",
            "rsv1-continuation",
            "rsv1-ping",
            "unoffered-client-window",
            "window-bits-echoed",
            "window-bits-honoured",
        ],
    ),
    (Knob::AcceptEveryOffer, &["response-two-elements"]),
    (Knob::OmitServerWindowBits, &["window-bits-echoed"]),
    // The cases whose offers are bare (no client_max_window_bits).
    (
        Knob::UnofferedClientWindow,
        &[
            "offer-client-window-7",
            "offer-server-window-16",
            "unoffered-client-window",
        ],
    ),
    (
        Knob::LaxOfferWindowBits,
        &["offer-client-window-7", "offer-server-window-16"],
    ),
    (Knob::AcceptRsv1Continuation, &["rsv1-continuation"]),
    (Knob::AcceptRsv1Control, &["rsv1-ping"]),
    (Knob::InflateUnnegotiated, &["unnegotiated"]),
    (Knob::RefuseEmptyDeflateBlock, &["empty-final-fragment"]),
    (Knob::RefuseBfinal, &["bfinal"]),
    (Knob::IgnoreWindowBits, &["window-bits-honoured"]),
    (Knob::KeepContext, &["no-context-takeover-honoured"]),
    (Knob::DeflateNoLimit, &["decompression-bomb"]),
];

const CLIENT_KNOBS: &[(Knob, &[&str])] = &[
    (
        Knob::LaxDeflateResponse,
        &[
            "response-client-window-7",
            "response-server-window-16",
            "response-two-elements",
            "response-undefined-param",
        ],
    ),
    // The cases that echo compressed messages after a response without
    // client_max_window_bits (the RSV1 cases pass: the client fails the
    // connection anyway).
    (
        Knob::RequireClientWindowBits,
        &[
            "bfinal",
            "empty-final-fragment",
            "no-context-takeover-honoured",
            "window-bits-omitted",
        ],
    ),
    (Knob::AcceptRsv1Continuation, &["rsv1-continuation"]),
    (Knob::AcceptRsv1Control, &["rsv1-ping"]),
    (Knob::InflateUnnegotiated, &["unnegotiated"]),
    (Knob::RefuseEmptyDeflateBlock, &["empty-final-fragment"]),
    (Knob::RefuseBfinal, &["bfinal"]),
    (Knob::IgnoreWindowBits, &["window-bits-honoured"]),
    (Knob::KeepContext, &["no-context-takeover-honoured"]),
    (Knob::DeflateNoLimit, &["decompression-bomb"]),
];

/// Every result OK/OK; compression negotiated in every case that offers it.
fn assert_all_ok(run: &RunResults, count: usize) {
    assert_eq!(run.results.len(), count);
    for r in &run.results {
        let v = &r.verdict;
        assert_eq!(
            (v.behavior, v.behavior_close),
            (Behavior::Ok, BehaviorClose::Ok),
            "{}: {} / {}",
            r.case.id,
            v.result,
            v.result_close
        );
        assert_eq!(
            r.outcome.deflate.is_some(),
            r.case.deflate.is_some(),
            "{}: negotiated",
            r.case.id
        );
    }
    assert!(run.passed && run.complete);
}

/// The cases of `run` that failed, each with `behavior` FAILED; their ids
/// after `prefix`.
fn failed(run: &RunResults, prefix: &str) -> BTreeSet<String> {
    let ids = common::failing(&run.results);
    for r in run.results.iter().filter(|r| ids.contains(&r.case.id)) {
        assert_eq!(r.verdict.behavior, Behavior::Failed, "{}", r.case.id);
        assert_ne!(r.verdict.behavior_close, BehaviorClose::Ok, "{}", r.case.id);
    }
    ids.iter()
        .map(|id| id.strip_prefix(prefix).unwrap_or(id).to_string())
        .collect()
}

fn mismatches(knobs: &[(Knob, &[&str])], runs: Vec<RunResults>, prefix: &str) -> Vec<String> {
    knobs
        .iter()
        .zip(runs)
        .filter_map(|((knob, want), run)| {
            let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
            let got = failed(&run, prefix);
            (got != want).then(|| format!("{knob:?}: failed {got:?}, expected {want:?}"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_server_passes_every_pmd_case() {
    let run = run_reference([], selection(&["pmd.*"], &[])).await;
    assert_all_ok(&run, 14);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_client_passes_every_pmd_case() {
    let run = run_reference_client([], selection(&["pmd.*"], &[])).await;
    assert_all_ok(&run, 13);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_server_knob_fails_exactly_its_pmd_cases() {
    let runs = futures_util::future::join_all(
        SERVER_KNOBS
            .iter()
            .map(|(k, _)| run_reference([*k], selection(&["pmd.*"], &[]))),
    )
    .await;
    let problems = mismatches(SERVER_KNOBS, runs, "pmd.server.");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_client_knob_fails_exactly_its_pmd_cases() {
    let runs = futures_util::future::join_all(
        CLIENT_KNOBS
            .iter()
            .map(|(k, _)| run_reference_client([*k], selection(&["pmd.*"], &[]))),
    )
    .await;
    let problems = mismatches(CLIENT_KNOBS, runs, "pmd.client.");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A peer whose compressed echoes differ from what it received fails every
/// 12.x/13.x case of the sample (every corpus, offer and accept rule), at
/// the first echo, in both roles: "contents differs" (Autobahn's
/// `case12_x_x.py` text), the harness closing normally.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_deflate_echo_fails_12_and_13_in_both_roles() {
    let sample = selection(common::DEFLATE_SAMPLE, &[]);
    let (server, client) = tokio::join!(
        run_reference([Knob::DeflateCorruptEcho], sample.clone()),
        run_reference_client([Knob::DeflateCorruptEcho], sample),
    );
    for run in [server, client] {
        assert_eq!(run.results.len(), common::DEFLATE_SAMPLE.len());
        for r in &run.results {
            let v = &r.verdict;
            assert_eq!(
                (v.behavior, v.behavior_close),
                (Behavior::Failed, BehaviorClose::Ok),
                "{}: {}",
                r.case.id,
                v.result
            );
            assert!(
                v.result.contains("contents differs"),
                "{}: {}",
                r.case.id,
                v.result
            );
            let echoes = r.outcome.echoes.as_ref().expect("echo record");
            assert_eq!(echoes.matched, 0, "{}", r.case.id);
        }
        assert!(!run.passed);
    }
}
