//! Echo server on tokio-tungstenite: text as text, binary as binary; message
//! and frame limits 64 MiB. tungstenite has no permessage-deflate.
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use wsconform_panel_rust::{listen, MAX_MESSAGE};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let listener = listen().await;
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(async move {
            let config = WebSocketConfig::default()
                .max_message_size(Some(MAX_MESSAGE))
                .max_frame_size(Some(MAX_MESSAGE));
            let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else {
                return;
            };
            while let Some(Ok(msg)) = ws.next().await {
                if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
                    break;
                }
            }
        });
    }
}
