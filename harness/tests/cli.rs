//! The command line's contract: exit codes, one-line errors, report files.

use std::process::{Command, Output};

fn wsconform(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wsconform"))
        .args(args)
        .output()
        .expect("runs")
}

fn tmpdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("wsconform-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn assert_usage_error(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains(needle), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
}

#[test]
fn bad_input_is_a_one_line_error_with_exit_2() {
    assert_usage_error(
        &wsconform(&["server", "http://127.0.0.1:1/"]),
        "unsupported scheme",
    );
    assert_usage_error(&wsconform(&["server", "ws://"]), "malformed URL");
    assert_usage_error(&wsconform(&["server", "--cases", "99.9"]), "unknown case id");
    assert_usage_error(&wsconform(&["server", "--jobs", "0"]), "--jobs");
    assert_usage_error(&wsconform(&["server", "--timeout-scale", "0"]), "--timeout-scale");
    assert_usage_error(
        &wsconform(&["server", "--outdir", "/proc/wsconform"]),
        "not writable",
    );
    assert_usage_error(&wsconform(&["show", "1.2.3.4"]), "unknown case id");
    assert_usage_error(&wsconform(&["server", "--frobnicate"]), "unexpected argument");
    let refused = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let port = refused.local_addr().expect("addr").port();
    drop(refused);
    assert_usage_error(
        &wsconform(&["server", &format!("ws://127.0.0.1:{port}/")]),
        "cannot reach",
    );
}

#[test]
fn passing_run_exits_0_and_writes_reports() {
    let dir = tmpdir("pass");
    let out = wsconform(&[
        "server",
        "--cases",
        "2.*,7.1.*",
        "--outdir",
        dir.to_str().expect("utf8"),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).expect("index")).expect("json");
    let cases = index["wsconform-reference"].as_object().expect("agent");
    assert_eq!(cases.len(), 17);
    assert_eq!(cases["2.1"]["reportfile"], "wsconform_reference_case_2_1.json");
    let case: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("wsconform_reference_case_2_1.json")).expect("case"))
            .expect("json");
    assert_eq!(case["behavior"], "OK");
    assert_eq!(case["received"], serde_json::json!([["pong", ""]]));
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("results.json")).expect("results")).expect("json");
    assert_eq!(results["schema_version"], 1);
    assert_eq!(results["runs"][0]["complete"], true);
    assert_eq!(results["runs"][0]["cases"].as_array().expect("cases").len(), 17);
    std::fs::remove_dir_all(dir).expect("cleans");
}

#[test]
fn conformance_failure_exits_1() {
    let dir = tmpdir("fail");
    let out = wsconform(&[
        "server",
        "--cases",
        "2.2",
        "--knob",
        "never-pong",
        "--outdir",
        dir.to_str().expect("utf8"),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("✗ 2.2 [FAILED / OK]"), "{stdout}");
    std::fs::remove_dir_all(dir).expect("cleans");
}

#[test]
fn list_and_show() {
    let out = wsconform(&["list", "--cases", "6.4.*"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 4);
    let out = wsconform(&["show", "5.19"]);
    let case: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(case["id"], "5.19");
    assert_eq!(case["rfc"]["level"], "MUST");
}

#[test]
fn client_role_exit_codes_and_reports() {
    let dir = tmpdir("client");
    let out = wsconform(&[
        "client",
        "--cases",
        "2.*",
        "--outdir",
        dir.to_str().expect("utf8"),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).expect("index")).expect("json");
    assert_eq!(
        index["wsconform-reference-client"]
            .as_object()
            .expect("agent")
            .len(),
        11
    );
    let case: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("wsconform_reference_client_case_2_1.json")).expect("case"),
    )
    .expect("json");
    assert_eq!(case["isServer"], true);
    let out = wsconform(&[
        "client",
        "--cases",
        "2.2",
        "--knob",
        "never-pong",
        "--outdir",
        dir.to_str().expect("utf8"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    // A client that dies at once: every case FAILED, and the report says why.
    let out = wsconform(&[
        "client",
        "--cases",
        "2.2",
        "--spawn",
        "exit 3",
        "--outdir",
        dir.to_str().expect("utf8"),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("exit status: 3"), "{stdout}");
    let out = wsconform(&["client", "--spawn", "true", "--knob", "never-pong"]);
    assert_usage_error(&out, "--knob");
    std::fs::remove_dir_all(dir).expect("cleans");
}
