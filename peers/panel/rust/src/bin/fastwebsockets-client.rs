//! Autobahn-protocol client driver on fastwebsockets (its hyper client
//! handshake, FragmentCollector, message limit 64 MiB).
use std::future::Future;

use bytes::Bytes;
use fastwebsockets::{handshake, FragmentCollector, OpCode};
use http_body_util::Empty;
use hyper::{header, Request};
use tokio::net::TcpStream;
use wsconform_panel_rust::{drive, BoxError, MAX_MESSAGE};

struct SpawnExecutor;

impl<F> hyper::rt::Executor<F> for SpawnExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        tokio::task::spawn(fut);
    }
}

async fn session(url: String, echo: bool) -> Result<Vec<String>, BoxError> {
    let uri: http::Uri = url.parse()?;
    let authority = uri.authority().ok_or("no host in URL")?.to_string();
    let stream = TcpStream::connect(&authority).await?;
    let req = Request::builder()
        .method("GET")
        .uri(uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"))
        .header(header::HOST, &authority)
        .header(header::UPGRADE, "websocket")
        .header(header::CONNECTION, "upgrade")
        .header(header::SEC_WEBSOCKET_KEY, handshake::generate_key())
        .header(header::SEC_WEBSOCKET_VERSION, "13")
        .body(Empty::<Bytes>::new())?;
    let (mut ws, _) = handshake::client(&SpawnExecutor, req, stream).await?;
    ws.set_max_message_size(MAX_MESSAGE);
    let mut ws = FragmentCollector::new(ws);
    let mut got = Vec::new();
    loop {
        let Ok(frame) = ws.read_frame().await else {
            break;
        };
        match frame.opcode {
            OpCode::Close => break,
            OpCode::Text if !echo => {
                got.push(String::from_utf8_lossy(&frame.payload).into_owned());
            }
            OpCode::Text | OpCode::Binary if echo => {
                if ws.write_frame(frame).await.is_err() {
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
