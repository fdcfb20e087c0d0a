//! The opening handshake's octet-wise chops (`hs.server.one-byte-writes`,
//! `hs.client.one-byte-writes`) reach a slow peer one byte per read, as the
//! engine's chops do (`delivery::write_paced`). Before they were paced, the
//! harness only yielded between writes: a peer that got no CPU for a moment
//! found many bytes in one read, and a peer that counts its reads
//! (tungstenite 0.26 refuses a head read in more than 64 pieces averaging
//! under 128 bytes, `check_incoming_packet_size`) passed or failed by load.
//!
//! Each peer here is away before every read and accepts the handshake only
//! if every read held one byte; the case is OK only then. With the old
//! writes, its first read found most of the head: FAILED.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use tokio_tungstenite::tungstenite::protocol::{Role as WsRole, WebSocket};
use tokio_tungstenite::tungstenite::Message;
use wsconform::engine::EngineConfig;
use wsconform::testing::client::{FuzzingServer, FuzzingServerConfig};
use wsconform::testing::server::{run_case, ClientOptions};
use wsconform::transport::{Connector, Target, Trust};
use wsconform::verdict::{judge, Expectations};
use wsconform_cases::{catalog, Behavior, Case};
use wsconform_wire::handshake::accept_key;
use wsconform_wire::Role;

/// How long the peer is away before each read: longer than the harness's
/// 1 ms pause after a chop; ~200 bytes of head stay well within the
/// handshake timeout.
const AWAY: Duration = Duration::from_millis(3);

fn case(id: &str) -> Case {
    catalog().into_iter().find(|c| c.id == id).expect("case exists")
}

/// Reads an HTTP head from `stream`, away [`AWAY`] before each read; the
/// head, and whether every read held exactly one byte.
fn read_head_slowly(stream: &mut TcpStream) -> (String, bool) {
    // Every read of this peer is bounded: a harness that stops writing ends
    // the test with a failure, not a hang.
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("read timeout");
    let mut head = Vec::new();
    let mut one_per_read = true;
    let mut buf = [0u8; 1024];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 4096 {
        std::thread::sleep(AWAY);
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                one_per_read &= n == 1;
                head.extend_from_slice(&buf[..n]);
            }
        }
    }
    (String::from_utf8_lossy(&head).into_owned(), one_per_read)
}

/// Echoes messages until the close handshake ends.
fn echo(stream: TcpStream, role: WsRole) {
    let mut ws = WebSocket::from_raw_socket(stream, role, None);
    while let Ok(message) = ws.read() {
        if matches!(message, Message::Text(_) | Message::Binary(_)) && ws.send(message).is_err() {
            break;
        }
    }
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// A server that upgrades only a request that arrived one byte per read.
fn strict_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        let (head, one_per_read) = read_head_slowly(&mut stream);
        let key = header(&head, "Sec-WebSocket-Key").unwrap_or_default().to_string();
        if !one_per_read {
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
            return;
        }
        let response = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n\r\n",
            accept_key(key.as_bytes())
        );
        if stream.write_all(response.as_bytes()).is_ok() {
            echo(stream, WsRole::Server);
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_byte_request_reaches_the_server_one_byte_per_read() {
    let addr = strict_server();
    let c = case("hs.server.one-byte-writes");
    let options = ClientOptions {
        engine: EngineConfig::new(Role::Client),
        open_handshake_timeout: Duration::from_secs(10),
        user_agent: "wsconform-test".into(),
        connector: Connector::new(&Trust::default()).expect("TLS configuration"),
    };
    let target = Target::parse(&format!("ws://{addr}/")).expect("url");
    let outcome = run_case(&c, &target, &options).await;
    let verdict = judge(&c, &outcome, &Expectations::of(&c), Role::Client);
    assert_eq!(verdict.behavior, Behavior::Ok, "{}", verdict.result);
}

/// Runs `hs.client.one-byte-writes` for a client that asks for it and then
/// does `client` with the connection; the case's result.
async fn client_case(client: fn(TcpStream)) -> wsconform::runner::CaseResult {
    let server = FuzzingServer::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        FuzzingServerConfig {
            cases: vec![case("hs.client.one-byte-writes")],
            engine: EngineConfig::new(Role::Server),
            expected_agents: vec!["a".into()],
            until_stopped: false,
            tls: None,
            open_handshake_timeout: Duration::from_secs(10),
            report: None,
        },
    )
    .await
    .expect("listens");
    let addr = server
        .url()
        .trim_start_matches("ws://")
        .trim_end_matches('/')
        .to_string();
    let thread = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(&addr).expect("connects");
        let request = format!(
            "GET /runCase?casetuple=hs.client.one-byte-writes&agent=a HTTP/1.1\r\nHost: {addr}\r\n\
             Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).expect("request sent");
        client(stream);
    });
    let start = Instant::now();
    while server.ran("a") == 0 && start.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    thread.join().expect("the client thread");
    let mut results = server.results("a", "the client never ran this case");
    results.remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_byte_response_reaches_the_client_one_byte_per_read() {
    // Accepts the 101 only if it came one byte per read, then echoes.
    let result = client_case(|mut stream| {
        let (head, one_per_read) = read_head_slowly(&mut stream);
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        if one_per_read {
            echo(stream, WsRole::Client);
        }
    })
    .await;
    assert_eq!(result.verdict.behavior, Behavior::Ok, "{}", result.verdict.result);
}

/// A client that gives up on a head read in many pieces (tungstenite's
/// "attack attempt") asked for the case and got part of it: the result says
/// so, not that the client never ran the case.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_drops_the_101_midway_fails_the_case_for_that() {
    let result = client_case(|mut stream| {
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("read timeout");
        let mut byte = [0u8; 1];
        for _ in 0..64 {
            if stream.read(&mut byte).unwrap_or(0) == 0 {
                break;
            }
        }
    })
    .await;
    assert_eq!(result.verdict.behavior, Behavior::Failed);
    let why = result.outcome.setup_error.unwrap_or_default();
    assert!(why.contains("could not be sent whole"), "{why}");
}
