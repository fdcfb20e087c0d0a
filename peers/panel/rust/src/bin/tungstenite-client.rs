//! Autobahn-protocol client driver on tokio-tungstenite (limits 64 MiB).
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::{protocol::WebSocketConfig, Message};
use wsconform_panel_rust::{drive, BoxError, MAX_MESSAGE};

async fn session(url: String, echo: bool) -> Result<Vec<String>, BoxError> {
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), false).await?;
    let mut got = Vec::new();
    while let Some(Ok(msg)) = ws.next().await {
        match msg {
            Message::Text(t) if !echo => got.push(t.to_string()),
            m if echo && (m.is_text() || m.is_binary()) => {
                if ws.send(m).await.is_err() {
                    break;
                }
            }
            _ => {}
        }
    }
    Ok(got)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    drive(session).await;
}
