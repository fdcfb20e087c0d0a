//! Testing clients: Autobahn's fuzzingserver protocol, the full catalog
//! against the built-in reference client (whose verdicts must equal the
//! real Autobahn fuzzingserver's), each knob failing exactly its cases, and
//! the protocol's error handling.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use common::{expected_file, run_reference_client, selection};
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use wsconform::engine::EngineConfig;
use wsconform::testing::client::{FuzzingServer, FuzzingServerConfig};
use wsconform_cases::catalog;
use wsconform_wire::Role;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_client_gets_autobahns_verdicts() {
    let run = run_reference_client([], selection(&[], &["hs.*", "mask.*", "pmd.*", "12.*", "13.*"])).await;
    assert_eq!(run.results.len(), 301);
    let expected = expected_file("client/wsconform-reference.json");
    let diffs = common::compare(&run.results, &expected, &BTreeMap::new());
    assert!(
        diffs.is_empty(),
        "differences from Autobahn:\n{}",
        diffs.join("\n")
    );
    assert!(run.passed && run.complete);
}

/// permessage-deflate: the reference client offers it, the fuzzing server
/// accepts with each case's rule, and a sample of 12.x/13.x passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_client_passes_deflate_sample() {
    let run = run_reference_client([], selection(common::DEFLATE_SAMPLE, &[])).await;
    assert_eq!(run.results.len(), common::DEFLATE_SAMPLE.len());
    common::assert_deflate_ok(&run.results);
    assert!(run.passed && run.complete);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_knob_fails_exactly_the_cases_of_its_rule() {
    let good = expected_file("client/wsconform-reference.json");
    let knobs = [
        common::FRAME_KNOBS.as_slice(),
        &[
            wsconform::reference::Knob::LaxHandshake,
            wsconform::reference::Knob::FixedKey,
            wsconform::reference::Knob::RepeatKeyOutsideCases,
        ],
    ]
    .concat();
    let problems = common::knob_mismatches(
        &knobs,
        &good,
        // permessage-deflate has its own knobs (tests/pmd.rs).
        |c| c.applies_to(Role::Client) && c.deflate.is_none() && c.category() != "pmd",
        |knob| run_reference_client([knob], selection(&[], &["9.*", "12.*", "13.*", "pmd.*"])),
    )
    .await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Copies of the client (`--jobs`) get the verdicts one client gets, case
/// for case, close codes included: the split must not show in the results.
/// And a copy keeps its own key history: a client that repeats its key
/// still fails `hs.client.fresh-key` when it runs in copies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_get_the_verdicts_of_one_client() {
    let copies = |jobs: usize, knobs: Vec<wsconform::reference::Knob>, include: &[&str]| {
        let run = wsconform::session::ClientRun {
            jobs,
            // 12.x/13.x (1000 messages a case) would double this test's
            // time and add nothing about copies; their sample runs below.
            ..common::client_run(knobs, selection(include, &["12.*", "13.*"]))
        };
        common::run_client(run)
    };
    let one = copies(1, vec![], &[]).await;
    let four = copies(4, vec![], &[]).await;
    assert_eq!(one.results.len(), four.results.len());
    let ids =
        |r: &wsconform::session::RunResults| r.results.iter().map(|c| c.case.id.clone()).collect::<Vec<_>>();
    assert_eq!(
        ids(&one),
        ids(&four),
        "the merged results keep the selection's order"
    );
    assert_eq!(common::verdicts(&one.results), common::verdicts(&four.results));
    assert_eq!(
        four.agent, "wsconform-reference-client",
        "merged under the one agent"
    );
    assert!(four.complete && four.passed);
    let fixed = copies(4, vec![wsconform::reference::Knob::FixedKey], &["hs.*"]).await;
    let failing = common::failing(&fixed.results);
    assert_eq!(failing, ["hs.client.fresh-key".to_string()].into());
}

async fn server(cases: &[&str]) -> FuzzingServer {
    let cases = catalog()
        .into_iter()
        .filter(|c| cases.contains(&c.id.as_str()))
        .collect();
    FuzzingServer::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        FuzzingServerConfig {
            cases,
            engine: EngineConfig::new(Role::Server),
            expected_agents: vec!["a".into()],
            until_stopped: false,
            tls: None,
            open_handshake_timeout: std::time::Duration::from_secs(5),
            report: None,
        },
    )
    .await
    .expect("listens")
}

/// The text messages a request's connection yields before it closes.
async fn texts(url: String) -> Vec<String> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect("upgrades");
    let mut out = Vec::new();
    while let Some(Ok(msg)) = ws.next().await {
        if let Message::Text(t) = msg {
            out.push(t.as_str().to_string());
        }
    }
    out
}

/// The status line a raw GET gets.
async fn status_of(addr: SocketAddr, target: &str) -> String {
    let req = format!(
        "GET {target} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    status_of_request(addr, &req).await
}

/// The status line the request `req` gets.
async fn status_of_request(addr: SocketAddr, req: &str) -> String {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connects");
    tcp.write_all(req.as_bytes()).await.expect("writes");
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf))
        .await
        .expect("answers")
        .expect("reads");
    String::from_utf8_lossy(&buf[..n])
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzzingserver_protocol() {
    let srv = server(&["1.1.1", "2.1", "7.1.1"]).await;
    let url = srv.url();
    assert_eq!(texts(format!("{url}/getCaseCount")).await, ["3"]);
    assert_eq!(
        texts(format!("{url}/getCaseInfo?case=2")).await,
        [r#"{"description":"Send ping without payload.","id":"2.1"}"#]
    );
    // Errors get an HTTP status, never a crash.
    assert!(status_of(srv.addr, "/runCase?case=4&agent=a")
        .await
        .contains(" 400 "));
    assert!(status_of(srv.addr, "/runCase?case=1").await.contains(" 400 "));
    assert!(status_of(srv.addr, "/runCase?case=x&agent=a")
        .await
        .contains(" 400 "));
    assert!(status_of(srv.addr, "/runCase?casetuple=9.9.9&agent=a")
        .await
        .contains(" 400 "));
    assert!(status_of(srv.addr, "/nowhere").await.contains(" 404 "));
    assert!(status_of(srv.addr, "/getCaseCount").await.contains(" 101 "));
    // casetuple selects by id; getCaseStatus waits for the result.
    let status = tokio::spawn(texts(format!("{url}/getCaseStatus?casetuple=2.1&agent=a")));
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{url}/runCase?casetuple=2.1&agent=a"))
        .await
        .expect("upgrades");
    while let Some(Ok(_)) = ws.next().await {}
    let status = tokio::time::timeout(Duration::from_secs(10), status)
        .await
        .expect("answers")
        .expect("joins");
    assert_eq!(status, [r#"{"behavior":"OK"}"#]);
    texts(format!("{url}/updateReports?agent=a")).await;
    tokio::time::timeout(Duration::from_secs(5), srv.finished())
        .await
        .expect("stops after the agent's updateReports");
    let results = srv.results("a", "not run");
    assert_eq!(results.len(), 3);
    let ran: Vec<_> = results
        .iter()
        .map(|r| (r.case.id.as_str(), r.outcome.handshake_completed))
        .collect();
    assert_eq!(ran, [("1.1.1", false), ("2.1", true), ("7.1.1", false)]);
    assert_eq!(results[0].outcome.setup_error.as_deref(), Some("not run"));
}

/// A client that asks for a case with a request that is no opening
/// handshake (no Upgrade, no key) gets 400, and the case's result says so:
/// it asked for the case, so "never ran" would be wrong.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_case_request_is_that_case_result() {
    let srv = server(&["1.1.1"]).await;
    let status = status_of_request(
        srv.addr,
        "GET /runCase?casetuple=1.1.1&agent=a HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await;
    assert!(status.contains(" 400 "), "{status}");
    let start = std::time::Instant::now();
    while srv.ran("a") == 0 && start.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let results = srv.results("a", "not run");
    let why = results[0].outcome.setup_error.as_deref().unwrap_or_default();
    assert!(why.starts_with("the client's request was refused: "), "{why}");
    assert_eq!(results[0].verdict.behavior, wsconform_cases::Behavior::Failed);
}

/// The client side of the opening handshake: the reference client must get
/// every hs.client.* case right (the knob test shows each failing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_client_passes_every_handshake_case() {
    let run = run_reference_client([], selection(&["hs.*"], &[])).await;
    assert_eq!(run.results.len(), 16);
    assert_eq!(common::failing(&run.results), Default::default());
}

/// A fuzzing server that claims an absurd number of cases does not send
/// the reference client's driver into an endless loop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_client_refuses_an_absurd_case_count() {
    use futures_util::SinkExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            if let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await {
                let _ = ws.send(Message::text("1000000000000")).await;
                let _ = ws.close(None).await;
            }
        }
    });
    let connector = wsconform::transport::Connector::new(&Default::default()).expect("TLS configuration");
    let result = tokio::time::timeout(
        Duration::from_secs(10),
        wsconform::reference::client::run_driver(
            &format!("ws://{addr}"),
            "a",
            &Default::default(),
            &connector,
        ),
    )
    .await
    .expect("the driver gives up at once");
    let err = result.expect_err("no believable case count");
    assert!(err.to_string().contains("no case count"), "{err}");
}
