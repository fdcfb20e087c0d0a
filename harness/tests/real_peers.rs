//! wsconform against real, independently written servers and clients
//! installed by `scripts/install-peers.sh` (Node `ws`, Python `websockets`),
//! checked case for case against the real Autobahn|Testsuite's verdicts on
//! the same peers (`peers/expected/{server,client}/`). Differences that
//! timing can explain are listed with the reason in `tolerated.json` there.
//!
//! Needs the peers installed; runs when `WSCONFORM_REAL_PEERS=1` (as
//! `.ci/run` sets it) and says so loudly otherwise.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use common::{compare, expected_file, run_server, run_url, selection, server_run};
use serde_json::Value;
use wsconform::session::{run_clients, ClientRun, ClientUnderTest, ServerRun};
use wsconform::transport::{ServerTls, Trust};

struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn repo(path: &str) -> String {
    format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))
}

/// Starts a peer on an ephemeral loopback port; returns it and its URL.
fn start(program: &str, script: &str) -> (Peer, String) {
    start_with(program, script, None)
}

/// As [`start`]; with `tls`, the peer serves wss:// with its files.
fn start_with(program: &str, script: &str, tls: Option<&TlsFiles>) -> (Peer, String) {
    let mut command = Command::new(program);
    command.arg(repo(script)).arg("0").stdout(Stdio::piped());
    if let Some(tls) = tls {
        command.env("TLS_CERT", &tls.cert).env("TLS_KEY", &tls.key);
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("{program} {script}: {e} (run scripts/install-peers.sh)"));
    let stdout = child.stdout.take().expect("piped");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("reads the ready line");
    let addr = line
        .trim()
        .strip_prefix("listening ")
        .unwrap_or_else(|| panic!("unexpected line {line:?}"));
    let scheme = if tls.is_some() { "wss" } else { "ws" };
    (Peer(child), format!("{scheme}://{addr}/"))
}

/// A self-signed certificate and its key in PEM files, for peers that take
/// files; removed when dropped.
struct TlsFiles {
    dir: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl TlsFiles {
    fn new(name: &str) -> TlsFiles {
        let names = ["localhost", "127.0.0.1"].map(String::from).to_vec();
        let made = rcgen::generate_simple_self_signed(names).expect("rcgen");
        let dir = std::env::temp_dir().join(format!("wsconform-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert, made.cert.pem()).expect("writes");
        std::fs::write(&key, made.key_pair.serialize_pem()).expect("writes");
        TlsFiles { dir, cert, key }
    }
}

impl Drop for TlsFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A client's expected verdicts: Autobahn's (`client/AGENT.json`) and
/// wsconform's for the hs.client.* cases (`client/handshake/AGENT.json`).
fn expected_client(agent: &str) -> BTreeMap<String, Value> {
    let mut expected = expected_file(&format!("client/{agent}.json"));
    expected.extend(expected_file(&format!("client/handshake/{agent}.json")));
    expected
}

/// `expected` without category 9: over TLS the real peers run categories
/// 1–8 and 10 (9.x's large and many messages add nothing TLS-specific and
/// would double the test's time).
fn without_9(mut expected: BTreeMap<String, Value>) -> BTreeMap<String, Value> {
    expected.retain(|id, _| !id.starts_with("9."));
    expected
}

fn tolerated(role: &str, agent: &str) -> BTreeMap<String, Vec<String>> {
    let file = expected_file(&format!("{role}/tolerated.json"));
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

fn enabled() -> bool {
    let on = std::env::var("WSCONFORM_REAL_PEERS").is_ok_and(|v| v == "1");
    if !on {
        eprintln!("SKIPPED: set WSCONFORM_REAL_PEERS=1 after scripts/install-peers.sh to test real peers");
    }
    on
}

async fn check(agent: &str, program: &str, script: &str) {
    let (_peer, url) = start(program, script);
    let results = run_url(&url, agent, selection(&[], &["hs.*"])).await;
    let expected = expected_file(&format!("server/{agent}.json"));
    assert_eq!(results.results.len(), expected.len());
    let diffs = compare(&results.results, &expected, &tolerated("server", agent));
    assert!(
        diffs.is_empty(),
        "{agent}: differences from Autobahn:\n{}",
        diffs.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ws_server_matches_autobahn() {
    if enabled() {
        check("node-ws", "node", "peers/node/echo-server.js").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets_server_matches_autobahn() {
    if enabled() {
        check(
            "py-websockets",
            &repo("peers/python/.venv/bin/python"),
            "peers/python/echo_server.py",
        )
        .await;
    }
}

/// The opening-handshake cases, which Autobahn lacks: the verdicts are
/// wsconform's own, recorded in `peers/expected/server/handshake/` and
/// explained case by case in `docs/handshake-findings.md`.
async fn check_handshake(agent: &str, program: &str, script: &str) {
    let (_peer, url) = start(program, script);
    let results = run_url(&url, agent, selection(&["hs.*"], &[])).await;
    let expected = expected_file(&format!("server/handshake/{agent}.json"));
    assert_eq!(results.results.len(), expected.len());
    let diffs = compare(&results.results, &expected, &BTreeMap::new());
    assert!(
        diffs.is_empty(),
        "{agent}: handshake verdicts changed:\n{}",
        diffs.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ws_server_handshake_verdicts() {
    if enabled() {
        check_handshake("node-ws", "node", "peers/node/echo-server.js").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets_server_handshake_verdicts() {
    if enabled() {
        check_handshake(
            "py-websockets",
            &repo("peers/python/.venv/bin/python"),
            "peers/python/echo_server.py",
        )
        .await;
    }
}

/// wss:// against a real server: the verdicts of TCP (Autobahn's), over TLS.
async fn check_tls(agent: &str, program: &str, script: &str) {
    let files = TlsFiles::new(agent);
    let (_peer, url) = start_with(program, script, Some(&files));
    let results = run_server(ServerRun {
        url: Some(url),
        agent: Some(agent.to_string()),
        trust: Trust::RootsAnd(vec![files.cert.clone()]),
        ..server_run(selection(&[], &["hs.*", "9.*"]))
    })
    .await;
    assert!(results.target.starts_with("wss://"));
    let expected = without_9(expected_file(&format!("server/{agent}.json")));
    assert_eq!(results.results.len(), expected.len());
    let diffs = compare(&results.results, &expected, &tolerated("server", agent));
    assert!(
        diffs.is_empty(),
        "{agent} over TLS: differences from Autobahn over TCP:\n{}",
        diffs.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ws_server_over_tls() {
    if enabled() {
        check_tls("node-ws", "node", "peers/node/echo-server.js").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets_server_over_tls() {
    if enabled() {
        check_tls(
            "py-websockets",
            &repo("peers/python/.venv/bin/python"),
            "peers/python/echo_server.py",
        )
        .await;
    }
}

/// Runs a real client driver through wsconform's fuzzing server.
async fn check_client(agent: &str, command: String) {
    let run = ClientRun {
        client: ClientUnderTest::Spawn(command),
        agents: vec![agent.to_string()],
        ..ClientRun::default()
    };
    check_client_run(agent, run, expected_client(agent)).await;
}

/// Runs `run` (one real client) and compares it with `expected`.
async fn check_client_run(agent: &str, run: ClientRun, expected: BTreeMap<String, Value>) {
    let results = run_clients(&run, Arc::new(AtomicBool::new(false)))
        .await
        .expect("run completes");
    assert_eq!(results.runs.len(), 1, "{:?}", results.client_status);
    assert_eq!(results.runs[0].results.len(), expected.len());
    let diffs = compare(&results.runs[0].results, &expected, &tolerated("client", agent));
    assert!(
        diffs.is_empty(),
        "{agent} client: differences from Autobahn:\n{}",
        diffs.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ws_client_matches_autobahn() {
    if enabled() {
        check_client(
            "node-ws",
            format!("node {} {{url}} {{agent}}", repo("peers/node/client-driver.js")),
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets_client_matches_autobahn() {
    if enabled() {
        let command = format!(
            "{} {} {{url}} {{agent}}",
            repo("peers/python/.venv/bin/python"),
            repo("peers/python/client_driver.py")
        );
        check_client("py-websockets", command).await;
    }
}

/// A real client driver against the fuzzing server on wss://: `command`
/// gets `{ca}`, the PEM file of the harness's self-signed certificate.
async fn check_client_tls(agent: &str, command: &str) {
    let tls = ServerTls::self_signed().expect("rcgen");
    let files = TlsFiles::new(&format!("{agent}-client"));
    std::fs::write(&files.cert, &tls.cert_pem).expect("writes");
    let run = ClientRun {
        client: ClientUnderTest::Spawn(command.replace("{ca}", &files.cert.display().to_string())),
        agents: vec![agent.to_string()],
        tls: Some(tls),
        common: wsconform::session::Common {
            selection: selection(&[], &["9.*"]),
            ..Default::default()
        },
        ..ClientRun::default()
    };
    check_client_run(agent, run, without_9(expected_client(agent))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ws_client_over_tls() {
    if enabled() {
        let driver = repo("peers/node/client-driver.js");
        check_client_tls(
            "node-ws",
            &format!("NODE_EXTRA_CA_CERTS={{ca}} node {driver} {{url}} {{agent}}"),
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets_client_over_tls() {
    if enabled() {
        let command = format!(
            "SSL_CERT_FILE={{ca}} {} {} {{url}} {{agent}}",
            repo("peers/python/.venv/bin/python"),
            repo("peers/python/client_driver.py")
        );
        check_client_tls("py-websockets", &command).await;
    }
}

#[test]
fn tolerated_entries_name_real_cases() {
    for role in ["server", "client"] {
        let file = expected_file(&format!("{role}/tolerated.json"));
        for (agent, cases) in &file {
            let expected = expected_file(&format!("{role}/{agent}.json"));
            for id in cases.as_object().expect("map").keys() {
                assert!(
                    expected.contains_key(id),
                    "{role}/tolerated.json: {agent} {id} is not a case"
                );
            }
        }
    }
}
