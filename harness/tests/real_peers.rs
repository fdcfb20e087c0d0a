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
use std::process::{Child, Command, Stdio};

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use common::{compare, expected_file, run_url, selection};
use wsconform::session::{run_clients, ClientRun, ClientUnderTest};

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
    let mut child = Command::new(program)
        .arg(repo(script))
        .arg("0")
        .stdout(Stdio::piped())
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
    (Peer(child), format!("ws://{addr}/"))
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

/// Runs a real client driver through wsconform's fuzzing server.
async fn check_client(agent: &str, command: String) {
    let run = ClientRun {
        client: ClientUnderTest::Spawn(command),
        agents: vec![agent.to_string()],
        ..ClientRun::default()
    };
    let results = run_clients(&run, Arc::new(AtomicBool::new(false)))
        .await
        .expect("run completes");
    assert_eq!(results.runs.len(), 1, "{:?}", results.client_status);
    let expected = expected_file(&format!("client/{agent}.json"));
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
