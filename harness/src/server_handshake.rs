//! The server side of the opening handshake (RFC 6455 §4.2), shared by the
//! fuzzing server (testing clients) and the reference server: read the
//! request head (bounded in size), check it with `wire`'s validator, and
//! answer 101, 426 with the version spoken (§4.4), or 400.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use wsconform_cases::{HeaderEdit, ResponseEdits};
use wsconform_wire::deflate;
use wsconform_wire::handshake::{self, HandshakeError, Request, Response, MAX_HEAD_BYTES};

use crate::delivery::{write_paced, Link};
use crate::record::DeflateFacts;
use wsconform_wire::Frame;

#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("bad request: {0}")]
    Bad(String),
}

/// Misbehaviours for the reference server's knobs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Leniency {
    /// Upgrade whatever the request looks like.
    pub accept_anything: bool,
    /// Answer with a wrong `Sec-WebSocket-Accept`.
    pub wrong_accept: bool,
}

/// Reads a request head; returns it, the bytes read past it, and its text.
pub async fn read_head<S: AsyncRead + Unpin>(
    stream: &mut S,
) -> Result<(Request, Vec<u8>, String), AcceptError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(AcceptError::Bad(
                "connection closed before the request head ended".into(),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
        match Request::parse(&buf) {
            Ok(Some((req, used))) => {
                let head = String::from_utf8_lossy(&buf[..used]).into_owned();
                return Ok((req, buf[used..].to_vec(), head));
            }
            Ok(None) if buf.len() < MAX_HEAD_BYTES => {}
            Ok(None) => return Err(AcceptError::Bad("request head too large".into())),
            Err(e) => return Err(AcceptError::Bad(e.to_string())),
        }
    }
}

/// Sends an HTTP error response with `why` as its body and closes.
pub async fn http_error<S: AsyncWrite + Unpin>(
    stream: &mut S,
    status: u16,
    reason: &str,
    extra: Option<(&str, &str)>,
    why: &str,
) -> Result<(), AcceptError> {
    let mut resp = Response::error(status, reason);
    resp.headers.set("Content-Length", why.len().to_string());
    if let Some((name, value)) = extra {
        resp.headers.push(name, value);
    }
    let mut bytes = resp.to_bytes();
    bytes.extend_from_slice(why.as_bytes());
    stream.write_all(&bytes).await?;
    let _ = stream.shutdown().await;
    Err(AcceptError::Bad(why.to_string()))
}

/// Answers `req`: 101 when it is a valid opening handshake, else an error
/// response (426 for a version this server does not speak, RFC 6455 §4.4;
/// 400 otherwise). A 101 cut in chops (`edits.write`) is paced as the
/// engine paces frames, its reads seen through `link`
/// ([`write_paced`]). Returns the 101 response head as text.
pub async fn answer<S: AsyncWrite + Unpin>(
    stream: &mut S,
    req: &Request,
    leniency: Leniency,
    edits: &ResponseEdits,
    link: Option<Link>,
) -> Result<String, AcceptError> {
    let key = match handshake::validate_request(req) {
        Ok(offer) => offer.key,
        Err(_) if leniency.accept_anything => req
            .headers
            .all("Sec-WebSocket-Key")
            .next()
            .map(|k| String::from_utf8_lossy(k).trim().to_string())
            .unwrap_or_default(),
        Err(e) => {
            let version = matches!(&e, HandshakeError::UnsupportedVersion(_))
                || matches!(&e, HandshakeError::Duplicate(h) if h.eq_ignore_ascii_case("Sec-WebSocket-Version"));
            // The statuses Autobahn's server answers too (protocol.py
            // 2797-2802 in 0.10.9; RFC 9110 §15.5.6, §15.6.6).
            let (status, reason, extra) = match &e {
                _ if version => (426, "Upgrade Required", Some(("Sec-WebSocket-Version", "13"))),
                HandshakeError::MethodNotGet(_) => (405, "Method Not Allowed", Some(("Allow", "GET"))),
                HandshakeError::HttpVersion(_) => (505, "HTTP Version Not Supported", None),
                _ => (400, "Bad Request", None),
            };
            return http_error(stream, status, reason, extra, &e.to_string())
                .await
                .map(|()| String::new());
        }
    };
    let key = if leniency.wrong_accept {
        format!("{key}x")
    } else {
        key
    };
    let mut resp = Response::switching_protocols(key.as_bytes());
    resp.headers
        .push("Server", format!("wsconform/{}", env!("CARGO_PKG_VERSION")));
    // Testing clients: the response the case asks for (hs.client.*).
    if let Some((status, reason)) = &edits.status {
        resp.status = *status;
        resp.reason = reason.clone();
    }
    if let Some(minor) = edits.minor_version {
        resp.minor_version = minor;
    }
    for edit in &edits.headers {
        edit.apply(&mut resp.headers);
    }
    let mut bytes = resp.to_bytes();
    let head = String::from_utf8_lossy(&bytes).into_owned();
    if let Some(f) = &edits.pipelined {
        Frame::new(f.opcode, f.payload.to_vec())
            .fin(f.fin)
            .rsv(f.rsv)
            .encode_into(&mut bytes);
    }
    write_paced(stream, &bytes, edits.write, link).await?;
    Ok(head)
}

/// The server's permessage-deflate answer to `req` (RFC 7692 §5): the
/// client's valid offers in its order against `policies` in order, the
/// first acceptance wins ([`deflate::choose`]); `None` declines (no offer,
/// none acceptable, or a malformed `Sec-WebSocket-Extensions`, which RFC
/// 7692 §5 lets a server decline). The caller adds
/// `Sec-WebSocket-Extensions: <response>` to its 101.
pub fn accept_deflate(req: &Request, policies: &[deflate::AcceptPolicy]) -> Option<DeflateFacts> {
    let offers = deflate::Offer::all_in(req.headers.all("Sec-WebSocket-Extensions")).ok()?;
    let (_, response) = deflate::choose(&offers, policies)?;
    Some(DeflateFacts {
        response: response.to_string(),
        params: response.params(),
        response_breaks: None,
    })
}

/// The response header that announces `facts`.
pub fn deflate_header(facts: &DeflateFacts) -> HeaderEdit {
    HeaderEdit::Set {
        name: "Sec-WebSocket-Extensions".into(),
        value: facts.response.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn autobahns_default_offer_is_accepted() {
        let raw = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; client_max_window_bits\r\n\r\n";
        let (req, _) = Request::parse(raw).expect("parses").expect("complete");
        let facts = accept_deflate(&req, &[Default::default()]).expect("accepted");
        assert_eq!(facts.response, "permessage-deflate");
        assert!(accept_deflate(&req, &[]).is_none());
    }
}
