//! wsconform against real, independently written servers and clients
//! installed by `scripts/install-peers.sh` (Node `ws`, Python `websockets`),
//! checked case for case against the real Autobahn|Testsuite's verdicts on
//! the same peers (`peers/expected/{server,client}/`). Differences that
//! timing can explain are listed with the reason in `tolerated.json` there.
//! The same runs over TLS must give the same verdicts.
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

use common::{compare, expected_file, run_server, selection, server_run};
use serde_json::Value;
use wsconform::runner::CaseResult;
use wsconform::session::{run_clients, ClientRun, ClientUnderTest, Common, ServerRun};
use wsconform::transport::{ServerTls, Trust};
use wsconform_cases::Selection;

/// A real WebSocket library: its echo server and its client driver.
#[derive(Debug, Clone, Copy)]
enum Library {
    NodeWs,
    PyWebsockets,
}

impl Library {
    /// The agent name its expected verdicts are filed under.
    fn agent(self) -> &'static str {
        match self {
            Library::NodeWs => "node-ws",
            Library::PyWebsockets => "py-websockets",
        }
    }

    fn program(self) -> String {
        match self {
            Library::NodeWs => "node".into(),
            Library::PyWebsockets => repo("peers/python/.venv/bin/python"),
        }
    }

    fn script(self, role: &str) -> String {
        match (self, role) {
            (Library::NodeWs, "server") => repo("peers/node/echo-server.js"),
            (Library::NodeWs, _) => repo("peers/node/client-driver.js"),
            (Library::PyWebsockets, "server") => repo("peers/python/echo_server.py"),
            (Library::PyWebsockets, _) => repo("peers/python/client_driver.py"),
        }
    }

    /// The environment variable through which its client trusts a
    /// certificate file.
    fn ca_variable(self) -> &'static str {
        match self {
            Library::NodeWs => "NODE_EXTRA_CA_CERTS",
            Library::PyWebsockets => "SSL_CERT_FILE",
        }
    }
}

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

/// Starts `lib`'s echo server on an ephemeral loopback port; with `tls`, on
/// wss:// with those files. Returns it and its URL. The `ws` server runs
/// with permessage-deflate on (`WS_PERMESSAGE_DEFLATE=1`, as Autobahn's
/// 12.x/13.x were recorded; 1–10 never offer it, so nothing else changes).
fn start_server(lib: Library, tls: Option<&TlsFiles>) -> (Peer, String) {
    let mut command = Command::new(lib.program());
    command.arg(lib.script("server")).arg("0").stdout(Stdio::piped());
    command.env("WS_PERMESSAGE_DEFLATE", "1");
    if let Some(tls) = tls {
        command.env("TLS_CERT", &tls.cert).env("TLS_KEY", &tls.key);
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("{lib:?}: {e} (run scripts/install-peers.sh)"));
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
        // One folder per instance: tests of one library run side by side in
        // this process, and each removes its folder when it ends.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("wsconform-{name}-{}-{n}", std::process::id()));
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

fn tolerated(role: &str, agent: &str) -> BTreeMap<String, Vec<String>> {
    common::tolerated(&format!("{role}/tolerated.json"), agent)
}

fn enabled() -> bool {
    let on = std::env::var("WSCONFORM_REAL_PEERS").is_ok_and(|v| v == "1");
    if !on {
        eprintln!("SKIPPED: set WSCONFORM_REAL_PEERS=1 after scripts/install-peers.sh to test real peers");
    }
    on
}

/// Which cases a check runs, and the verdicts expected of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Categories 1–10 (Autobahn's verdicts; clients: and hs.client.* and
    /// mask.client.*, wsconform's, recorded in
    /// `peers/expected/client/{handshake,mask}/`).
    All,
    /// As `All` without category 9: over TLS (9.x's large and many
    /// messages add nothing TLS-specific and would double the time).
    No9,
    /// Servers: the hs.server.* and mask.server.* cases, which Autobahn
    /// lacks; wsconform's verdicts, recorded in
    /// `peers/expected/server/{handshake,mask}/` (the handshake ones
    /// explained in `docs/handshake-findings.md`).
    Handshake,
    /// permessage-deflate, 12.x/13.x (Autobahn's verdicts, recorded in
    /// `peers/expected/{server,client}/deflate/`): a sample
    /// (`common::DEFLATE_SAMPLE`), or all 216 with `WSCONFORM_DEFLATE_FULL=1`
    /// (`scripts/deflate-agreement.sh`).
    Deflate,
}

fn deflate_full() -> bool {
    std::env::var("WSCONFORM_DEFLATE_FULL").is_ok_and(|v| v == "1")
}

impl Part {
    fn selection(self, role: &str) -> Selection {
        match (self, role) {
            (Part::Handshake, _) => selection(&["hs.*", "mask.*"], &[]),
            (Part::Deflate, _) if deflate_full() => selection(&["12.*", "13.*"], &[]),
            (Part::Deflate, _) => selection(common::DEFLATE_SAMPLE, &[]),
            (Part::All, "server") => selection(&[], &["hs.*", "mask.*", "pmd.*", "12.*", "13.*"]),
            (Part::No9, "server") => selection(&[], &["hs.*", "mask.*", "pmd.*", "9.*", "12.*", "13.*"]),
            // pmd.* on real peers: no recorded expectations (findings in README's pmd section).
            (Part::All, _) => selection(&[], &["pmd.*", "12.*", "13.*"]),
            (Part::No9, _) => selection(&[], &["pmd.*", "9.*", "12.*", "13.*"]),
        }
    }

    fn expected(self, role: &str, agent: &str) -> BTreeMap<String, Value> {
        let own = || {
            let mut own = expected_file(&format!("{role}/handshake/{agent}.json"));
            own.extend(expected_file(&format!("{role}/mask/{agent}.json")));
            own
        };
        if self == Part::Handshake {
            return own();
        }
        if self == Part::Deflate {
            let mut all = expected_file(&format!("{role}/deflate/{agent}.json"));
            if !deflate_full() {
                all.retain(|id, _| common::DEFLATE_SAMPLE.contains(&id.as_str()));
            }
            return all;
        }
        let mut expected = expected_file(&format!("{role}/{agent}.json"));
        if role == "client" {
            expected.extend(own());
        }
        if self == Part::No9 {
            expected.retain(|id, _| !id.starts_with("9."));
        }
        expected
    }
}

/// Asserts that `results` are the expected verdicts of `part`.
fn assert_verdicts(lib: Library, role: &str, part: Part, results: &[CaseResult]) {
    let agent = lib.agent();
    let expected = part.expected(role, agent);
    let tolerated = match part {
        Part::Handshake | Part::Deflate => BTreeMap::new(),
        _ => tolerated(role, agent),
    };
    assert_eq!(results.len(), expected.len(), "{agent} {role} {part:?}");
    let diffs = compare(results, &expected, &tolerated);
    assert!(
        diffs.is_empty(),
        "{agent} {role} {part:?}: differences from the expected verdicts:\n{}",
        diffs.join("\n")
    );
}

/// Runs `part` against `lib`'s server, over TLS when `tls`.
async fn check_server(lib: Library, part: Part, tls: bool) {
    let files = tls.then(|| TlsFiles::new(lib.agent()));
    let (_peer, url) = start_server(lib, files.as_ref());
    let results = run_server(ServerRun {
        url: Some(url),
        agent: Some(lib.agent().to_string()),
        trust: files
            .as_ref()
            .map_or_else(Trust::default, |f| Trust::RootsAnd(vec![f.cert.clone()])),
        ..server_run(part.selection("server"))
    })
    .await;
    assert_eq!(results.target.starts_with("wss://"), tls);
    assert_verdicts(lib, "server", part, &results.results);
}

/// Runs `part` with `lib`'s client driver spawned against the fuzzing
/// server, in `jobs` copies (`--jobs`); over TLS when `tls`, the driver
/// trusting the harness's self-signed certificate through `{ca}`.
async fn check_client(lib: Library, part: Part, tls: bool, jobs: usize) {
    let identity = tls.then(|| ServerTls::self_signed().expect("rcgen"));
    let files = tls.then(|| TlsFiles::new(&format!("{}-client", lib.agent())));
    let mut command = format!("{} {} {{url}} {{agent}}", lib.program(), lib.script("client"));
    if let (Some(identity), Some(files)) = (&identity, &files) {
        std::fs::write(&files.cert, &identity.cert_pem).expect("writes");
        command = format!("{}={} {command}", lib.ca_variable(), files.cert.display());
    }
    let run = ClientRun {
        client: ClientUnderTest::Spawn(command),
        agents: vec![lib.agent().to_string()],
        tls: identity,
        jobs,
        common: Common {
            selection: part.selection("client"),
            ..Common::default()
        },
        ..ClientRun::default()
    };
    let results = run_clients(&run, Arc::new(AtomicBool::new(false)))
        .await
        .expect("run completes");
    assert_eq!(results.runs.len(), 1, "{:?}", results.client_status);
    assert_eq!(results.url.starts_with("wss://"), tls);
    assert_verdicts(lib, "client", part, &results.runs[0].results);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ws_server_matches_autobahn() {
    if enabled() {
        check_server(Library::NodeWs, Part::All, false).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets_server_matches_autobahn() {
    if enabled() {
        check_server(Library::PyWebsockets, Part::All, false).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ws_server_deflate_matches_autobahn() {
    if enabled() {
        check_server(Library::NodeWs, Part::Deflate, false).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets_server_deflate_matches_autobahn() {
    if enabled() {
        check_server(Library::PyWebsockets, Part::Deflate, false).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ws_client_deflate_matches_autobahn() {
    if enabled() {
        check_client(Library::NodeWs, Part::Deflate, false, 1).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets_client_deflate_matches_autobahn() {
    if enabled() {
        check_client(Library::PyWebsockets, Part::Deflate, false, 1).await;
    }
}

/// permessage-deflate over TLS: compressed frames inside TLS records, the
/// same verdicts as Autobahn's over plain TCP (RFC 7692 is below TLS's
/// concern; what changes is how the bytes arrive).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ws_server_deflate_over_tls() {
    if enabled() {
        check_server(Library::NodeWs, Part::Deflate, true).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets_client_deflate_over_tls() {
    if enabled() {
        check_client(Library::PyWebsockets, Part::Deflate, true, 1).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ws_server_handshake_verdicts() {
    if enabled() {
        check_server(Library::NodeWs, Part::Handshake, false).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets_server_handshake_verdicts() {
    if enabled() {
        check_server(Library::PyWebsockets, Part::Handshake, false).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ws_server_handshake_verdicts_over_tls() {
    if enabled() {
        check_server(Library::NodeWs, Part::Handshake, true).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets_server_handshake_verdicts_over_tls() {
    if enabled() {
        check_server(Library::PyWebsockets, Part::Handshake, true).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ws_server_over_tls() {
    if enabled() {
        check_server(Library::NodeWs, Part::No9, true).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets_server_over_tls() {
    if enabled() {
        check_server(Library::PyWebsockets, Part::No9, true).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ws_client_matches_autobahn() {
    if enabled() {
        check_client(Library::NodeWs, Part::All, false, 1).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets_client_matches_autobahn() {
    if enabled() {
        check_client(Library::PyWebsockets, Part::All, false, 1).await;
    }
}

/// The tests that run copies of a client take turns: four copies of each
/// at once on a small machine can miss Autobahn's 0.5 s timers of 6.x
/// (`killAfter(0.5)` in case6_x_x.py), which would measure the machine.
static COPIES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Four copies of the client (`--jobs 4`), each on its slice: the same
/// verdicts as one client, Autobahn's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ws_client_in_copies_matches_autobahn() {
    if enabled() {
        let _turn = COPIES.lock().await;
        check_client(Library::NodeWs, Part::All, false, 4).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets_client_in_copies_matches_autobahn() {
    if enabled() {
        let _turn = COPIES.lock().await;
        check_client(Library::PyWebsockets, Part::All, false, 4).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ws_client_over_tls() {
    if enabled() {
        check_client(Library::NodeWs, Part::No9, true, 1).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets_client_over_tls() {
    if enabled() {
        check_client(Library::PyWebsockets, Part::No9, true, 1).await;
    }
}

#[test]
fn tolerated_entries_name_real_cases() {
    for role in ["server", "client"] {
        let file = expected_file(&format!("{role}/tolerated.json"));
        for (agent, cases) in &file {
            let expected = expected_file(&format!("{role}/{agent}.json"));
            for (id, entry) in cases.as_object().expect("map") {
                assert!(
                    expected.contains_key(id),
                    "{role}/tolerated.json: {agent} {id} is not a case"
                );
                // Only where Autobahn itself varies, or a difference argued
                // in docs/verdict-rules.md; either way with measured evidence.
                let kind = entry["kind"].as_str().unwrap_or_default();
                assert!(
                    ["autobahn-varies", "deliberate"].contains(&kind),
                    "{role}/tolerated.json: {agent} {id}: kind {kind:?}"
                );
                for key in ["why", "evidence"] {
                    assert!(
                        entry[key].as_str().is_some_and(|t| !t.is_empty()),
                        "{role}/tolerated.json: {agent} {id}: no {key}"
                    );
                }
            }
        }
    }
}
