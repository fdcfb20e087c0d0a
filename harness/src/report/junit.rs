//! JUnit XML, the format every CI system displays: one `<testsuite>` per run
//! (agent and role), one `<testcase>` per case, a `<failure>` for each case
//! the gate fails. Downstream projects used to write this converter
//! themselves for Autobahn's `index.json` (design §1).
//!
//! Rendered from the results.json document (see `view`), so a saved run
//! renders exactly as a live one.

use std::path::Path;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
use serde_json::Value;

use super::view::{events_line, Case, Doc, Run};
use super::{write_atomic, ReportError};
use crate::gate::Gate;

/// The JUnit XML for a results.json document under `gate`.
pub fn render_junit(doc: &Value, gate: &Gate) -> Result<String, ReportError> {
    let doc = Doc(doc);
    let mut report = Report::new("wsconform");
    report.add_test_suites(doc.runs().map(|run| suite(&doc, run, gate)));
    report.to_string().map_err(|e| ReportError::Io {
        path: "JUnit XML".into(),
        source: std::io::Error::other(e),
    })
}

/// Renders and writes the JUnit XML to `path` atomically.
pub fn write_junit(path: &Path, doc: &Value, gate: &Gate) -> Result<(), ReportError> {
    write_atomic(path, render_junit(doc, gate)?.as_bytes())
}

fn suite(doc: &Doc, run: Run, gate: &Gate) -> TestSuite {
    let mut suite = TestSuite::new(format!("{} ({} under test)", run.agent(), run.role()));
    suite.add_properties([
        Property::new("tool", doc.tool()),
        Property::new("peer_role", run.role()),
        Property::new("target", run.target()),
        Property::new("started", run.started()),
        Property::new("complete", run.complete_text()),
        Property::new("gate", gate.describe()),
    ]);
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(run.started()) {
        suite.set_timestamp(t);
    }
    let mut total = Duration::ZERO;
    for case in run.cases() {
        let tc = test_case(run.role(), case, gate);
        total += tc.time.unwrap_or_default();
        suite.add_test_case(tc);
    }
    suite.set_time(total);
    // An interrupted run lists only the cases that finished: without a
    // failing entry of its own, CI would show it green.
    if run.complete() == Some(false) {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        status
            .set_type("INCOMPLETE")
            .set_message("the run did not finish: cases that never ran are not listed");
        let mut tc = TestCase::new("run complete", status);
        tc.set_classname(format!("wsconform.{}", run.role()));
        suite.add_test_case(tc);
    }
    suite
}

fn test_case(role: &str, case: Case, gate: &Gate) -> TestCase {
    let status = if case.passes(gate) {
        TestCaseStatus::success()
    } else {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        status
            .set_type(format!("{}/{}", case.behavior(), case.behavior_close()))
            .set_message(failure_message(case))
            .set_description(details(case));
        status
    };
    let mut tc = TestCase::new(format!("{} {}", case.id(), case.short_description()), status);
    tc.set_classname(format!("wsconform.{role}.{}", case.category()));
    if let Some(ms) = case.duration_ms() {
        tc.set_time(Duration::from_millis(ms));
    }
    // Passing with reservations (NON-STRICT, INFORMATIONAL, UNIMPLEMENTED):
    // say why in the output CI shows next to the test.
    if case.passes(gate) && (case.behavior() != "OK" || case.behavior_close() != "OK") {
        tc.set_system_out(details(case));
    }
    tc
}

/// One line: the verdicts and Autobahn's sentences for the failing parts.
fn failure_message(case: Case) -> String {
    let mut parts = Vec::new();
    if case.behavior() != "OK" {
        parts.push(format!("behavior {}: {}", case.behavior(), case.result()));
    }
    if case.behavior_close() != "OK" {
        parts.push(format!(
            "behaviorClose {}: {}",
            case.behavior_close(),
            case.result_close()
        ));
    }
    if parts.is_empty() {
        // Only a stricter gate than Autobahn's can fail an OK/OK case.
        parts.push(format!("{}/{}", case.behavior(), case.behavior_close()));
    }
    parts.join("; ")
}

/// Expected against actual, for the body of a failure: every event list,
/// the events received, the close expected and the close record.
fn details(case: Case) -> String {
    // Enough for any event list in the catalog; a peer flooding echoes
    // (9.x) must not turn one failure into megabytes.
    const EVENTS: usize = 50;
    let mut out = format!(
        "{} {}\n{}\nexpectation: {}\n\n",
        case.id(),
        case.short_description(),
        case.rfc_line(),
        case.expectation()
    );
    if let Some(why) = case.setup_error() {
        out.push_str(&format!("setup error: {why}\n"));
    }
    out.push_str(&format!("behavior: {} ({})\n", case.behavior(), case.result()));
    let expected = case.expected();
    if expected.is_empty() {
        out.push_str("  expected: no event list (judged on its echoes)\n");
    }
    for (verdict, events) in expected {
        out.push_str(&format!(
            "  expected for {verdict}: {}\n",
            events_line(&events, EVENTS)
        ));
    }
    out.push_str(&format!(
        "  received: {}\n",
        events_line(&case.received(), EVENTS)
    ));
    out.push_str(&format!(
        "behaviorClose: {} ({})\n  expected close: {}\n  actual close: {}\n",
        case.behavior_close(),
        case.result_close(),
        case.expected_close_line(),
        case.actual_close_line()
    ));
    for note in case.notes() {
        out.push_str(&format!("note: {note}\n"));
    }
    out
}
