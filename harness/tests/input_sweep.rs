//! Every number the command line or a spec file takes, swept with values a
//! script, a typo or a hostile CI configuration might give: each is exit
//! code 2 with exactly one line on stderr and no panic — or, where the value
//! has a documented meaning (0 disables a spec timer, port 0 listens on any
//! free port), it is accepted and the run ends by itself.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;
use std::process::Output;

#[path = "common/cli.rs"]
mod cli_common;

use cli_common::{assert_usage_error, s, shown, tmpdir, wsconform};

/// Text values every numeric input is tried with.
const BAD: [&str; 7] = [
    "0",
    "-1",
    "1e300",
    "NaN",
    "inf",
    "-inf",
    "340282366920938463463374607431768211456",
];

/// A value that is not UTF-8 at all, with something numeric around it.
fn not_utf8(around: &str) -> OsString {
    let mut bytes = around.as_bytes().to_vec();
    bytes.extend_from_slice(b"1\xff\xfe");
    OsStr::from_bytes(&bytes).to_owned()
}

fn os(parts: &[&str]) -> Vec<OsString> {
    parts.iter().map(OsString::from).collect()
}

/// `args` with `value` appended, as one argument.
fn with(args: &[&str], value: impl Into<OsString>) -> Vec<OsString> {
    let mut all = os(args);
    all.push(value.into());
    all
}

/// The contract for a rejected value; `context` says which one.
fn rejected(out: &Output, context: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{context}: {}", shown(out));
    assert_eq!(stderr.lines().count(), 1, "{context}: one line, got {stderr}");
    assert!(!stderr.contains("panicked"), "{context}: {stderr}");
}

/// A value with a meaning: the run went ahead and ended by itself with a
/// verdict-based exit code (0 passed, 1 a case failed), never 2 or a panic.
fn accepted(out: &Output, context: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{context}: {}",
        shown(out)
    );
    assert!(!stderr.contains("panicked"), "{context}: {stderr}");
}

#[test]
fn numeric_flags() {
    // Each command line up to the value swept.
    let flags: [&[&str]; 8] = [
        &["server", "--jobs"],
        &["server", "--timeout-scale"],
        &["client", "--timeout-scale"],
        &["replay", "1.1.1", "--timeout-scale"],
        &["server", "--shard"],
        &["client", "--listen"],
        &["replay", "1.1.1", "--listen"],
        &["reference-server", "--listen"],
    ];
    for args in flags {
        for value in BAD {
            rejected(&wsconform(&with(args, value)), &format!("{args:?} {value}"));
            // Port 0 of an address is any free port (tried in
            // `boundary_values_are_accepted`).
            if args.last() == Some(&"--listen") && value != "0" {
                let addr = format!("127.0.0.1:{value}");
                rejected(
                    &wsconform(&with(args, addr.as_str())),
                    &format!("{args:?} {addr}"),
                );
            }
        }
        rejected(
            &wsconform(&with(args, not_utf8(""))),
            &format!("{args:?} <not UTF-8>"),
        );
    }
    for shard in [
        "0/4", "5/4", "-1/4", "1/0", "1/-1", "1e300/2", "NaN/2", "1/inf", "1/4/4", "/",
    ] {
        rejected(&wsconform(&os(&["server", "--shard", shard])), shard);
    }
    for bounds in [
        ["--jobs", "65"],
        ["--timeout-scale", "1000.5"],
        ["--timeout-scale", "0.001"],
    ] {
        assert_usage_error(&wsconform(&os(&["server", bounds[0], bounds[1]])), bounds[0]);
    }
    rejected(
        &wsconform(&with(&["server", "--agent"], not_utf8("a"))),
        "--agent <not UTF-8>",
    );
    rejected(
        &wsconform(&with(&["client", "--agent"], not_utf8("a"))),
        "--agent <not UTF-8>",
    );
    for agent in ["", "---", "a\nb", &"x".repeat(65)] {
        rejected(
            &wsconform(&os(&["server", "--agent", agent])),
            &format!("--agent {agent:?}"),
        );
    }
    rejected(
        &wsconform(&os(&["client", "--agent", "a b", "--agent", "a-b"])),
        "agents sharing report files",
    );
}

/// `wsconform fuzz`: its numbers, its address and its combinations of
/// targets are refused before anything runs.
#[test]
fn fuzz_flags() {
    for flag in ["--jobs", "--iterations", "--duration", "--listen"] {
        for value in BAD {
            rejected(
                &wsconform(&os(&["fuzz", flag, value])),
                &format!("fuzz {flag} {value}"),
            );
        }
        rejected(
            &wsconform(&with(&["fuzz", flag], not_utf8(""))),
            &format!("fuzz {flag} <not UTF-8>"),
        );
    }
    // 0 is a seed like any other; the rest of BAD is not.
    for value in BAD.iter().filter(|v| **v != "0") {
        rejected(
            &wsconform(&os(&["fuzz", "--seed", value])),
            &format!("fuzz --seed {value}"),
        );
    }
    for args in [
        &["fuzz", "--jobs", "65"][..],
        &["fuzz", "--duration", "31d"],
        &["fuzz", "--duration", "10x"],
        &["fuzz", "--listen", "127.0.0.1:99999"],
        &["fuzz", "--knob", "never-pong", "ws://127.0.0.1:1/"],
        &["fuzz", "--client", "ws://127.0.0.1:1/"],
        &["fuzz", "--client", "--spawn", "true"],
        &["fuzz", "--listen", "127.0.0.1:0", "ws://127.0.0.1:1/"],
        &["fuzz", "ws://127.0.0.1:port/"],
    ] {
        rejected(&wsconform(&os(args)), &format!("{args:?}"));
    }
}

#[test]
fn boundary_values_are_accepted() {
    let dir = tmpdir("sweep-bounds");
    let run = |extra: &[&str]| {
        let mut args = vec!["server", "--cases", "1.1.1", "--quiet", "--outdir", s(&dir)];
        args.extend_from_slice(extra);
        wsconform(&args)
    };
    accepted(&run(&["--jobs", "64"]), "--jobs 64");
    accepted(
        &run(&["--jobs", "1", "--timeout-scale", "1000"]),
        "--timeout-scale 1000",
    );
    accepted(&run(&["--timeout-scale", "0.01"]), "--timeout-scale 0.01");
    accepted(&run(&["--shard", "1/1"]), "--shard 1/1");
    // Port 0 for a listener: any free port (the client exits at once, so
    // its case is FAILED: exit 1).
    let out = wsconform(&os(&[
        "client",
        "--listen",
        "127.0.0.1:0",
        "--spawn",
        "true",
        "--cases",
        "1.1.1",
        "--quiet",
        "--outdir",
        s(&dir),
    ]));
    accepted(&out, "--listen 127.0.0.1:0");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn urls() {
    let mut bad: Vec<OsString> = BAD
        .iter()
        .map(|port| OsString::from(format!("ws://127.0.0.1:{port}/")))
        .collect();
    for url in [
        "ws://127.0.0.1:99999/",
        "ws://127.0.0.1:65536/",
        "wss://[::1]:70000/",
        "ws://127.0.0.1:port/",
        "ws://:9001/",
        "ws:///",
        "ws://",
        "ws://@:9001/",
        "",
        "127.0.0.1:9001",
        "http://127.0.0.1:9001/",
        "https://127.0.0.1:9001/",
        "ftp://127.0.0.1/",
        "wss//127.0.0.1/",
        "ws:/127.0.0.1/",
    ] {
        bad.push(url.into());
    }
    bad.push(not_utf8("ws://127.0.0.1:"));
    for url in &bad {
        let context = format!("{url:?}");
        for command in [&["server"][..], &["reference-client"], &["replay", "1.1.1"]] {
            let mut args = os(command);
            args.push(url.clone());
            rejected(&wsconform(&args), &format!("{command:?} {context}"));
        }
    }
}

/// A spec file with `text` at the value of `options.KEY`, etc.
fn spec_file(dir: &Path, name: &str, bytes: &[u8]) -> String {
    std::fs::create_dir_all(dir).expect("mkdir");
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("writes the spec");
    s(&path).to_string()
}

#[test]
fn spec_numbers() {
    let dir = tmpdir("sweep-spec");
    let outdir = dir.join("reports");
    let run_server = |spec: &str| {
        wsconform(&os(&[
            "server",
            "--spec",
            spec,
            "--cases",
            "1.1.1",
            "--quiet",
            "--outdir",
            s(&outdir),
        ]))
    };
    // JSON has no NaN or infinity: as JSON tokens they are a JSON error,
    // as strings a type error; both one line.
    let values: Vec<(String, Vec<u8>)> = BAD
        .iter()
        .flat_map(|v| {
            [
                (v.to_string(), v.as_bytes().to_vec()),
                (format!("{v:?}"), format!("{v:?}").into_bytes()),
            ]
        })
        .chain([
            ("1e400".to_string(), b"1e400".to_vec()),
            ("3600.001".to_string(), b"3600.001".to_vec()),
            ("1e-9".to_string(), b"1e-9".to_vec()),
            ("Infinity".to_string(), b"Infinity".to_vec()),
            ("null".to_string(), b"null".to_vec()),
            ("[]".to_string(), b"[]".to_vec()),
            ("<not UTF-8>".to_string(), b"\"1\xff\xfe\"".to_vec()),
        ])
        .collect();
    for key in [
        "openHandshakeTimeout",
        "closeHandshakeTimeout",
        "serverConnectionDropTimeout",
    ] {
        for (shown_value, bytes) in &values {
            let mut doc = format!("{{\"options\": {{\"{key}\": ").into_bytes();
            doc.extend_from_slice(bytes);
            doc.extend_from_slice(b"}}");
            let spec = spec_file(&dir, "spec.json", &doc);
            let out = run_server(&spec);
            let context = format!("options.{key} = {shown_value}");
            if shown_value == "0" {
                // Autobahn: 0 disables the timer. Accepted, and the run
                // ends (the case's deadline still bounds it).
                accepted(&out, &context);
            } else {
                rejected(&out, &context);
            }
        }
        // The bounds themselves are accepted.
        for ok in ["0.001", "3600", "2.5"] {
            let doc = format!("{{\"options\": {{\"{key}\": {ok}}}}}");
            accepted(
                &run_server(&spec_file(&dir, "spec.json", doc.as_bytes())),
                &format!("{key} = {ok}"),
            );
        }
        let doc = format!("{{\"options\": {{\"{key}\": 1e300}}}}");
        assert_usage_error(
            &run_server(&spec_file(&dir, "spec.json", doc.as_bytes())),
            &format!("options.{key} must be 0 (disabled) or from 0.001 to 3600 seconds, got 1e+300 seconds"),
        );
    }
    // Ports in a spec's URLs: the servers to test, and the address to listen on.
    let mut ports: Vec<String> = BAD.iter().map(|p| p.to_string()).collect();
    ports.extend(["99999", "65536", "x"].map(String::from));
    for port in &ports {
        let doc = serde_json::json!({"servers": [{"url": format!("ws://127.0.0.1:{port}/")}]});
        let spec = spec_file(&dir, "servers.json", doc.to_string().as_bytes());
        rejected(&run_server(&spec), &format!("servers[0].url port {port}"));
        let doc = serde_json::json!({"url": format!("ws://127.0.0.1:{port}")});
        let spec = spec_file(&dir, "listen.json", doc.to_string().as_bytes());
        let out = wsconform(&os(&[
            "client",
            "--spec",
            &spec,
            "--spawn",
            "true",
            "--cases",
            "1.1.1",
            "--quiet",
            "--outdir",
            s(&outdir),
        ]));
        if port == "0" {
            accepted(&out, "spec url port 0: any free port");
        } else {
            rejected(&out, &format!("url port {port}"));
        }
    }
    for (doc, needle) in [
        (
            serde_json::json!({"servers": [{"url": "ws://:9001/"}]}),
            "servers[0].url: malformed URL",
        ),
        (
            serde_json::json!({"servers": [{"url": "http://h/"}]}),
            "unsupported scheme",
        ),
        (
            serde_json::json!({"servers": [{"url": "ws://h/", "agent": "\n"}]}),
            "servers[0].agent",
        ),
        (
            serde_json::json!({"exclude-agent-cases": {"*": 5}}),
            "exclude-agent-cases[\"*\"] must be a list of strings",
        ),
        (
            serde_json::json!({"cases": "1.*"}),
            "cases must be a list of strings",
        ),
        (serde_json::json!({"options": []}), "options must be an object"),
    ] {
        let spec = spec_file(&dir, "shape.json", doc.to_string().as_bytes());
        assert_usage_error(&run_server(&spec), needle);
    }
    let _ = std::fs::remove_dir_all(dir);
}
