//! The reference echo server (tokio-tungstenite): every text or binary
//! message is sent back as it came; pings, pongs and the closing handshake
//! are tungstenite's own. With knobs, a rewriting proxy sits between the
//! socket and tungstenite (see `knobs`).

use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use wsconform_wire::Role;

use super::knobs::{self, Knobs};

/// A running reference server; stops when dropped.
#[derive(Debug)]
pub struct ReferenceServer {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for ReferenceServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ReferenceServer {
    /// Listens on `listen` (port 0 for an ephemeral one) and serves until dropped.
    pub async fn start(listen: SocketAddr, knobs: Knobs) -> std::io::Result<ReferenceServer> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(serve(tcp, knobs.clone()));
            }
        });
        Ok(ReferenceServer { addr, task })
    }

    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }
}

/// tungstenite's limits raised to what Autobahn 9.x sends (16 MiB).
pub(crate) fn config() -> WebSocketConfig {
    let mut c = WebSocketConfig::default();
    c.max_message_size = Some(64 << 20);
    c.max_frame_size = Some(64 << 20);
    c
}

async fn serve(tcp: TcpStream, knobs: Knobs) {
    let _ = tcp.set_nodelay(true);
    if knobs.is_empty() {
        echo(tcp).await;
    } else {
        let (near, far) = tokio::io::duplex(256 * 1024);
        let echo_task = tokio::spawn(echo(near));
        knobs::proxy(tcp, far, knobs, Role::Server).await;
        echo_task.abort();
    }
}

async fn echo<S: AsyncRead + AsyncWrite + Unpin>(stream: S) {
    let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config())).await else {
        return;
    };
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
