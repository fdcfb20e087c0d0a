//! The reference client (tokio-tungstenite) running Autobahn's client
//! driver loop: read `/getCaseCount`, run every `/runCase` as an echo peer,
//! then `/updateReports`. With knobs, the same rewriting proxy as the
//! reference server sits between the socket and tungstenite.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::protocol::Role as TungsteniteRole;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use wsconform_wire::deflate::{self, Offer};
use wsconform_wire::handshake::{self, Request};
use wsconform_wire::Role;

use super::knobs::{self, Knob, Knobs};
use super::server::{config, echo_messages};
use crate::testing::server::read_response;
use crate::transport::{ConnectError, Connector, Stream, Target, TargetError};

/// Why the driver loop stopped early.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("{0}: {1}")]
    Connect(String, ConnectError),
    #[error("{0}: {1}")]
    WebSocket(String, tokio_tungstenite::tungstenite::Error),
    #[error("{0}: the server sent no case count (or more than 100000)")]
    NoCount(String),
    #[error("{0}: the server did not close the connection within {1:?}")]
    Stalled(String, Duration),
    #[error("bad URL: {0}")]
    Url(#[from] TargetError),
    #[error("{0}: handshake failed: {1}")]
    Handshake(String, String),
}

/// One case's connection may take at most this long (the longest catalog
/// case, 9.x, ends after 100 s at worst).
const CASE_LIMIT: Duration = Duration::from_secs(120);

/// Runs the driver loop against a fuzzing server at `base` (e.g.
/// `ws://127.0.0.1:9001`, or `wss://…` with `connector`'s trust); returns
/// the number of cases run.
pub async fn run_driver(
    base: &str,
    agent: &str,
    knobs: &Knobs,
    connector: &Connector,
) -> Result<usize, DriverError> {
    let base = base.trim_end_matches('/');
    let count_url = format!("{base}/getCaseCount");
    let count = last_text(&count_url, knobs, connector)
        .await?
        .and_then(|t| t.trim().parse::<usize>().ok())
        .filter(|n| *n <= MAX_CASES)
        .ok_or_else(|| DriverError::NoCount(count_url.clone()))?;
    let agent_q = encode_query(agent);
    for n in 1..=count {
        let url = format!("{base}/runCase?case={n}&agent={agent_q}");
        // A case the server fails or drops is part of the test, not an error.
        let _ = tokio::time::timeout(CASE_LIMIT, echo_case(&url, knobs, connector)).await;
    }
    last_text(&format!("{base}/updateReports?agent={agent_q}"), knobs, connector).await?;
    Ok(count)
}

/// A fuzzing server that claims more cases than this is not believed.
const MAX_CASES: usize = 100_000;

/// The last text message of one connection to `url`, read until it closes,
/// for at most [`CASE_LIMIT`]: a server that stalls is an error, not a hang,
/// and one that floods costs one message of memory.
async fn last_text(url: &str, knobs: &Knobs, connector: &Connector) -> Result<Option<String>, DriverError> {
    let read = async {
        let mut ws = connect(url, knobs, connector).await?;
        let mut last = None;
        while let Some(Ok(msg)) = ws.next().await {
            if let Message::Text(t) = msg {
                last = Some(t.as_str().to_string());
            }
        }
        Ok(last)
    };
    tokio::time::timeout(CASE_LIMIT, read)
        .await
        .map_err(|_| DriverError::Stalled(url.to_string(), CASE_LIMIT))?
}

/// Percent-encodes a query value.
fn encode_query(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn echo_case(url: &str, knobs: &Knobs, connector: &Connector) -> Result<(), DriverError> {
    echo_messages(connect(url, knobs, connector).await?).await;
    Ok(())
}

/// tungstenite over TCP, TLS, or the knob proxy's pipe.
type Ws = WebSocketStream<Stream>;

async fn connect(url: &str, knobs: &Knobs, connector: &Connector) -> Result<Ws, DriverError> {
    let target = Target::parse(url)?;
    let tcp = connector
        .connect(&target)
        .await
        .map_err(|e| DriverError::Connect(url.to_string(), e))?;
    let stream: Stream = if knobs.0.iter().all(|k| !k.needs_proxy()) {
        tcp
    } else {
        let (near, far) = tokio::io::duplex(256 * 1024);
        let knobs = knobs.clone();
        tokio::spawn(async move { knobs::proxy(tcp, far, knobs, Role::Client).await });
        Box::new(near)
    };
    open(url, &target, stream, knobs).await
}

/// The `fixed-key` knob's nonce (not RFC 6455 §1.3's sample, whose accept
/// value `hs.client.wrong-accept` sends).
const FIXED_NONCE: [u8; 16] = [7; 16];

/// The opening handshake is wsconform's own (RFC 6455 §4.1): tungstenite's
/// client does not refuse an extension it did not offer, and a reference
/// client must get the hs.client.* cases right. Frames are tungstenite's.
///
/// Every request offers permessage-deflate as Node `ws` and Python
/// `websockets` do (`permessage-deflate; client_max_window_bits`, RFC 7692
/// §7.1.2.2: the server may limit the client's window); when the server
/// accepts, the compression layer (`deflate`) sits before tungstenite.
async fn open(url: &str, target: &Target, mut stream: Stream, knobs: &Knobs) -> Result<Ws, DriverError> {
    let fail = |why: String| DriverError::Handshake(url.to_string(), why);
    let outside_cases = !target.path_and_query.starts_with("/runCase");
    let nonce = if knobs.has(Knob::FixedKey) || (outside_cases && knobs.has(Knob::RepeatKeyOutsideCases)) {
        FIXED_NONCE
    } else {
        rand::random()
    };
    let key = handshake::key_from_nonce(nonce);
    let mut request = Request::websocket(&target.authority, &target.path_and_query, &key);
    let offer = Offer {
        client_max_window_bits: Some(None),
        ..Offer::default()
    };
    request
        .headers
        .push("Sec-WebSocket-Extensions", offer.to_string());
    stream
        .write_all(&request.to_bytes())
        .await
        .map_err(|e| fail(e.to_string()))?;
    let (response, _, leftover) = read_response(&mut stream).await.map_err(|(why, _)| fail(why))?;
    if !knobs.has(Knob::LaxHandshake) {
        // Failing the connection (RFC 6455 §4.1) is dropping it.
        handshake::validate_response(&response, &key, &[], &[deflate::EXTENSION_NAME])
            .map_err(|e| fail(e.to_string()))?;
    }
    let params = super::deflate::check_response(
        &offer,
        &response
            .headers
            .all("Sec-WebSocket-Extensions")
            .collect::<Vec<_>>(),
        knobs,
    )
    .map_err(|e| fail(e.to_string()))?;
    Ok(match super::deflate::Setup::needed(params, knobs) {
        None => {
            WebSocketStream::from_partially_read(stream, leftover, TungsteniteRole::Client, Some(config()))
                .await
        }
        Some(setup) => {
            let (near, far) = tokio::io::duplex(256 * 1024);
            tokio::spawn(super::deflate::layer(stream, leftover, far, setup, Role::Client));
            let near: Stream = Box::new(near);
            WebSocketStream::from_raw_socket(near, TungsteniteRole::Client, Some(config())).await
        }
    })
}
