//! Echo server on tokio-websockets: text as text, binary as binary; payload
//! limit 64 MiB. tokio-websockets has no permessage-deflate.
use futures_util::{SinkExt, StreamExt};
use tokio_websockets::{Limits, ServerBuilder};
use wsconform_panel_rust::{listen, MAX_MESSAGE};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let listener = listen().await;
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(async move {
            let Ok((_, mut ws)) = ServerBuilder::new()
                .limits(Limits::default().max_payload_len(Some(MAX_MESSAGE)))
                .accept(stream)
                .await
            else {
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
