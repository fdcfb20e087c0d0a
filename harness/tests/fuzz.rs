//! `wsconform fuzz` against the reference server and the reference client:
//! each frame knob is found quickly, its finding shrinks to a few steps and
//! the saved reproducer replays to the same finding, through the catalog's
//! own verdict path (`Judge::Rfc`); the clean reference peers give no
//! finding.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use wsconform::fuzz::campaign::{self, FuzzConfig, FuzzTarget, Progress, Runner, Summary};
use wsconform::fuzz::casefile;
use wsconform::fuzz::{oracle, FindingClass};
use wsconform::reference::{Knob, Knobs};
use wsconform::session::ClientUnderTest;
use wsconform_cases::Behavior;

struct Silent;

impl Progress for Silent {
    fn update(&mut self, _: u64, _: Duration, _: &std::collections::BTreeMap<FindingClass, u64>) {}
    fn line(&mut self, _: &str) {}
}

fn outdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wsconform-fuzz-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn config(knobs: Vec<Knob>, iterations: u64, name: &str) -> FuzzConfig {
    FuzzConfig {
        target: FuzzTarget::Reference(Knobs::new(knobs)),
        ..client_config(Vec::new(), iterations, name)
    }
}

/// The reference client, served scripts by the harness as a server.
fn client_config(knobs: Vec<Knob>, iterations: u64, name: &str) -> FuzzConfig {
    FuzzConfig {
        target: FuzzTarget::Client {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            under_test: ClientUnderTest::Reference(Knobs::new(knobs)),
        },
        seed: 7,
        iterations: Some(iterations),
        duration: Some(Duration::from_secs(60)),
        jobs: 8,
        outdir: outdir(name),
        minimize: true,
        // Shorter bounds on hangs: a knob's peer that never fails the
        // connection is given up on sooner (each shrinking step waits).
        timeout_scale: 0.3,
        stop_after_classes: Some(1),
    }
}

async fn fuzz(config: &FuzzConfig) -> Summary {
    campaign::run(config, Arc::new(AtomicBool::new(false)), &mut Silent)
        .await
        .expect("the campaign runs")
}

/// The knob is found, shrinks to at most `max_steps` steps of frames, and
/// the saved file replays to the same class, by the oracle and by the
/// catalog's verdict (FAILED).
async fn knob_is_found(knob: Knob, class: FindingClass, max_steps: usize) {
    found_in(
        config(vec![knob], 3000, &format!("{knob:?}")),
        knob,
        class,
        max_steps,
    )
    .await;
}

/// [`knob_is_found`] for the reference client.
async fn client_knob_is_found(knob: Knob, class: FindingClass, max_steps: usize) {
    let config = client_config(vec![knob], 3000, &format!("client-{knob:?}"));
    found_in(config, knob, class, max_steps).await;
}

async fn found_in(config: FuzzConfig, knob: Knob, class: FindingClass, max_steps: usize) {
    let harness = config.target.harness_role();
    let summary = fuzz(&config).await;
    let saved = summary
        .saved
        .iter()
        .find(|s| s.finding.class == class)
        .unwrap_or_else(|| {
            panic!(
                "{knob:?}: no {class} finding in {} executions: {:?}",
                summary.execs, summary.by_class
            )
        });
    assert!(
        saved.replayed,
        "{knob:?}: the minimized script did not replay to {class}"
    );
    let frames = saved
        .steps
        .iter()
        .filter(|s| !matches!(s, wsconform_cases::Step::Wait { .. }))
        .count();
    assert!(
        frames <= max_steps,
        "{knob:?}: {frames} steps after minimization: {:?}",
        saved.steps
    );
    // The case file reads back, and runs again to the same finding, judged
    // by the catalog's verdict path.
    let cases = casefile::load(&saved.path).expect("the reproducer reads back");
    assert_eq!(cases.len(), 1);
    let runner = Runner::start(&config.target, config.timeout_scale)
        .await
        .expect("reference starts");
    let outcome = runner.run(&cases[0]).await;
    let again = oracle::check(&cases[0], &outcome, harness).expect("the reproducer still finds it");
    assert_eq!(again.class, class, "{again}");
    let verdict = wsconform::verdict::judge(
        &cases[0],
        &outcome,
        &wsconform::verdict::Expectations::of(&cases[0]),
        harness,
    );
    assert_eq!(verdict.behavior, Behavior::Failed, "{verdict:?}");
    let _ = std::fs::remove_dir_all(&config.outdir);
}

#[tokio::test(flavor = "multi_thread")]
async fn reserved_bits_knob_is_found() {
    knob_is_found(Knob::AcceptReservedBits, FindingClass::AcceptedViolation, 2).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reserved_opcodes_knob_is_found() {
    knob_is_found(Knob::IgnoreReservedOpcodes, FindingClass::AcceptedViolation, 2).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn utf8_knob_is_found() {
    knob_is_found(Knob::NoUtf8Validation, FindingClass::AcceptedViolation, 2).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn close_code_knobs_are_found() {
    knob_is_found(Knob::AcceptAnyCloseCode, FindingClass::AcceptedViolation, 1).await;
    knob_is_found(Knob::WrongCloseCode, FindingClass::WrongCloseCode, 1).await;
    knob_is_found(Knob::InvalidCloseCode, FindingClass::InvalidFrame, 1).await;
    knob_is_found(Knob::InvalidCloseReason, FindingClass::InvalidFrame, 1).await;
    knob_is_found(Knob::LongClose, FindingClass::InvalidFrame, 1).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pong_close_and_masking_knobs_are_found() {
    knob_is_found(Knob::NeverPong, FindingClass::MissingPong, 1).await;
    knob_is_found(Knob::DropOnClose, FindingClass::UncleanClose, 1).await;
    knob_is_found(Knob::LaxMasking, FindingClass::AcceptedViolation, 2).await;
    knob_is_found(Knob::NonMinimalLength, FindingClass::InvalidFrame, 2).await;
    knob_is_found(Knob::WrongAccept, FindingClass::NoConnection, 1).await;
}

/// A few thousand scripts against the clean reference server: no finding
/// (the 10-minute runs are in docs/fuzz-findings.md).
#[tokio::test(flavor = "multi_thread")]
async fn clean_reference_gives_no_finding() {
    no_finding_in_all(config(Vec::new(), 2000, "clean"), "the clean reference").await;
}

/// Runs every script of `config` at the real timers (no early stop) and
/// asserts that `peer` gave no finding at all.
async fn no_finding_in_all(mut config: FuzzConfig, peer: &str) {
    config.stop_after_classes = None;
    config.timeout_scale = 1.0;
    let summary = fuzz(&config).await;
    assert_eq!(Some(summary.execs), config.iterations);
    assert!(
        summary.by_class.is_empty(),
        "findings on {peer}: {:?} {:?}",
        summary.by_class,
        summary
            .saved
            .iter()
            .map(|s| (&s.finding, &s.steps))
            .collect::<Vec<_>>()
    );
    let _ = std::fs::remove_dir_all(&config.outdir);
}

/// `wsconform server --case-file`: a saved finding runs beside the catalog
/// and fails the gate against the peer that has the bug, not against the
/// clean reference.
#[tokio::test(flavor = "multi_thread")]
async fn saved_finding_runs_beside_the_catalog() {
    use wsconform::session::{run_servers, Common, ServerRun};
    let config = config(vec![Knob::NeverPong], 3000, "beside");
    let summary = fuzz(&config).await;
    let saved = summary.saved.first().expect("never-pong is found");
    let cases = casefile::load_all(std::slice::from_ref(&saved.path)).expect("the reproducer reads back");
    for (knobs, fails) in [(vec![Knob::NeverPong], true), (Vec::new(), false)] {
        let run = ServerRun {
            knobs: Knobs::new(knobs),
            common: Common {
                selection: wsconform_cases::Selection {
                    include: vec!["1.1.1".into()],
                    exclude: Vec::new(),
                },
                extra_cases: cases.clone(),
                ..Common::default()
            },
            ..ServerRun::default()
        };
        let results = run_servers(&run, Arc::new(AtomicBool::new(false)), |_| {})
            .await
            .expect("the run completes");
        let ids: Vec<&str> = results.results.iter().map(|r| r.case.id.as_str()).collect();
        assert_eq!(ids, ["1.1.1", cases[0].id.as_str()]);
        let fuzz_case = &results.results[1];
        assert_eq!(
            fuzz_case.verdict.behavior == Behavior::Failed,
            fails,
            "{:?}",
            fuzz_case.verdict
        );
        assert_eq!(results.passed, !fails);
    }
    let _ = std::fs::remove_dir_all(&config.outdir);
}

// The client role: the same knobs, on the reference client, each found by
// the harness serving scripts as a server (frames unmasked, the client's
// masked: RFC 6455 §5.1).

#[tokio::test(flavor = "multi_thread")]
async fn client_frame_knobs_are_found() {
    client_knob_is_found(Knob::AcceptReservedBits, FindingClass::AcceptedViolation, 2).await;
    client_knob_is_found(Knob::IgnoreReservedOpcodes, FindingClass::AcceptedViolation, 2).await;
    client_knob_is_found(Knob::NoUtf8Validation, FindingClass::AcceptedViolation, 2).await;
    client_knob_is_found(Knob::LaxMasking, FindingClass::AcceptedViolation, 2).await;
    client_knob_is_found(Knob::NonMinimalLength, FindingClass::InvalidFrame, 2).await;
    client_knob_is_found(Knob::NeverPong, FindingClass::MissingPong, 1).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn client_close_knobs_are_found() {
    client_knob_is_found(Knob::AcceptAnyCloseCode, FindingClass::AcceptedViolation, 1).await;
    client_knob_is_found(Knob::WrongCloseCode, FindingClass::WrongCloseCode, 1).await;
    client_knob_is_found(Knob::InvalidCloseCode, FindingClass::InvalidFrame, 1).await;
    client_knob_is_found(Knob::InvalidCloseReason, FindingClass::InvalidFrame, 1).await;
    client_knob_is_found(Knob::LongClose, FindingClass::InvalidFrame, 1).await;
    client_knob_is_found(Knob::DropOnClose, FindingClass::UncleanClose, 1).await;
}

/// Scripts served to the clean reference client: no finding.
#[tokio::test(flavor = "multi_thread")]
async fn clean_reference_client_gives_no_finding() {
    no_finding_in_all(
        client_config(Vec::new(), 2000, "clean-client"),
        "the clean reference client",
    )
    .await;
}

/// A client that dies is a crash finding on the script it was running:
/// here a command that exits at once, restarted for every batch.
#[tokio::test(flavor = "multi_thread")]
async fn a_dying_client_is_a_crash() {
    let mut config = client_config(Vec::new(), 20, "crash");
    config.target = FuzzTarget::Client {
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        under_test: ClientUnderTest::Spawn("exit 3".into()),
    };
    config.jobs = 1;
    let summary = fuzz(&config).await;
    let saved = summary
        .saved
        .iter()
        .find(|s| s.finding.class == FindingClass::Crash)
        .unwrap_or_else(|| panic!("no crash: {:?}", summary.by_class));
    assert!(
        saved.finding.detail.contains("exit status: 3"),
        "{}",
        saved.finding
    );
    assert!(saved.replayed);
    let _ = std::fs::remove_dir_all(&config.outdir);
}

/// `wsconform client --case-file`: a finding saved against the reference
/// client runs beside the catalog and fails against the client that has
/// the bug, not against the clean one.
#[tokio::test(flavor = "multi_thread")]
async fn saved_client_finding_runs_beside_the_catalog() {
    use wsconform::session::{run_clients, ClientRun, Common};
    let config = client_config(vec![Knob::NeverPong], 3000, "client-beside");
    let summary = fuzz(&config).await;
    let saved = summary.saved.first().expect("never-pong is found");
    let cases = casefile::load_all(std::slice::from_ref(&saved.path)).expect("the reproducer reads back");
    for (knobs, fails) in [(vec![Knob::NeverPong], true), (Vec::new(), false)] {
        let run = ClientRun {
            client: ClientUnderTest::Reference(Knobs::new(knobs)),
            common: Common {
                selection: wsconform_cases::Selection {
                    include: vec!["1.1.1".into()],
                    exclude: Vec::new(),
                },
                extra_cases: cases.clone(),
                ..Common::default()
            },
            ..ClientRun::default()
        };
        let results = run_clients(&run, Arc::new(AtomicBool::new(false)))
            .await
            .expect("the run completes");
        let results = &results.runs[0];
        let ids: Vec<&str> = results.results.iter().map(|r| r.case.id.as_str()).collect();
        assert_eq!(ids, ["1.1.1", cases[0].id.as_str()]);
        let fuzz_case = &results.results[1];
        assert_eq!(
            fuzz_case.verdict.behavior == Behavior::Failed,
            fails,
            "{:?}",
            fuzz_case.verdict
        );
        assert_eq!(results.passed, !fails);
    }
    let _ = std::fs::remove_dir_all(&config.outdir);
}
