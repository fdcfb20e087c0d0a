//! `wsconform report matrix` from the command line: real runs of the
//! reference server (one passing, one with `--knob never-pong`) and the real
//! Autobahn's report on the same misbehaving server
//! (`fixtures/autobahn-never-pong/`), merged into one matrix; bad inputs;
//! and the page in headless Chromium, driven through its own controls over
//! the DevTools protocol (`scripts/cdp-evaluate.js`) when
//! `WSCONFORM_BROWSER_TESTS=1` and `/usr/bin/chromium` exist (as
//! `report_renderers.rs` gates its browser test).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use chromium::{browser_tests_enabled, CHROMIUM};
use serde_json::{json, Value};

#[path = "common/chromium.rs"]
mod chromium;
#[path = "common/cli.rs"]
mod cli_common;

use cli_common::{assert_exit, assert_usage_error, read_json, s, shown, tmpdir, wsconform};

/// The cases every run here covers: a framing, three ping and a close case
/// (Autobahn's, which the fixture also has), plus wsconform's own families
/// in the passing run.
const AUTOBAHN_CASES: &str = "1.1.1,2.1,2.2,2.3,7.1.1";

struct Runs {
    dir: PathBuf,
    /// The reference server, every case passing.
    good: PathBuf,
    /// The reference server with never-pong: 2.1–2.3 FAILED.
    bad: PathBuf,
    /// A copy of the real Autobahn's report on the never-pong server.
    autobahn: PathBuf,
}

fn runs() -> &'static Runs {
    static RUNS: OnceLock<Runs> = OnceLock::new();
    RUNS.get_or_init(|| {
        let dir = tmpdir("matrix-runs");
        let (good, bad, autobahn) = (dir.join("good"), dir.join("bad"), dir.join("autobahn"));
        let cases = format!("{AUTOBAHN_CASES},hs.server.standard,mask.server.*");
        let out = wsconform(&["server", "--quiet", "--cases", &cases, "--outdir", s(&good)]);
        assert_exit(&out, 0);
        let out = wsconform(&[
            "server",
            "--quiet",
            "--knob",
            "never-pong",
            "--cases",
            AUTOBAHN_CASES,
            "--outdir",
            s(&bad),
        ]);
        assert_exit(&out, 1);
        std::fs::create_dir_all(&autobahn).expect("creates folder");
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/autobahn-never-pong");
        for name in ["index.json", "wsconform_reference_case_1_1_1.json"] {
            std::fs::copy(fixture.join(name), autobahn.join(name)).expect("copies the fixture");
        }
        Runs {
            dir,
            good,
            bad,
            autobahn,
        }
    })
}

/// Runs `report matrix --out OUT ARGS…`, expecting success.
fn matrix(out: &Path, args: &[String]) -> std::process::Output {
    let mut all = vec![
        "report".to_string(),
        "matrix".into(),
        "--out".into(),
        s(out).into(),
    ];
    all.extend(args.iter().cloned());
    let st = wsconform(&all);
    assert_exit(&st, 0);
    st
}

/// The three inputs of the wsconform-against-Autobahn comparison.
fn comparison(r: &Runs) -> Vec<String> {
    vec![
        format!("good={}", s(&r.good)),
        format!("ref={}", s(&r.bad.join("results.json"))),
        format!("ref={}", s(&r.autobahn)),
    ]
}

fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

#[test]
fn runs_and_autobahn_side_by_side() {
    let r = runs();
    let out = r.dir.join("out/m1");
    let st = matrix(&out, &comparison(r));
    let stdout = String::from_utf8_lossy(&st.stdout);
    assert!(
        stdout.contains("matrix of 3 column(s) and 12 case(s)"),
        "{stdout}"
    );

    let md = std::fs::read_to_string(out.join("matrix.md")).expect("matrix.md");
    let v = version();
    for row in [
        "| implementation | role | tool | 1 | 2 | 7 | hs | mask | all |".to_string(),
        format!("| good | server | wsconform {v} | 1/1 | 3/3 | 1/1 | 1/1 | 6/6 | 12/12 |"),
        format!("| ref | server | wsconform {v} | 1/1 | 0/3 | 1/1 | – | – | 2/5 |"),
        "| ref | server | Autobahn | 1/1 | 0/3 | 1/1 | – | – | 2/5 |".to_string(),
        "| ref | server | 5 | 5 | 0 |".to_string(),
        "5 of 5 cases identical (behavior and behaviorClose)".to_string(),
        "| case | good | ref (wsconform) | ref (Autobahn) |".to_string(),
        "| 2.2 | OK | FAILED / OK | FAILED / OK |".to_string(),
    ] {
        assert!(md.lines().any(|l| l == row), "{row:?} in\n{md}");
    }
    assert!(
        !md.contains("| hs.server.standard |"),
        "not run is no difference:\n{md}"
    );

    let doc = read_json(out.join("matrix.json"));
    assert_eq!(doc["wsconform_matrix"], 1);
    let columns = doc["columns"].as_array().expect("columns");
    assert_eq!(columns.len(), 3);
    assert_eq!(columns[0]["report"], "../../good/index.html", "relative to --out");
    assert_eq!(columns[2]["tool"], "autobahn");
    assert_eq!(
        columns[2]["role"], "server",
        "read from the case report's isServer"
    );
    assert_eq!(
        columns[2]["report"],
        Value::Null,
        "no index.html beside the fixture"
    );
    assert_eq!(columns[1]["categories"]["2"], json!({"passed": 0, "total": 3}));
    let hs = doc["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .find(|c| c["id"] == "hs.server.standard")
        .expect("hs case");
    assert_eq!(hs["verdicts"], json!(["OK / OK", null, null]));
    let ping = doc["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .find(|c| c["id"] == "2.2")
        .expect("2.2");
    assert_eq!(
        ping["description"], "Send ping with small text payload.",
        "from results.json"
    );
    assert_eq!(hs["differs"], false);
    assert_eq!(
        doc["agreement"],
        json!([{"label": "ref", "role": "server", "wsconform": 1, "autobahn": 2,
                "compared": 5, "identical": 5, "only_one": 0, "differences": []}])
    );

    // The same inputs again: the same files but for the date line.
    let again = r.dir.join("out/m2");
    matrix(&again, &comparison(r));
    for name in ["matrix.md", "matrix.json", "index.html"] {
        let strip = |p: PathBuf| {
            let text = std::fs::read_to_string(&p).expect("reads");
            let dated = text.lines().filter(|l| l.contains("enerated")).count();
            assert_eq!(dated, 1, "one generated-at line in {name}");
            text.lines()
                .filter(|l| !l.contains("enerated"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(strip(out.join(name)), strip(again.join(name)), "{name}");
    }
}

#[test]
fn labels_and_roles() {
    let r = runs();
    // An index.json with two agents.
    let two = r.dir.join("two-agents");
    std::fs::create_dir_all(&two).expect("creates folder");
    let mut index = read_json(r.autobahn.join("index.json"));
    index["other"] = index["wsconform-reference"].clone();
    std::fs::write(two.join("index.json"), index.to_string()).expect("writes");
    std::fs::copy(
        r.autobahn.join("wsconform_reference_case_1_1_1.json"),
        two.join("wsconform_reference_case_1_1_1.json"),
    )
    .expect("copies");

    let out = r.dir.join("out/labels");
    let st = wsconform(&["report", "matrix", "--out", s(&out), &format!("x={}", s(&two))]);
    assert_usage_error(&st, "holds 2 agents (other, wsconform-reference)");
    assert!(!out.exists(), "nothing written on bad input");

    matrix(&out, &[s(&two).to_string()]);
    let doc = read_json(out.join("matrix.json"));
    let labels: Vec<&Value> = doc["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|c| &c["label"])
        .collect();
    assert_eq!(labels, [&json!("other"), &json!("wsconform-reference")]);

    // @client states the role of an index.json …
    matrix(&out, &[format!("@client={}", s(&two))]);
    let doc = read_json(out.join("matrix.json"));
    assert!(doc["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .all(|c| c["role"] == "client"));
    assert_eq!(doc["cases"][0]["role"], "client");
    // … and picks the runs of a results.json.
    let st = wsconform(&[
        "report",
        "matrix",
        "--out",
        s(&out),
        &format!("@client={}", s(&r.good)),
    ]);
    assert_usage_error(&st, "holds no run of a client under test");

    let st = wsconform(&[
        "report",
        "matrix",
        "--out",
        s(&out),
        &format!("same={}", s(&r.good)),
        &format!("same={}", s(&r.bad)),
    ]);
    assert_usage_error(&st, "two columns are same (server, judged by wsconform)");
}

#[test]
fn bad_inputs_are_one_line_and_exit_2() {
    let r = runs();
    let dir = r.dir.join("bad-inputs");
    std::fs::create_dir_all(&dir).expect("creates folder");
    let file = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("writes");
        s(&p).to_string()
    };
    let empty_dir = dir.join("empty");
    std::fs::create_dir_all(&empty_dir).expect("creates folder");
    let index = |agent: &str, entry: Value| json!({ agent: {"1.1.1": entry} }).to_string();
    let ok_entry = json!({"behavior": "OK", "behaviorClose": "OK", "duration": 1, "remoteCloseCode": 1000, "reportfile": null});
    let long_id = json!({"a": {"x".repeat(65): ok_entry}}).to_string();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec![s(&dir.join("missing.json")).into()], "cannot read"),
        (
            vec![s(&empty_dir).into()],
            "holds neither results.json nor index.json",
        ),
        (vec![file("text.json", "not json at all")], "is not JSON"),
        (
            vec![file("array.json", "[1, 2]")],
            "the top level is not a JSON object",
        ),
        (
            vec![file("scalar.json", "{\"a\": 5}")],
            "neither a wsconform results.json nor an Autobahn index.json",
        ),
        (
            vec![file(
                "baseline.json",
                "{\"wsconform_baseline\": 1, \"agents\": {}}",
            )],
            "neither a wsconform results.json nor an Autobahn index.json",
        ),
        (
            vec![file("future.json", "{\"schema_version\": 99, \"runs\": []}")],
            "schema_version 99 is not 1",
        ),
        (
            vec![format!(
                "@server={}",
                file(
                    "verdict.json",
                    &index("a", json!({"behavior": "PERFECT", "behaviorClose": "OK"}))
                )
            )],
            "unknown variant `PERFECT`",
        ),
        (
            vec![file("norole.json", &index("a", ok_entry.clone()))],
            "cannot tell the role of a",
        ),
        (
            vec![format!("@server={}", file("longid.json", &long_id))],
            "longer than 64 bytes",
        ),
        (vec!["=x".into()], "empty LABEL"),
        (
            vec!["x@proxy=y".into()],
            "the role after @ must be server or client",
        ),
        (
            vec!["--title".into(), "a\u{7}b".into(), s(&r.good).into()],
            "--title",
        ),
        // A link under the title: TEXT=PATH, PATH an existing file.
        (
            vec!["--see-also".into(), "agreement.md".into(), s(&r.good).into()],
            "TEXT=PATH",
        ),
        (
            vec![
                "--see-also".into(),
                format!("={}", file("doc.md", "# d")),
                s(&r.good).into(),
            ],
            "TEXT=PATH",
        ),
        (
            vec!["--see-also".into(), "a\u{7}b=x.md".into(), s(&r.good).into()],
            "control characters",
        ),
        (
            vec![
                "--see-also".into(),
                format!("doc={}", s(&dir.join("missing.md"))),
                s(&r.good).into(),
            ],
            "missing.md is not a file",
        ),
        (
            vec![
                "--see-also".into(),
                format!("doc={}", s(&empty_dir)),
                s(&r.good).into(),
            ],
            "is not a file",
        ),
    ];
    for (n, (args, needle)) in cases.into_iter().enumerate() {
        let out = dir.join(format!("out{n}"));
        let mut all = vec![
            "report".to_string(),
            "matrix".into(),
            "--out".into(),
            s(&out).into(),
        ];
        all.extend(args);
        let st = wsconform(&all);
        assert_usage_error(&st, needle);
        assert!(!out.exists(), "nothing written for {all:?}");
    }
    let st = wsconform(&["report", "matrix"]);
    assert_usage_error(&st, "INPUT");
}

/// `r`'s run as the one-line-per-case summary `scripts/compliance.sh`
/// commits (`id behavior behaviorClose`).
fn summary_of(run: &Path) -> String {
    let doc = read_json(run.join("results.json"));
    doc["runs"][0]["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| {
            format!(
                "{} {} {}\n",
                c["id"].as_str().expect("id"),
                c["verdict"]["behavior"].as_str().expect("behavior"),
                c["verdict"]["behavior_close"].as_str().expect("close")
            )
        })
        .collect()
}

#[test]
fn summaries_and_full_reports_where_they_exist() {
    let r = runs();
    let out = r.dir.join("out/summaries");
    for (label, run) in [("good", &r.good), ("bad", &r.bad)] {
        std::fs::create_dir_all(out.join(label)).expect("creates folder");
        std::fs::write(out.join(label).join("server.txt"), summary_of(run)).expect("writes");
    }
    // Only good's full report is published with the matrix.
    std::fs::create_dir_all(out.join("runs/good/server")).expect("creates folder");
    std::fs::copy(r.good.join("index.html"), out.join("runs/good/server/index.html")).expect("copies");
    let inputs = |pattern: bool| {
        let mut args: Vec<String> = Vec::new();
        if pattern {
            args.extend(["--full-reports".into(), "runs/{label}/{role}/index.html".into()]);
        }
        args.push(format!("good@server={}", s(&out.join("good/server.txt"))));
        args.push(format!("bad@server={}", s(&out.join("bad/server.txt"))));
        args.push(format!("run={}", s(&r.good)));
        args
    };

    matrix(&out, &inputs(true));
    let doc = read_json(out.join("matrix.json"));
    let columns = doc["columns"].as_array().expect("columns");
    let field = |key: &str| columns.iter().map(|c| c[key].clone()).collect::<Vec<_>>();
    assert_eq!(
        field("source"),
        [
            json!("good/server.txt"),
            json!("bad/server.txt"),
            json!("../../good/results.json")
        ]
    );
    assert_eq!(
        field("report"),
        [
            json!("runs/good/server/index.html"),
            Value::Null,
            json!("../../good/index.html")
        ],
        "the pattern's file where it exists; a results.json's own report beside it"
    );
    assert_eq!(
        field("tool_version"),
        [Value::Null, Value::Null, json!(version())],
        "a summary has none"
    );
    assert_eq!(
        (columns[0]["passed"].clone(), columns[0]["categories"].clone()),
        (columns[2]["passed"].clone(), columns[2]["categories"].clone()),
        "the summary of a run counts as the run"
    );
    assert_eq!(columns[1]["categories"]["2"], json!({"passed": 0, "total": 3}));
    let page = std::fs::read_to_string(out.join("index.html")).expect("index.html");
    assert!(page.contains("<td><a href=\"good/server.txt\">server.txt</a></td><td><a href=\"runs/good/server/index.html\">report</a></td>"), "{page}");
    assert!(page.contains("<td><a href=\"bad/server.txt\">server.txt</a></td><td class=\"note\">none</td>"));

    // Without the pattern only reports beside the inputs are linked.
    matrix(&out, &inputs(false));
    let doc = read_json(out.join("matrix.json"));
    assert_eq!(doc["columns"][0]["report"], Value::Null);
    assert_eq!(doc["columns"][2]["report"], "../../good/index.html");

    let bad = r.dir.join("out/summaries-bad");
    let broken = out.join("broken.txt");
    std::fs::write(&broken, "1.1.1 OK OK\n2.1 FAILED\n").expect("writes");
    let summary = s(&out.join("good/server.txt")).to_string();
    for (args, needle) in [
        (
            vec![summary.clone()],
            "is a summary (.txt), which names neither implementation nor role",
        ),
        (vec![format!("x={summary}")], "write LABEL@ROLE="),
        (
            vec![format!("x@server={}", s(&broken))],
            "line 2 is not \"id behavior behaviorClose\"",
        ),
        (
            vec![
                "--full-reports".into(),
                "../{label}.html".into(),
                format!("x@server={summary}"),
            ],
            "--full-reports \"../{label}.html\": must be a relative path",
        ),
        (
            vec![
                "--full-reports".into(),
                "{agent}.html".into(),
                format!("x@server={summary}"),
            ],
            "the only placeholders are {label} and {role}",
        ),
    ] {
        let mut all = vec![
            "report".to_string(),
            "matrix".into(),
            "--out".into(),
            s(&bad).into(),
        ];
        all.extend(args);
        assert_usage_error(&wsconform(&all), needle);
        assert!(!bad.exists(), "nothing written for {all:?}");
    }
}

#[test]
fn help_documents_the_input_syntax() {
    let st = wsconform(&["report", "matrix", "--help"]);
    assert_exit(&st, 0);
    let help = String::from_utf8_lossy(&st.stdout);
    for needle in [
        "[LABEL][@ROLE]=PATH",
        "N of M cases identical (behavior and behaviorClose)",
        "matrix.md",
        "--out",
    ] {
        assert!(help.contains(needle), "{needle:?} in {help}");
    }
}

// ---------------------------------------------------------------------------
// In a real browser, through the page's own controls.

/// Headless Chromium on a page, killed when dropped.
struct Browser {
    child: Child,
    port: String,
    profile: PathBuf,
}

impl Browser {
    /// Opens `page` with the DevTools protocol on a free port. Only file://
    /// is loaded: every host name resolves to nothing.
    fn open(page: &Path, profile: PathBuf) -> Browser {
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile).expect("creates profile");
        let child = Command::new(CHROMIUM)
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
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(format!("file://{}", page.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starts chromium");
        let mut browser = Browser {
            child,
            port: String::new(),
            profile,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while browser.port.is_empty() {
            assert!(
                Instant::now() < deadline,
                "chromium opened no DevTools port within 60 s"
            );
            let text =
                std::fs::read_to_string(browser.profile.join("DevToolsActivePort")).unwrap_or_default();
            browser.port = text.lines().next().unwrap_or_default().to_string();
            std::thread::sleep(Duration::from_millis(100));
        }
        browser
    }

    /// Evaluates `expression` (which returns a JSON string) in the page.
    fn eval(&self, expression: &str) -> Value {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/cdp-evaluate.js");
        let mut child = Command::new("node")
            .args(["--experimental-websocket", "--no-warnings"])
            .arg(script)
            .args([&self.port, expression])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("runs node (the tests install it with chromium)");
        let deadline = Instant::now() + Duration::from_secs(60);
        while child.try_wait().expect("polls node").is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("cdp-evaluate.js did not finish within 60 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = child.wait_with_output().expect("node's output");
        assert!(out.status.success(), "cdp-evaluate.js: {}", shown(&out));
        let reply: Value = serde_json::from_slice(&out.stdout).expect("cdp-evaluate.js prints JSON");
        let text = reply["result"]["value"]
            .as_str()
            .unwrap_or_else(|| panic!("a string result: {reply}"));
        serde_json::from_str(text).expect("the expression returns JSON")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// A file:// URL's path, percent-decoded.
fn file_path(url: &str) -> PathBuf {
    let path = url
        .strip_prefix("file://")
        .unwrap_or_else(|| panic!("{url} is a file URL"));
    let path = path.split(['#', '?']).next().unwrap_or_default();
    let bytes = path.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("ascii");
            out.push(u8::from_str_radix(hex, 16).expect("hex escape"));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    PathBuf::from(String::from_utf8(out).expect("UTF-8 path"))
}

const VISIBLE_CASES: &str = "Array.from(document.querySelectorAll('table.cases tbody tr'))\
    .filter(function (tr) { return !tr.hidden && !tr.closest('section').hidden; })\
    .map(function (tr) { return tr.cells[0].textContent; })";

#[test]
fn matrix_page_in_headless_chromium() {
    if !browser_tests_enabled("the matrix page") {
        return;
    }
    let r = runs();
    let out = r.dir.join("out/page");
    // No =, / or @ in a label; still markup if it were not escaped.
    let evil = "<img src onerror> &amp; \"'";
    let mut inputs = comparison(r);
    // The good run once more under a hostile label, and the Autobahn report
    // under good's label: a comparison with differences to link to.
    inputs.push(format!("{evil}={}", s(&r.good)));
    inputs.push(format!("good@server={}", s(&r.autobahn)));
    matrix(&out, &inputs);
    let browser = Browser::open(&out.join("index.html"), r.dir.join("profile"));

    // It renders: the matrix as matrix.json has it, every case, the filters.
    let page = browser.eval(&format!(
        "JSON.stringify({{\
           rows: Array.from(document.querySelectorAll('#matrix tbody tr')).map(function (tr) {{\
             return Array.from(tr.cells).map(function (td) {{ return td.textContent; }}); }}),\
           cases: {VISIBLE_CASES},\
           filters: !document.getElementById('filters').hidden,\
           shown: document.getElementById('shown').textContent,\
           images: document.images.length,\
           scripts: document.scripts.length,\
           options: Array.from(document.querySelectorAll('#f-impl option')).map(function (o) {{ return o.textContent; }})\
         }})"
    ));
    let v = version();
    assert_eq!(
        page["rows"],
        json!([
            [
                "good",
                "server",
                format!("wsconform {v}"),
                "1/1",
                "3/3",
                "1/1",
                "1/1",
                "6/6",
                "12/12",
                "results.json",
                "report"
            ],
            [
                "ref",
                "server",
                format!("wsconform {v}"),
                "1/1",
                "0/3",
                "1/1",
                "–",
                "–",
                "2/5",
                "results.json",
                "report"
            ],
            [
                "ref",
                "server",
                "Autobahn",
                "1/1",
                "0/3",
                "1/1",
                "–",
                "–",
                "2/5",
                "index.json",
                "none"
            ],
            [
                evil,
                "server",
                format!("wsconform {v}"),
                "1/1",
                "3/3",
                "1/1",
                "1/1",
                "6/6",
                "12/12",
                "results.json",
                "report"
            ],
            [
                "good",
                "server",
                "Autobahn",
                "1/1",
                "0/3",
                "1/1",
                "–",
                "–",
                "2/5",
                "index.json",
                "none"
            ],
        ])
    );
    let all = page["cases"].as_array().expect("cases").len();
    assert_eq!(all, 12, "{page}");
    assert_eq!(page["filters"], true, "the script shows the filters");
    assert_eq!(page["shown"], "12 of 12 cases");
    assert_eq!(page["images"], 0, "the hostile label made no element");
    assert_eq!(page["scripts"], 1);
    assert_eq!(page["options"], json!(["all", "good", "ref", evil]));

    // The filters, set through the page's controls.
    let filtered = browser.eval(&format!(
        "(function () {{\
           function set(id, value) {{\
             var f = document.getElementById(id); f.value = value;\
             f.dispatchEvent(new Event('change')); }}\
           var out = {{}};\
           set('f-cat', '2'); out.cat2 = {VISIBLE_CASES};\
           out.hiddenMatrixCells = document.querySelectorAll('#matrix td[data-cat]:not([hidden])').length;\
           set('f-cat', ''); set('f-verdict', 'fails'); out.fails = {VISIBLE_CASES};\
           set('f-verdict', 'differs'); out.differs = {VISIBLE_CASES};\
           set('f-impl', 'ref'); set('f-verdict', 'passes'); out.refPasses = {VISIBLE_CASES};\
           out.matrixRows = document.querySelectorAll('#matrix tbody tr:not([hidden])').length;\
           set('f-impl', ''); set('f-verdict', ''); set('f-role', 'server'); out.servers = {VISIBLE_CASES}.length;\
           out.roles = Array.from(document.querySelectorAll('#f-role option')).map(function (o) {{ return o.value; }});\
           set('f-cat', 'mask');\
           out.shown = document.getElementById('shown').textContent;\
           return JSON.stringify(out); }})()"
    ));
    assert_eq!(filtered["cat2"], json!(["2.1", "2.2", "2.3"]));
    assert_eq!(
        filtered["hiddenMatrixCells"], 5,
        "one category cell per matrix row"
    );
    assert_eq!(filtered["fails"], json!(["2.1", "2.2", "2.3"]));
    assert_eq!(filtered["differs"], json!(["2.1", "2.2", "2.3"]));
    assert_eq!(
        filtered["refPasses"],
        json!(["1.1.1", "7.1.1"]),
        "ref ran 5, passed 2"
    );
    assert_eq!(filtered["matrixRows"], 2, "ref's two columns");
    assert_eq!(filtered["servers"], 12);
    assert_eq!(
        filtered["roles"],
        json!(["", "server"]),
        "only the roles that have columns"
    );
    assert_eq!(filtered["shown"], "6 of 12 cases", "the mask family");

    // Every link resolves: files relative to the page, fragments to rows.
    let links = browser.eval(
        "JSON.stringify(Array.from(document.querySelectorAll('a[href]')).map(function (a) {\
           var raw = a.getAttribute('href');\
           return [raw, a.href, raw.charAt(0) === '#' ? !!document.getElementById(decodeURIComponent(raw.slice(1))) : null];\
         }).concat(Array.from(document.querySelectorAll('td[data-go]')).slice(0, 3).map(function (td) {\
           return [td.dataset.go, new URL(td.dataset.go, location.href).href, null]; })))",
    );
    let links = links.as_array().expect("links");
    let (mut files, mut fragments, mut views) = (0, 0, 0);
    for link in links {
        let raw = link[0].as_str().expect("href");
        assert!(!raw.contains(':'), "relative, no scheme: {raw}");
        if raw.starts_with('#') && raw.contains('=') {
            views += 1;
        } else if raw.starts_with('#') {
            assert_eq!(link[2], true, "{raw} names an element of the page");
            fragments += 1;
        } else {
            let path = file_path(link[1].as_str().expect("resolved"));
            assert!(path.is_file(), "{raw} → {} exists", path.display());
            files += 1;
        }
    }
    assert_eq!(
        files,
        5 + 3 + 3,
        "every column's input, the report links of the three wsconform columns, and three cells"
    );
    assert_eq!(fragments, 3, "good's three differences with Autobahn");
    assert_eq!(
        views,
        5 + 3 + 3 + 5 + 3,
        "one per matrix cell of a category the column ran"
    );

    // A matrix cell's link shows its cases: ref's failing pings.
    let clicked = browser.eval(
        "(function () { var a = document.querySelectorAll('#matrix tbody tr')[1].cells[4].querySelector('a');\
           a.click(); return JSON.stringify(a.getAttribute('href')); })()",
    );
    assert_eq!(clicked, "#cat=2&impl=ref&role=server&verdict=fails");
    let view = browser.eval(&format!(
        "JSON.stringify({{cases: {VISIBLE_CASES}, cat: document.getElementById('f-cat').value,\
           impl: document.getElementById('f-impl').value}})"
    ));
    assert_eq!(
        view,
        json!({"cases": ["2.1", "2.2", "2.3"], "cat": "2", "impl": "ref"})
    );
}

// ---------------------------------------------------------------------------
// The committed reports/index.html, as a reader of the repository opens it.

/// The repository's `reports/`.
fn reports_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../reports")
        .canonicalize()
        .expect("reports/ exists")
}

/// The gate's default rule (docs/verdict-rules.md), written out here so the
/// page's counts are checked against something the page did not compute.
fn passes(behavior: &str, close: &str) -> bool {
    ["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED"].contains(&behavior)
        && ["OK", "INFORMATIONAL"].contains(&close)
}

/// The matrix rows the committed page must have, from the committed data
/// alone: every implementation of the panel (peers/panel/panel.json) in each
/// role it has a summary for (`reports/ID/ROLE.txt`), in panel order, with
/// `passed/total` counted from that summary.
fn committed_rows() -> Vec<(String, String, String)> {
    let reports = reports_dir();
    let panel = read_json(reports.join("../peers/panel/panel.json"));
    let mut rows = Vec::new();
    for implementation in panel["implementations"].as_array().expect("implementations") {
        let id = implementation["id"].as_str().expect("id");
        for role in ["server", "client"] {
            let Ok(summary) = std::fs::read_to_string(reports.join(id).join(format!("{role}.txt"))) else {
                continue;
            };
            let verdicts: Vec<Vec<&str>> = summary
                .lines()
                .filter(|l| !l.is_empty())
                .map(|l| l.splitn(3, ' ').collect())
                .collect();
            let passed = verdicts.iter().filter(|v| passes(v[1], v[2])).count();
            rows.push((
                id.to_string(),
                role.to_string(),
                format!("{passed}/{}", verdicts.len()),
            ));
        }
    }
    rows
}

#[test]
fn committed_page_in_headless_chromium() {
    if !browser_tests_enabled("the committed reports/index.html") {
        return;
    }
    let reports = reports_dir();
    let repo = reports.parent().expect("the repository").to_path_buf();
    let expected = committed_rows();
    assert!(
        expected.len() >= 2,
        "the panel has committed summaries: {expected:?}"
    );
    let doc = read_json(reports.join("matrix.json"));
    let cases = doc["cases"].as_array().expect("matrix.json cases");
    let browser = Browser::open(&reports.join("index.html"), tmpdir("committed-page-profile"));

    // It renders: one matrix row per implementation and role, counted as
    // the summaries count, each linking its summary.
    let page = browser.eval(
        "JSON.stringify(Array.from(document.querySelectorAll('#matrix tbody tr')).map(function (tr) {\
           var c = tr.cells, n = c.length;\
           return [c[0].textContent, c[1].textContent, c[n - 3].textContent, c[n - 2].textContent]; }))",
    );
    let want: Vec<Value> = expected
        .iter()
        .map(|(id, role, all)| json!([id, role, all, format!("{role}.txt")]))
        .collect();
    assert_eq!(page, json!(want), "the matrix rows");

    // The filters, through the page's own controls, against matrix.json's
    // cases and the gate's rule.
    let failing = cases
        .iter()
        .filter(|c| {
            c["verdicts"].as_array().expect("verdicts").iter().any(|v| {
                v.as_str().is_some_and(|v| {
                    let (b, close) = v.split_once(" / ").expect("behavior / behaviorClose");
                    !passes(b, close)
                })
            })
        })
        .count();
    let of_role = |role: &str| cases.iter().filter(|c| c["role"] == role).count();
    let hs = cases.iter().filter(|c| c["category"] == "hs").count();
    let first = &expected[0].0;
    let filtered = browser.eval(&format!(
        "(function () {{\
           function set(id, value) {{\
             var f = document.getElementById(id); f.value = value;\
             f.dispatchEvent(new Event(id === 'f-text' ? 'input' : 'change')); }}\
           function rows() {{ return Array.from(document.querySelectorAll('#matrix tbody tr:not([hidden])'))\
             .map(function (tr) {{ return tr.dataset.impl + ' ' + tr.dataset.role; }}); }}\
           var out = {{all: {VISIBLE_CASES}.length}};\
           set('f-impl', {first:?}); out.impl = rows();\
           set('f-impl', ''); set('f-role', 'client'); out.clientRows = rows().length;\
           out.clientCases = {VISIBLE_CASES}.length;\
           set('f-role', ''); set('f-cat', 'hs'); out.hs = {VISIBLE_CASES};\
           out.hsCells = Array.from(document.querySelectorAll('#matrix td[data-cat]:not([hidden])'))\
             .every(function (td) {{ return td.dataset.cat === 'hs'; }});\
           set('f-cat', ''); set('f-verdict', 'fails'); out.fails = {VISIBLE_CASES}.length;\
           set('f-verdict', 'passes'); out.passes = {VISIBLE_CASES}.length;\
           set('f-verdict', ''); set('f-text', '7.1.'); out.text = {VISIBLE_CASES};\
           out.shown = document.getElementById('shown').textContent;\
           set('f-text', ''); out.reset = {VISIBLE_CASES}.length;\
           return JSON.stringify(out); }})()"
    ));
    let total = cases.len();
    assert_eq!(filtered["all"], total, "every case of matrix.json: {filtered}");
    let first_rows: Vec<String> = expected
        .iter()
        .filter(|(id, _, _)| id == first)
        .map(|(id, role, _)| format!("{id} {role}"))
        .collect();
    assert_eq!(filtered["impl"], json!(first_rows), "one implementation's rows");
    assert_eq!(
        filtered["clientRows"],
        expected.iter().filter(|(_, role, _)| role == "client").count()
    );
    assert_eq!(filtered["clientCases"], of_role("client"));
    let hs_shown = filtered["hs"].as_array().expect("hs cases");
    assert!(hs > 0 && hs_shown.len() == hs, "{hs} hs cases: {hs_shown:?}");
    assert!(hs_shown
        .iter()
        .all(|id| id.as_str().is_some_and(|id| id.starts_with("hs."))));
    assert_eq!(filtered["hsCells"], true, "the matrix shows only the hs column");
    assert!(failing > 0, "the panel has failures");
    assert_eq!(filtered["fails"], failing, "cases failing in some column");
    assert_eq!(filtered["passes"], total - failing);
    let text = filtered["text"].as_array().expect("text filter");
    assert!(
        !text.is_empty()
            && text
                .iter()
                .all(|id| id.as_str().is_some_and(|id| id.starts_with("7.1."))),
        "{text:?}"
    );
    assert_eq!(filtered["shown"], format!("{} of {total} cases", text.len()));
    assert_eq!(filtered["reset"], total);

    // Every link resolves: committed files in the repository, fragments to
    // elements, filter views to options the page has; the few external
    // links are https URLs.
    let links = browser.eval(
        "JSON.stringify(Array.from(document.querySelectorAll('a[href]')).map(function (a) {\
           var raw = a.getAttribute('href'), ok = null;\
           if (raw.charAt(0) === '#' && raw.indexOf('=') >= 0) {\
             var p = new URLSearchParams(raw.slice(1));\
             ok = ['cat', 'impl', 'role', 'verdict'].every(function (k) {\
               return !p.has(k) || Array.from(document.getElementById('f-' + k).options)\
                 .some(function (o) { return o.value === p.get(k); }); });\
           } else if (raw.charAt(0) === '#') {\
             ok = !!document.getElementById(decodeURIComponent(raw.slice(1)));\
           }\
           return [raw, a.href, ok];\
         }).concat(Array.from(document.querySelectorAll('td[data-go]')).map(function (td) {\
           return [td.dataset.go, new URL(td.dataset.go, location.href).href, null]; })))",
    );
    let (mut files, mut summaries) = (0, 0);
    for link in links.as_array().expect("links") {
        let raw = link[0].as_str().expect("href");
        if raw.starts_with('#') {
            assert_eq!(link[2], true, "{raw} resolves in the page");
        } else if raw.contains(':') {
            let rest = raw
                .strip_prefix("https://")
                .unwrap_or_else(|| panic!("{raw}: only https"));
            let host = rest.split('/').next().unwrap_or_default();
            assert!(
                host.contains('.') && !raw.contains(char::is_whitespace),
                "{raw} is an https URL with a host"
            );
        } else {
            let path = file_path(link[1].as_str().expect("resolved"));
            assert!(path.is_file(), "{raw} → {} exists", path.display());
            let path = path.canonicalize().expect("canonical");
            assert!(path.starts_with(&repo), "{raw} stays in the repository");
            assert!(
                !path.starts_with(reports.join("runs")),
                "{raw}: reports/runs/ is not committed"
            );
            files += 1;
            summaries += usize::from(path.extension().is_some_and(|e| e == "txt"));
        }
    }
    assert_eq!(summaries, expected.len(), "each row links its summary");
    assert!(files >= summaries);

    // The panel's agreement with Autobahn is one click from the matrix
    // (a link checked above like every other).
    let see_also = browser.eval(
        "JSON.stringify(Array.from(document.querySelectorAll('header nav.see-also a'))\
           .map(function (a) { return a.getAttribute('href'); }))",
    );
    assert_eq!(see_also, json!(["agreement.md"]), "linked under the title");
}
