//! Hostile and broken servers: each must get a verdict within the case's
//! deadline, and never crash, hang or flood the harness's memory.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wsconform::engine::EngineConfig;
use wsconform::record::Observed;
use wsconform::testing::server::{run_case, ClientOptions};
use wsconform::transport::{Connector, Target, Trust};
use wsconform::verdict::{judge, Expectations};
use wsconform_cases::{catalog, Behavior, Case, HandshakeExpect};
use wsconform_wire::handshake::{Request, Response};
use wsconform_wire::{CloseCode, ClosePayload, Frame, Opcode, Role};

#[derive(Clone, Copy, Debug)]
enum Bad {
    /// Answers the upgrade with bytes that are not HTTP.
    GarbageHttp,
    /// Accepts TCP and never answers.
    StallBeforeHandshake,
    /// Sends an endless header line.
    EndlessHeader,
    /// Completes the handshake, then sends binary frames without end.
    Flood,
    /// Completes the handshake, then never sends or reads anything.
    StallAfterHandshake,
    /// Declares a 2^62-byte frame and sends a few bytes of it.
    LyingLength,
    /// Sends half a frame, then closes TCP.
    DropMidFrame,
    /// Sends masked frames (a server must not).
    MaskedFrames,
}

async fn read_request(tcp: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        let n = tcp.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Ok(Some((req, _))) = Request::parse(&buf) {
            return Some(req);
        }
    }
}

/// The 101 answering `req` (its key, whatever else it says).
fn switching_protocols(req: &Request) -> Vec<u8> {
    let key = req
        .headers
        .one("Sec-WebSocket-Key")
        .ok()
        .flatten()
        .unwrap_or_default();
    Response::switching_protocols(key).to_bytes()
}

async fn misbehave(mut tcp: TcpStream, bad: Bad) {
    let Some(req) = read_request(&mut tcp).await else {
        return;
    };
    let accept = switching_protocols(&req);
    let deadline = Instant::now() + Duration::from_secs(30);
    match bad {
        Bad::GarbageHttp => {
            let _ = tcp.write_all(b"\x00\x01garbage\r\n\r\n\xff\xfe").await;
        }
        Bad::StallBeforeHandshake | Bad::StallAfterHandshake => {
            if matches!(bad, Bad::StallAfterHandshake) {
                let _ = tcp.write_all(&accept).await;
            }
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        Bad::EndlessHeader => {
            let _ = tcp
                .write_all(b"HTTP/1.1 101 Switching Protocols\r\nX-Long: ")
                .await;
            while Instant::now() < deadline && tcp.write_all(&[b'a'; 4096]).await.is_ok() {}
        }
        Bad::Flood => {
            let _ = tcp.write_all(&accept).await;
            let frame = Frame::new(Opcode::BINARY, vec![0u8; 16]).encode();
            let burst: Vec<u8> = frame.iter().copied().cycle().take(frame.len() * 1000).collect();
            while Instant::now() < deadline && tcp.write_all(&burst).await.is_ok() {}
        }
        Bad::LyingLength => {
            let _ = tcp.write_all(&accept).await;
            let _ = tcp
                .write_all(&Frame::new(Opcode::BINARY, "abc").declared_len(1 << 62).encode())
                .await;
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        Bad::DropMidFrame => {
            let _ = tcp.write_all(&accept).await;
            let frame = Frame::new(Opcode::TEXT, "*".repeat(100)).encode();
            let _ = tcp.write_all(&frame[..50]).await;
        }
        Bad::MaskedFrames => {
            let _ = tcp.write_all(&accept).await;
            let mut buf = [0u8; 4096];
            let _ = tcp.read(&mut buf).await;
            let _ = tcp
                .write_all(
                    &Frame::new(Opcode::TEXT, "Hello")
                        .mask(Some([1, 2, 3, 4]))
                        .encode(),
                )
                .await;
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
    }
}

async fn bad_server(bad: Bad) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(misbehave(tcp, bad));
        }
    });
    addr
}

/// The server-testing options of these tests: a short handshake timeout.
fn options() -> ClientOptions {
    ClientOptions {
        engine: EngineConfig::new(Role::Client),
        open_handshake_timeout: Duration::from_secs(2),
        user_agent: "wsconform-test".into(),
        connector: Connector::new(&Trust::default()).expect("TLS configuration"),
    }
}

fn case(id: &str) -> Case {
    catalog().into_iter().find(|c| c.id == id).expect("case exists")
}

/// Runs `id` against a server that misbehaves as `bad`; returns the
/// behavior and the time taken, which must stay within the case's bound.
async fn verdict_against(bad: Bad, id: &str) -> (Behavior, Duration, wsconform::record::Outcome) {
    let addr = bad_server(bad).await;
    let target = Target::parse(&format!("ws://{addr}/")).expect("url");
    let options = options();
    let c = case(id);
    let bound = options.engine.deadline_for(&c) + options.open_handshake_timeout + Duration::from_secs(1);
    let start = Instant::now();
    let outcome = tokio::time::timeout(bound, run_case(&c, &target, &options))
        .await
        .unwrap_or_else(|_| panic!("{bad:?}: no verdict within {bound:?}"));
    let v = judge(&c, &outcome, &Expectations::of(&c), Role::Client);
    (v.behavior, start.elapsed(), outcome)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_handshakes_fail_the_case() {
    for bad in [Bad::GarbageHttp, Bad::StallBeforeHandshake, Bad::EndlessHeader] {
        let (behavior, took, outcome) = verdict_against(bad, "1.1.1").await;
        assert_eq!(behavior, Behavior::Failed, "{bad:?}");
        assert!(!outcome.handshake_completed, "{bad:?}");
        assert!(took < Duration::from_secs(4), "{bad:?} took {took:?}");
    }
}

/// The handshake cases where the RFC leaves the answer open (INFORMATIONAL
/// for any answer) still fail against a server that gives no answer in
/// time, or answers with bytes that are not HTTP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_handshake_cases_fail_without_a_valid_answer() {
    let open_cases: Vec<String> = catalog()
        .into_iter()
        .filter(|c| {
            c.handshake
                .as_ref()
                .is_some_and(|h| h.expect == HandshakeExpect::Either)
        })
        .map(|c| c.id)
        .collect();
    assert!(!open_cases.is_empty());
    for id in &open_cases {
        for bad in [Bad::GarbageHttp, Bad::StallBeforeHandshake] {
            let (behavior, _, outcome) = verdict_against(bad, id).await;
            assert_eq!(
                behavior,
                Behavior::Failed,
                "{id} against {bad:?}: {:?}",
                outcome.handshake_answer
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_frames_fail_the_case_in_bounded_time_and_memory() {
    for bad in [
        Bad::Flood,
        Bad::StallAfterHandshake,
        Bad::LyingLength,
        Bad::DropMidFrame,
        Bad::MaskedFrames,
    ] {
        let (behavior, _took, outcome) = verdict_against(bad, "1.1.1").await;
        assert_eq!(behavior, Behavior::Failed, "{bad:?}");
        assert!(outcome.handshake_completed, "{bad:?}");
        assert!(
            outcome.received.len() <= 10_000,
            "{bad:?}: {} events kept",
            outcome.received.len()
        );
        assert!(
            outcome.wirelog.len() <= 100_001,
            "{bad:?}: {} log entries",
            outcome.wirelog.len()
        );
        match bad {
            Bad::LyingLength | Bad::MaskedFrames => {
                assert!(
                    outcome.failed_by_me,
                    "{bad:?}: the harness must fail the connection"
                )
            }
            Bad::DropMidFrame => assert!(!outcome.was_clean),
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connection_is_a_failed_case_not_a_missing_one() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let target = Target::parse(&format!("ws://{addr}/")).expect("url");
    let options = options();
    let c = case("2.1");
    let outcome = run_case(&c, &target, &options).await;
    let v = judge(&c, &outcome, &Expectations::of(&c), Role::Client);
    assert_eq!(
        (v.behavior, v.behavior_close),
        (Behavior::Failed, wsconform_cases::BehaviorClose::Failed)
    );
    assert!(outcome
        .setup_error
        .as_deref()
        .is_some_and(|e| e.contains("cannot connect")));
}

/// A spec's `closeHandshakeTimeout: 0` disables the timer, as in Autobahn
/// (protocol.py arms it only when it is > 0): against a server that never
/// answers the harness's close, the case then ends at the harness's own
/// deadline, not after the default second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_close_handshake_timer_does_not_fire() {
    let addr = bad_server(Bad::StallAfterHandshake).await;
    let target = Target::parse(&format!("ws://{addr}/")).expect("url");
    // 7.1.1 closes right after its text message; the stalled server never
    // echoes, so the kill timer (1 s) starts the closing handshake.
    let c = case("7.1.1");
    for (timeout, fires) in [(Some(Duration::from_secs(1)), true), (None, false)] {
        let mut options = options();
        options.engine.close_handshake_timeout = timeout;
        let outcome = run_case(&c, &target, &options).await;
        assert_eq!(outcome.was_close_handshake_timeout, fires, "{timeout:?}");
        assert_eq!(outcome.hit_deadline, !fires, "{timeout:?}");
    }
}

/// The close frames a client sent, in order: (code) per close frame; the
/// frames are short and masked (RFC 6455 §5.3), as the harness sends them.
fn close_codes_sent(mut bytes: &[u8]) -> Vec<Option<u16>> {
    let mut codes = Vec::new();
    while bytes.len() >= 6 {
        let (opcode, len) = (bytes[0] & 0x0f, usize::from(bytes[1] & 0x7f));
        assert!(len < 126 && bytes[1] & 0x80 != 0, "short masked frames only");
        let (key, payload) = (&bytes[2..6], &bytes[6..(6 + len).min(bytes.len())]);
        if opcode == 0x8 {
            let unmasked: Vec<u8> = payload
                .iter()
                .zip(key.iter().cycle())
                .map(|(b, k)| b ^ k)
                .collect();
            codes.push((unmasked.len() >= 2).then(|| u16::from_be_bytes([unmasked[0], unmasked[1]])));
        }
        bytes = &bytes[(6 + len).min(bytes.len())..];
    }
    codes
}

/// A server that answers the upgrade and sends `frames` in the same write,
/// then reads what the harness sends until its close frame (at most 5 s),
/// and closes TCP. Returns
/// the outcome of case `id` and the bytes the server received.
async fn scripted_server(id: &str, frames: Vec<Frame>) -> (wsconform::record::Outcome, Vec<u8>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.expect("accepts");
        let req = read_request(&mut tcp).await.expect("request");
        let mut out = switching_protocols(&req);
        for f in frames {
            out.extend(f.encode());
        }
        tcp.write_all(&out).await.expect("writes");
        // Read until the harness's close frame has arrived (then close TCP,
        // as a server should, RFC 6455 §7.1.1) or the harness closes.
        let mut got = Vec::new();
        let mut chunk = [0u8; 4096];
        let deadline = Instant::now() + Duration::from_secs(5);
        while close_codes_sent(&got).is_empty() {
            match tokio::time::timeout_at(deadline.into(), tcp.read(&mut chunk)).await {
                Ok(Ok(n)) if n > 0 => got.extend_from_slice(&chunk[..n]),
                _ => break,
            }
        }
        got
    });
    let target = Target::parse(&format!("ws://{addr}/")).expect("url");
    let outcome = run_case(&case(id), &target, &options()).await;
    (outcome, server.await.expect("server task"))
}

/// A second violation while closing ends the connection only after the
/// close frame of the first failure has left, as Autobahn's
/// `dropConnection(abort=False)` flushes it (docs/verdict-rules.md V3, W4):
/// the server receives the 1002 close, then FIN. The violations arrive with
/// the 101, so they are parsed before the case's first frame is sent (D8):
/// that frame never leaves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_violation_still_lets_the_close_frame_leave() {
    // Two violations in one write: RSV1 without an extension, then a
    // reserved opcode (RFC 6455 §5.2).
    let frames = vec![Frame::new(Opcode::TEXT, "a").rsv(4), Frame::new(Opcode(3), "b")];
    let (outcome, got) = scripted_server("1.1.1", frames).await;
    assert!(outcome.failed_by_me && outcome.dropped_by_me);
    assert_eq!(close_codes_sent(&got), vec![Some(1002)], "{got:02x?}");
}

/// Testing a server, frames after the server's close are still parsed and
/// recorded until TCP closes, as Autobahn's client does (it stays in
/// CLOSING; docs/verdict-rules.md E3): a message and a pong after the close
/// count as events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_after_the_servers_close_are_recorded() {
    let frames = vec![
        Frame::new(Opcode::CLOSE, ClosePayload::new(CloseCode::NORMAL, "").encode()),
        Frame::new(Opcode::TEXT, "late"),
        Frame::new(Opcode::PONG, "late"),
    ];
    let (outcome, got) = scripted_server("7.1.1", frames).await;
    assert!(outcome.was_clean && !outcome.failed_by_me);
    assert_eq!(
        outcome.remote_close.as_ref().and_then(|c| c.code),
        Some(CloseCode::NORMAL)
    );
    let kinds: Vec<&str> = outcome
        .received
        .iter()
        .map(|o| match o {
            Observed::Message { .. } => "message",
            Observed::Pong { .. } => "pong",
            Observed::Timeout { .. } => "timeout",
        })
        .collect();
    assert_eq!(kinds, ["message", "pong"]);
    assert_eq!(
        close_codes_sent(&got).last(),
        Some(&Some(1000)),
        "the close reply is 1000"
    );
}

/// A close frame with a 1-byte payload fails the connection with 1002 and
/// still counts as the peer's close, with no code (RFC 6455 §5.5.1;
/// docs/verdict-rules.md F7, C4).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_byte_close_payload_fails_the_connection() {
    let (outcome, got) = scripted_server("7.1.1", vec![Frame::new(Opcode::CLOSE, vec![3u8])]).await;
    assert!(outcome.failed_by_me && outcome.closed_by_me);
    assert!(outcome.remote_close.as_ref().is_some_and(|c| c.code.is_none()));
    assert_eq!(close_codes_sent(&got), vec![Some(1002)], "{got:02x?}");
}
