//! The reference echo server (tokio-tungstenite): every text or binary
//! message is sent back as it came; pings, pongs and the closing handshake
//! are tungstenite's own. With knobs, a rewriting proxy sits between the
//! socket and tungstenite (see `knobs`).

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::Role as TungsteniteRole;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use wsconform_cases::ResponseEdits;
use wsconform_wire::Role;

use super::knobs::{self, Knob, Knobs};
use crate::server_handshake::{answer, deflate_header, read_head, Leniency};
use crate::transport::{self, ServerTls, Stream};

/// A running reference server; stops when dropped.
#[derive(Debug)]
pub struct ReferenceServer {
    pub addr: SocketAddr,
    tls: bool,
    task: JoinHandle<()>,
}

impl Drop for ReferenceServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ReferenceServer {
    /// Listens on `listen` (port 0 for an ephemeral one) and serves until
    /// dropped; `wss://` with `tls`.
    pub async fn start(
        listen: SocketAddr,
        knobs: Knobs,
        tls: Option<ServerTls>,
    ) -> std::io::Result<ReferenceServer> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let secure = tls.is_some();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (knobs, tls) = (knobs.clone(), tls.clone());
                tokio::spawn(async move {
                    if let Ok(stream) =
                        transport::accept(tcp, tls.as_ref(), transport::TLS_ACCEPT_TIMEOUT).await
                    {
                        serve(stream, knobs).await;
                    }
                });
            }
        });
        Ok(ReferenceServer {
            addr,
            tls: secure,
            task,
        })
    }

    pub fn url(&self) -> String {
        format!("{}://{}", transport::scheme(self.tls), self.addr)
    }
}

/// tungstenite's limits raised to what Autobahn 9.x sends (16 MiB).
pub(crate) fn config() -> WebSocketConfig {
    let mut c = WebSocketConfig::default();
    c.max_message_size = Some(64 << 20);
    c.max_frame_size = Some(64 << 20);
    c
}

async fn serve(stream: Stream, knobs: Knobs) {
    let leniency = Leniency {
        accept_anything: knobs.has(Knob::LaxHandshake),
        wrong_accept: knobs.has(Knob::WrongAccept),
    };
    let edits = Knob::response_edits(&knobs);
    if knobs.0.iter().all(|k| !k.needs_proxy()) {
        echo(stream, leniency, edits, knobs).await;
    } else {
        let (near, far) = tokio::io::duplex(256 * 1024);
        let echo_task = tokio::spawn(echo(near, leniency, edits, knobs.clone()));
        knobs::proxy(stream, far, knobs, Role::Server).await;
        echo_task.abort();
    }
}

/// The opening handshake is wsconform's own (`server_handshake`): tungstenite
/// accepts requests that RFC 6455 §4.2.1 says to refuse (no Host, a 20-byte
/// key, …) and closes without an HTTP answer on others, and a reference
/// server must get the hs.* cases right. Frames are tungstenite's.
///
/// permessage-deflate (RFC 7692) is accepted on the client's first valid
/// offer, granting what it asks and asking nothing (Autobahn's `accept1`,
/// `deflate::answer_offers`); the compression layer (`deflate`) then sits
/// before tungstenite.
async fn echo<S: AsyncRead + AsyncWrite + Send + Unpin + 'static>(
    mut stream: S,
    leniency: Leniency,
    mut edits: ResponseEdits,
    knobs: Knobs,
) {
    let Ok(Ok((req, leftover, _))) =
        tokio::time::timeout(Duration::from_secs(5), read_head(&mut stream)).await
    else {
        return;
    };
    let deflate = super::deflate::answer_offers(&req, &knobs);
    edits.headers.extend(deflate.iter().map(deflate_header));
    if answer(&mut stream, &req, leniency, &edits, None).await.is_err() {
        return;
    }
    match super::deflate::Setup::needed(deflate.map(|d| d.params), &knobs) {
        None => {
            let ws = WebSocketStream::from_partially_read(
                stream,
                leftover,
                TungsteniteRole::Server,
                Some(config()),
            )
            .await;
            echo_messages(ws).await;
        }
        Some(setup) => {
            let (near, far) = tokio::io::duplex(256 * 1024);
            let ws = WebSocketStream::from_raw_socket(near, TungsteniteRole::Server, Some(config())).await;
            let echo_task = tokio::spawn(echo_messages(ws));
            super::deflate::layer(stream, leftover, far, setup, Role::Server).await;
            echo_task.abort();
        }
    }
}

/// Echoes every text or binary message until the connection ends: the
/// behaviour Autobahn expects of both reference peers.
pub(crate) async fn echo_messages<S: AsyncRead + AsyncWrite + Unpin>(mut ws: WebSocketStream<S>) {
    while let Some(msg) = ws.next().await {
        let sent = match msg {
            Ok(m @ (Message::Text(_) | Message::Binary(_))) => ws.send(m).await,
            // Pongs to pings and the close reply are queued by tungstenite;
            // flushing sends them.
            Ok(_) => ws.flush().await,
            Err(_) => break,
        };
        if sent.is_err() {
            break;
        }
    }
}
