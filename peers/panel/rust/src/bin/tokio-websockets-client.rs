//! Autobahn-protocol client driver on tokio-websockets (payload limit 64 MiB).
use futures_util::{SinkExt, StreamExt};
use tokio_websockets::{ClientBuilder, Limits};
use wsconform_panel_rust::{drive, BoxError, MAX_MESSAGE};

async fn session(url: String, echo: bool) -> Result<Vec<String>, BoxError> {
    let (mut ws, _) = ClientBuilder::new()
        .uri(&url)?
        .limits(Limits::default().max_payload_len(Some(MAX_MESSAGE)))
        .connect()
        .await?;
    let mut got = Vec::new();
    while let Some(Ok(msg)) = ws.next().await {
        if !echo {
            if let Some(t) = msg.as_text() {
                got.push(t.to_string());
            }
        } else if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
            break;
        }
    }
    Ok(got)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    drive(session).await;
}
