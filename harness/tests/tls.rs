//! wss:// (RFC 6455 §3, §4.1): the whole catalog over TLS against both
//! reference peers, a knob failing over TLS, the certificate trust options,
//! and TLS peers that misbehave.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{client_run, expected_file, run_client, run_server, selection, server_run};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use wsconform::reference::{Knob, Knobs, ReferenceServer};
use wsconform::session::{run_servers, RunResults, ServerRun, SessionError};
use wsconform::transport::{ServerTls, Trust};
use wsconform_cases::catalog;

fn identity() -> ServerTls {
    ServerTls::self_signed().expect("rcgen makes a certificate")
}

/// Asserts a whole run over TLS: `count` cases on a wss:// URL, the same
/// verdicts as Autobahn's over TCP (`expected`), and every case passing.
fn assert_same_verdicts_over_tls(run: &RunResults, count: usize, expected: &str) {
    assert!(run.target.starts_with("wss://127.0.0.1:"), "{}", run.target);
    assert_eq!(run.results.len(), count);
    let diffs = common::compare(&run.results, &expected_file(expected), &BTreeMap::new());
    assert!(diffs.is_empty(), "differences over TLS:\n{}", diffs.join("\n"));
    assert_eq!(common::failing(&run.results), BTreeSet::new());
    assert!(run.passed && run.complete);
}

/// Every case, handshake included, against the reference server over TLS
/// (12.x/13.x: their sample; the compression layer is above the transport).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_server_over_tls_gets_the_same_verdicts() {
    let run = run_server(ServerRun {
        reference_tls: Some(identity()),
        ..server_run(selection(&[], &["12.*", "13.*"]))
    })
    .await;
    assert_same_verdicts_over_tls(&run, 351, "server/wsconform-reference.json");
}

/// Every case against the reference client, with the fuzzing server on TLS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_client_over_tls_gets_the_same_verdicts() {
    let mut run = client_run([], selection(&[], &["12.*", "13.*"]));
    run.tls = Some(identity());
    let run = run_client(run).await;
    assert_same_verdicts_over_tls(&run, 333, "client/wsconform-reference.json");
}

/// Cases still fail over TLS: `never-pong` fails exactly the pong cases of
/// category 2, and `fixed-key` the client's fresh-key case.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knobs_fail_their_cases_over_tls() {
    let good = expected_file("server/wsconform-reference.json");
    let run = run_server(ServerRun {
        knobs: Knobs::new([Knob::NeverPong]),
        reference_tls: Some(identity()),
        ..server_run(selection(&["2.*"], &[]))
    })
    .await;
    let want: BTreeSet<String> = catalog()
        .into_iter()
        .filter(|c| c.category() == "2" && common::knob_breaks(Knob::NeverPong, c, &good))
        .map(|c| c.id)
        .collect();
    assert!(!want.is_empty());
    assert_eq!(common::failing(&run.results), want);

    let mut client = client_run([Knob::FixedKey], selection(&["hs.client.*"], &[]));
    client.tls = Some(identity());
    let client = run_client(client).await;
    assert_eq!(
        common::failing(&client.results),
        BTreeSet::from(["hs.client.fresh-key".to_string()])
    );
}

/// Starts a TLS reference server; returns it with its URL.
async fn tls_reference() -> (ReferenceServer, ServerTls) {
    let tls = identity();
    let server = ReferenceServer::start(([127, 0, 0, 1], 0).into(), Knobs::default(), Some(tls.clone()))
        .await
        .expect("listens");
    (server, tls)
}

async fn run_url_trusting(url: String, trust: Trust) -> Result<RunResults, SessionError> {
    let run = ServerRun {
        url: Some(url),
        trust,
        ..server_run(selection(&["1.1.1", "hs.server.standard"], &[]))
    };
    run_servers(&run, Arc::new(AtomicBool::new(false)), |_| {}).await
}

/// An untrusted certificate stops the run with one clear error; `--ca`
/// with the certificate, or `--insecure`, lets it run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_trust_options() {
    let (server, tls) = tls_reference().await;
    let url = server.url();
    let err = run_url_trusting(url.clone(), Trust::default())
        .await
        .expect_err("a self-signed certificate is not trusted by default");
    let text = err.to_string();
    assert!(
        matches!(err, SessionError::Unreachable { .. }) && text.contains("certificate"),
        "{text}"
    );
    assert!(!text.contains('\n'), "one line: {text}");
    assert!(text.contains("--ca FILE"), "says how to trust it: {text}");

    let dir = std::env::temp_dir().join(format!("wsconform-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &tls.cert_pem).expect("writes the PEM");
    for trust in [Trust::RootsAnd(vec![ca]), Trust::Insecure] {
        let run = run_url_trusting(url.clone(), trust.clone()).await.expect("runs");
        assert!(run.passed && run.complete, "{trust:?}");
        assert_eq!(run.results.len(), 2);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A self-signed certificate marked as a CA (what `openssl req -x509`
/// makes), loaded from files by the server and given with `--ca`: webpki
/// refuses a CA certificate as the server's own, so it is pinned instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_signed_ca_certificate_from_files() {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).expect("names");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).expect("signs");
    let dir = std::env::temp_dir().join(format!("wsconform-tls-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_file, cert.pem()).expect("writes");
    std::fs::write(&key_file, key.serialize_pem()).expect("writes");
    let tls = ServerTls::from_files(&cert_file, &key_file).expect("loads the PEM files");
    assert!(!tls.self_signed);
    let server = ReferenceServer::start(([127, 0, 0, 1], 0).into(), Knobs::default(), Some(tls))
        .await
        .expect("listens");
    let run = run_url_trusting(server.url(), Trust::RootsAnd(vec![cert_file]))
        .await
        .expect("the pinned certificate is accepted");
    assert!(run.passed && run.complete);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A wss:// URL whose server speaks plain HTTP, and a server that accepts
/// TCP but never answers the TLS handshake: each is one clear error within
/// the opening-handshake timeout, not a hang.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_peers_that_misbehave() {
    // Plain HTTP on the TLS port: the answer is not a TLS record.
    let plain = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let url = format!("wss://{}/", plain.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = plain.accept().await {
            let _ = tcp.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        }
    });
    let start = Instant::now();
    let err = run_url_trusting(url, Trust::Insecure)
        .await
        .expect_err("no TLS there");
    assert!(err.to_string().contains("TLS handshake"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(5));

    let silent = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let addr = silent.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = silent.accept().await {
            held.push(tcp);
        }
    });
    let start = Instant::now();
    let err = run_url_trusting(format!("wss://{addr}/"), Trust::Insecure)
        .await
        .expect_err("no TLS handshake");
    assert!(err.to_string().contains("no connection within"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(10));
}

/// A client that connects to the TLS fuzzing server and sends garbage, or
/// nothing, does not stop it from serving the next client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_fuzzing_server_survives_bad_clients() {
    let mut run = client_run([], selection(&["1.1.1", "hs.client.standard"], &[]));
    run.tls = Some(identity());
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    run.listen = listener.local_addr().expect("addr");
    drop(listener);
    let addr = run.listen;
    let bad = tokio::spawn(async move {
        let mut garbage = tokio::net::TcpStream::connect(addr).await.expect("connects");
        let _ = garbage.write_all(b"GET / HTTP/1.1\r\n\r\n").await;
        let _silent = tokio::net::TcpStream::connect(addr).await.expect("connects");
        tokio::time::sleep(Duration::from_secs(3)).await;
    });
    let results = run_client(run).await;
    let _ = bad.await;
    assert!(results.passed && results.complete);
}
