//! The JUnit, Markdown and HTML renderers over real `results.json` documents:
//! a full run of the reference server with `never-pong` (13 failing cases),
//! a short run with `wrong-close-code` (close failures), and documents that
//! are broken or hostile on purpose.
//!
//! The JUnit output is read back with roxmltree, a parser sharing no code
//! with quick-junit. The HTML is loaded in headless Chromium when
//! `WSCONFORM_BROWSER_TESTS=1` and `/usr/bin/chromium` exist (Debian's
//! `chromium` package); the test says loudly when it skips.

#[path = "common/chromium.rs"]
mod chromium;
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use chromium::{browser_tests_enabled, CHROMIUM};
use serde_json::{json, Value};
use wsconform::gate::Gate;
use wsconform::reference::Knob;
use wsconform::report::results::{self, RunInfo};
use wsconform::report::{html, junit, markdown};

/// A scratch folder for this test binary.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wsconform-renderers-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("creates scratch folder");
    dir
}

/// Runs the reference server with `knob` over `include` (Autobahn's 301
/// cases of 1-10 when empty) and returns the results.json document the run writes.
fn run_document(knob: Knob, include: &[&str], name: &str) -> Value {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let run = runtime.block_on(common::run_reference(
        [knob],
        common::selection(include, &["hs.*", "mask.*", "pmd.*", "12.*", "13.*"]),
    ));
    let info = RunInfo {
        agent: run.agent.clone(),
        peer_role: run.peer_role,
        target: run.target.clone(),
        started: run.started,
        complete: run.complete,
    };
    let dir = scratch(name);
    results::write(&dir, &[(info, run.results.as_slice())]).expect("writes results.json");
    let text = std::fs::read_to_string(dir.join("results.json")).expect("reads results.json");
    std::fs::remove_dir_all(&dir).expect("removes scratch folder");
    serde_json::from_str(&text).expect("results.json parses")
}

/// Every case, 13 failing because the server never answers pings.
fn never_pong() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| run_document(Knob::NeverPong, &[], "never-pong"))
}

/// A few cases failing on the peer's close code.
fn wrong_close_code() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| run_document(Knob::WrongCloseCode, &["1.1.1", "7.1.1"], "wrong-close"))
}

fn cases(doc: &Value) -> &[Value] {
    doc["runs"][0]["cases"].as_array().expect("cases")
}

/// The gate, spelled out here rather than asking `Gate`, so the renderers'
/// failure counts are checked against an independent reading.
fn fails_default_gate(case: &Value) -> bool {
    let b = case["verdict"]["behavior"].as_str().unwrap_or_default();
    let c = case["verdict"]["behavior_close"].as_str().unwrap_or_default();
    !(["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED"].contains(&b)
        && ["OK", "INFORMATIONAL"].contains(&c))
}

fn failing_ids(doc: &Value) -> Vec<String> {
    cases(doc)
        .iter()
        .filter(|c| fails_default_gate(c))
        .map(|c| c["id"].as_str().expect("id").to_string())
        .collect()
}

fn case<'a>(doc: &'a Value, id: &str) -> &'a Value {
    cases(doc)
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("case {id} in the document"))
}

fn attr<'a>(node: roxmltree::Node<'a, '_>, name: &str) -> &'a str {
    node.attribute(name)
        .unwrap_or_else(|| panic!("<{}> has {name}", node.tag_name().name()))
}

#[test]
fn junit_lists_every_case_and_explains_failures() {
    let doc = never_pong();
    let xml = junit::render_junit(doc, &Gate::default()).expect("renders");
    let tree = roxmltree::Document::parse(&xml).expect("JUnit is well-formed XML");
    let suites: Vec<_> = tree
        .descendants()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 1, "one suite per run");
    let suite = suites[0];
    let failing = failing_ids(doc);
    assert_eq!(failing.len(), 13, "never-pong fails the pong cases: {failing:?}");
    assert_eq!(attr(suite, "tests"), "301");
    assert_eq!(attr(suite, "failures"), "13");
    assert!(attr(suite, "name").contains("server under test"));

    let testcases: Vec<_> = suite.children().filter(|n| n.has_tag_name("testcase")).collect();
    assert_eq!(testcases.len(), 301);
    let mut failed_names = Vec::new();
    for (tc, c) in testcases.iter().zip(cases(doc)) {
        let id = c["id"].as_str().expect("id");
        let name = attr(*tc, "name");
        assert!(name.starts_with(&format!("{id} ")), "{name} names case {id}");
        let category = id.split('.').next().expect("category");
        assert_eq!(attr(*tc, "classname"), format!("wsconform.server.{category}"));
        let time: f64 = attr(*tc, "time").parse().expect("time is a number");
        let ms = c["outcome"]["duration_ms"].as_f64().expect("duration");
        assert!((time * 1000.0 - ms).abs() < 1.0, "{id}: time {time} for {ms} ms");
        if tc.children().any(|n| n.has_tag_name("failure")) {
            failed_names.push(id.to_string());
        }
    }
    assert_eq!(failed_names, failing);

    let ping = testcases
        .iter()
        .find(|tc| attr(**tc, "name").starts_with("2.2 "))
        .expect("case 2.2");
    assert_eq!(attr(*ping, "name"), "2.2 Send ping with small text payload.");
    let failure = ping
        .children()
        .find(|n| n.has_tag_name("failure"))
        .expect("2.2 fails without pongs");
    assert_eq!(attr(failure, "type"), "FAILED/OK");
    assert!(attr(failure, "message").contains("Actual events differ from any expected"));
    let body = failure.text().expect("failure body");
    assert!(
        body.contains("expected for OK: pong \"Hello, world!\"") && body.contains("received: nothing"),
        "expected vs actual events in:\n{body}"
    );
    assert!(body.contains("RFC 6455 §5.5.3 (MUST)"), "{body}");
    assert!(
        body.contains("expected close:") && body.contains("actual close:"),
        "{body}"
    );
}

#[test]
fn junit_shows_close_codes_of_close_failures() {
    let doc = wrong_close_code();
    let failing = failing_ids(doc);
    assert!(!failing.is_empty(), "wrong-close-code fails some of 1.1.1, 7.1.1");
    let xml = junit::render_junit(doc, &Gate::default()).expect("renders");
    let tree = roxmltree::Document::parse(&xml).expect("well-formed");
    let failures: Vec<_> = tree.descendants().filter(|n| n.has_tag_name("failure")).collect();
    assert_eq!(failures.len(), failing.len());
    let f = failures[0];
    assert_eq!(attr(f, "type"), "OK/WRONG CODE");
    let body = f.text().expect("body");
    assert!(
        body.contains("peer's close code 1000 or none") && body.contains("peer sent 1011"),
        "expected close codes vs the peer's in:\n{body}"
    );
}

#[test]
fn junit_follows_the_gate_and_flags_incomplete_runs() {
    let mut doc = never_pong().clone();
    let strict = Gate {
        strict: true,
        ..Gate::default()
    };
    let non_strict = cases(&doc)
        .iter()
        .filter(|c| c["verdict"]["behavior"] == "NON-STRICT")
        .count();
    assert!(non_strict > 0);
    let count = |doc: &Value, gate: &Gate, what: &str| {
        let xml = junit::render_junit(doc, gate).expect("renders");
        let tree = roxmltree::Document::parse(&xml).expect("well-formed");
        tree.descendants().filter(|n| n.has_tag_name(what)).count()
    };
    assert_eq!(count(&doc, &strict, "failure"), 13 + non_strict);

    doc["runs"][0]["complete"] = json!(false);
    assert_eq!(count(&doc, &Gate::default(), "testcase"), 302);
    assert_eq!(count(&doc, &Gate::default(), "failure"), 14);
}

#[test]
fn markdown_summarises_counts_and_failing_cases() {
    let doc = never_pong();
    let md = markdown::render_markdown(doc, &Gate::default());
    let lines: Vec<&str> = md.lines().collect();
    assert!(
        lines[0]
            .starts_with("## wsconform: wsconform-reference (server under test): ❌ 13 of 301 cases fail"),
        "{}",
        lines[0]
    );
    assert!(lines.contains(&"| verdict | behavior | behaviorClose |"));
    let ok = cases(doc)
        .iter()
        .filter(|c| c["verdict"]["behavior"] == "OK")
        .count();
    let ok_close = cases(doc)
        .iter()
        .filter(|c| c["verdict"]["behavior_close"] == "OK")
        .count();
    assert!(
        lines.contains(&format!("| OK | {ok} | {ok_close} |").as_str()),
        "{md}"
    );
    assert!(lines.contains(&"| FAILED | 13 | 0 |"), "{md}");
    assert!(lines.contains(&"### Failing cases (13)"));

    let header = lines
        .iter()
        .position(|l| l.starts_with("| case |"))
        .expect("failing table");
    let rows: Vec<&str> = lines[header + 2..]
        .iter()
        .take_while(|l| l.starts_with('|'))
        .copied()
        .collect();
    let ids: Vec<String> = rows
        .iter()
        .map(|r| {
            r.split(" | ")
                .next()
                .unwrap_or_default()
                .trim_start_matches("| ")
                .replace('\\', "")
        })
        .collect();
    assert_eq!(ids, failing_ids(doc));
    for row in &rows {
        let cells = row.replace("\\|", "").matches('|').count();
        assert_eq!(cells, 6, "five cells in {row}");
    }
    let ping = rows.iter().find(|r| r.starts_with("| 2.2 |")).expect("2.2 row");
    assert!(
        ping.contains("| FAILED | OK | RFC 6455 §5.5.3 (MUST) | expected OK: pong \"Hello, world!\" · received nothing |"),
        "{ping}"
    );
}

#[test]
fn markdown_of_a_passing_run_has_no_failure_table() {
    let mut doc = never_pong().clone();
    let passing: Vec<Value> = cases(&doc)
        .iter()
        .filter(|c| !fails_default_gate(c))
        .cloned()
        .collect();
    doc["runs"][0]["cases"] = Value::Array(passing);
    let md = markdown::render_markdown(&doc, &Gate::default());
    assert!(
        md.starts_with("## wsconform: wsconform-reference (server under test): ✅ all 288 cases pass"),
        "{md}"
    );
    assert!(!md.contains("Failing cases"));
}

/// Documents with missing, mistyped and nonsensical fields.
fn odd_documents() -> Vec<Value> {
    vec![
        json!(null),
        json!({}),
        json!({"runs": 5, "tool": "x"}),
        json!({"runs": [{}, 7, null]}),
        json!({"runs": [{"agent": 1, "complete": "yes", "cases": [
            {},
            null,
            {"id": 5, "verdict": {"behavior": 5, "behavior_close": null}, "rfc": "x"},
            {"id": "1.1.1", "expected": {"OK": 3, "X": [{"event": "message"}, 4]},
             "expected_close": {"closeCode": "1000"},
             "outcome": {"received": [{"event": "pong", "payload": {"head": {"base64": "!!"}}}],
                         "remote_close": {"code": "x", "reason": 5},
                         "echoes": [null],
                         "duration_ms": -3,
                         "wirelog": [{}, 3, {"kind": "tx_frame", "payload": 7, "opcode": "x"},
                                     {"kind": "rx_octets", "head": {"hex": "zz"}, "len": "big"},
                                     {"kind": "timer"}, {"kind": "timer_fired", "tag": 5}]}}
        ]}]}),
    ]
}

#[test]
fn odd_documents_render_question_marks_without_panicking() {
    let gate = Gate::default();
    for doc in odd_documents() {
        let xml = junit::render_junit(&doc, &gate).expect("renders");
        roxmltree::Document::parse(&xml).expect("well-formed even for odd input");
        let md = markdown::render_markdown(&doc, &gate);
        let page = html::render_html(&doc, &gate);
        assert!(page.contains("</html>"));
        if doc["runs"].as_array().is_some_and(|r| !r.is_empty()) {
            assert!(md.contains('?'), "unknowns shown as ? in:\n{md}");
        }
    }
}

/// A document whose every peer- or file-controlled text tries to inject
/// markup.
fn hostile_document() -> Value {
    let mut doc = never_pong().clone();
    let run = &mut doc["runs"][0];
    run["agent"] = json!("<i>agent</i>");
    run["target"] = json!("ws://x/\"><img src=x onerror=alert(0)>");
    run["cases"] = json!([case(never_pong(), "2.2").clone()]);
    let c = &mut run["cases"][0];
    c["description"] =
        json!("Send <b>bold</b> ping.<br><script>alert(1)</script><img src=x onerror=alert(2)> & more");
    c["outcome"]["remote_close"] =
        json!({"code": 1000, "reason": {"text": "</script><script>alert(3)</script>"}});
    c["outcome"]["received"] = json!([{"event": "message", "binary": false,
        "payload": {"len": 30, "sha1": "00", "head": {"text": "<img src=y onerror=alert(4)>|`*"}}}]);
    c["outcome"]["wirelog"][0]["payload"]["head"] = json!({"text": "</script><!--<img src=z>"});
    doc
}

#[test]
fn hostile_texts_stay_text() {
    let doc = hostile_document();
    let gate = Gate::default();

    let page = html::render_html(&doc, &gate);
    assert_eq!(
        page.matches("<script").count(),
        2,
        "only the report's own scripts"
    );
    assert_eq!(page.matches("</script>").count(), 2);
    assert!(!page.contains("<img") && !page.contains("<i>agent") && !page.contains("<!--"));
    assert!(page.contains("&lt;i&gt;agent&lt;/i&gt;"));
    // The description keeps <b> and <br> (inside the JSON blob, escaped as \u003c).
    assert!(page.contains("\\u003cb\\u003ebold\\u003c/b\\u003e ping.\\u003cbr\\u003e\\u0026lt;script"));

    let md = markdown::render_markdown(&doc, &gate);
    assert!(
        !md.contains("<img") && !md.contains("<script") && !md.contains("<i>"),
        "{md}"
    );

    let xml = junit::render_junit(&doc, &gate).expect("renders");
    let tree = roxmltree::Document::parse(&xml).expect("well-formed");
    let body = tree
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .and_then(|n| n.text())
        .expect("failure body");
    assert!(body.contains("\"</script><script>alert(3)</script>\""), "{body}");
    assert!(body.contains("<img src=y onerror=alert(4)>"), "{body}");
}

#[test]
fn html_stays_small_for_a_full_run() {
    let page = html::render_html(never_pong(), &Gate::default());
    let size = page.len();
    eprintln!("HTML report for 301 cases: {size} bytes");
    assert!(size < 5 * 1024 * 1024, "{size} bytes");
    assert!(!page.contains("http://") && !page.contains("https://") && !page.contains("src="));
}

// ---------------------------------------------------------------------------
// In a real browser.

/// Runs headless Chromium on `url` with `extra` flags and returns its
/// stdout. Only file:// is loaded: every host name resolves to nothing.
fn chromium(url: &str, extra: &[&str], profile: &str) -> String {
    let profile = scratch(profile);
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-dev-shm-usage",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--virtual-time-budget=2000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts chromium");
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut out).map(|_| out)
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if child.try_wait().expect("polls chromium").is_some() {
            break;
        }
        if Instant::now() > deadline {
            child.kill().expect("kills chromium");
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = std::fs::remove_dir_all(&profile);
    reader
        .join()
        .expect("reader thread")
        .expect("chromium's stdout is UTF-8")
}

/// The opening tags of the case rows in a DOM dump.
fn case_row_tags(dom: &str) -> Vec<&str> {
    dom.split("<tr class=\"case")
        .skip(1)
        .map(|rest| rest.split('>').next().unwrap_or_default())
        .collect()
}

fn file_url(path: &Path, fragment: &str) -> String {
    format!("file://{}#{fragment}", path.display())
}

#[test]
fn html_renders_in_headless_chromium() {
    if !browser_tests_enabled("the HTML report") {
        return;
    }
    let doc = never_pong();
    let dir = scratch("html");
    let page = dir.join("report.html");
    html::write_html(&page, doc, &Gate::default()).expect("writes report.html");

    // The table and a case's detail, opened by the fragment.
    let dom = chromium(&file_url(&page, "case=2.2"), &["--dump-dom"], "profile-a");
    let rows = case_row_tags(&dom);
    assert_eq!(rows.len(), 301, "every case is a row");
    assert_eq!(rows.iter().filter(|tag| tag.contains("failing")).count(), 13);
    assert!(dom.contains("301 of 301 cases"));
    assert_eq!(
        dom.matches("class=\"detail\"").count(),
        2,
        "one detail row and box"
    );
    let entries = case(doc, "2.2")["outcome"]["wirelog"]
        .as_array()
        .expect("wirelog")
        .len();
    assert_eq!(dom.matches("<tr class=\"wire-row").count(), entries);
    assert!(
        dom.contains("<td class=\"p\">\"Hello, world!\"</td>"),
        "ping payload row"
    );
    assert!(dom.contains("<td>9 ping</td>") && dom.contains("Expected close"));

    // Filters from the fragment: failing cases of category 2 only.
    let dom = chromium(
        &file_url(&page, "verdict=failing&cat=2"),
        &["--dump-dom"],
        "profile-b",
    );
    let shown: Vec<&str> = case_row_tags(&dom)
        .into_iter()
        .filter(|tag| !tag.contains("hidden"))
        .collect();
    let failing_2 = failing_ids(doc).iter().filter(|id| id.starts_with("2.")).count();
    assert_eq!(shown.len(), failing_2, "only failing 2.x rows shown");
    assert!(shown.iter().all(|tag| tag.contains("failing")));
    assert!(
        dom.contains(&format!("{failing_2} of 301 cases")),
        "filter count shown"
    );

    // Hostile texts render as text: no injected element, <b> kept.
    let hostile = dir.join("hostile.html");
    html::write_html(&hostile, &hostile_document(), &Gate::default()).expect("writes");
    let dom = chromium(&file_url(&hostile, "case=2.2"), &["--dump-dom"], "profile-c");
    assert!(
        !dom.contains("<img") && !dom.contains("<i>agent"),
        "nothing injected"
    );
    assert!(
        dom.contains("Send <b>bold</b> ping.<br>&lt;script&gt;"),
        "description markup"
    );
    assert!(dom.contains("alert(3)"), "the reason is shown, as text");

    // A screenshot of the failing pong cases with one detail open, for
    // people to look at (docs/report-screenshot.png).
    let shot = dir.join("report.png");
    chromium(
        &file_url(&page, "verdict=failing&cat=2&case=2.2"),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1400,1000",
            "--hide-scrollbars",
        ],
        "profile-d",
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "a real screenshot"
    );
    if let Ok(keep) = std::env::var("WSCONFORM_SCREENSHOT") {
        std::fs::copy(&shot, keep).expect("copies the screenshot");
    }
    std::fs::remove_dir_all(&dir).expect("removes scratch folder");
}
