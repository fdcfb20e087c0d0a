//! The opening handshake (RFC 6455 §4): requests and responses built with any
//! header set, valid or not, and parsed (with `httparse`) and validated with
//! typed errors. Parsing is bounded: at most [`MAX_HEAD_BYTES`] bytes and
//! [`MAX_HEADERS`] header lines are looked at.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use sha1::{Digest, Sha1};

/// Largest request or response head (start line + headers) accepted.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Most header lines accepted.
pub const MAX_HEADERS: usize = 64;

/// RFC 6455 §1.3: the GUID appended to the key before hashing.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` (RFC 6455 §4.2.2 item 5.4).
pub fn accept_key(key: &[u8]) -> String {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(GUID.as_bytes());
    BASE64.encode(sha.finalize())
}

/// A `Sec-WebSocket-Key` from 16 nonce bytes (RFC 6455 §4.1 item 7).
pub fn key_from_nonce(nonce: [u8; 16]) -> String {
    BASE64.encode(nonce)
}

/// One header line, kept in order and with the name's letter case as written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Header {
    pub name: String,
    pub value: Vec<u8>,
}

/// Headers in order; lookups ignore the name's case (RFC 7230 §3.2).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Headers(pub Vec<Header>);

impl Headers {
    /// Every value of `name`, in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.0
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_slice())
    }

    /// The single value of `name`; `Err` when it appears more than once.
    pub fn one(&self, name: &str) -> Result<Option<&[u8]>, HandshakeError> {
        let mut it = self
            .0
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_slice());
        let first = it.next();
        if it.next().is_some() {
            return Err(HandshakeError::Duplicate(name.to_string()));
        }
        Ok(first)
    }

    /// True when a comma-separated list in any `name` header contains `token`,
    /// compared case-insensitively (RFC 7230 §7, RFC 6455 §4.2.1 items 3–4).
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.tokens(name).any(|t| t.eq_ignore_ascii_case(token))
    }

    /// The comma-separated elements of every `name` header, trimmed.
    pub fn tokens<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.all(name)
            .filter_map(|v| std::str::from_utf8(v).ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|t| !t.is_empty())
    }

    pub fn push(&mut self, name: &str, value: impl Into<Vec<u8>>) {
        self.0.push(Header {
            name: name.to_string(),
            value: value.into(),
        });
    }

    /// Removes every `name` header.
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|h| !h.name.eq_ignore_ascii_case(name));
    }

    /// Replaces every `name` header by one with `value`, kept at the position
    /// of the first (or appended).
    pub fn set(&mut self, name: &str, value: impl Into<Vec<u8>>) {
        let value = value.into();
        match self.0.iter().position(|h| h.name.eq_ignore_ascii_case(name)) {
            Some(i) => {
                self.0[i].value = value;
                let mut seen = false;
                self.0.retain(|h| {
                    let same = h.name.eq_ignore_ascii_case(name);
                    let keep = !same || !seen;
                    seen |= same;
                    keep
                });
            }
            None => self.push(name, value),
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        for h in &self.0 {
            out.extend_from_slice(h.name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(&h.value);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
    }

    fn from_httparse(headers: &[httparse::Header<'_>]) -> Headers {
        Headers(
            headers
                .iter()
                .map(|h| Header {
                    name: h.name.to_string(),
                    value: h.value.to_vec(),
                })
                .collect(),
        )
    }
}

/// An HTTP/1.x request head.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Request {
    pub method: String,
    pub target: String,
    /// The minor version of HTTP/1.x.
    pub minor_version: u8,
    pub headers: Headers,
}

/// An HTTP/1.x response head.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub minor_version: u8,
    pub headers: Headers,
}

/// What is wrong with a handshake.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    #[error("handshake head exceeds {MAX_HEAD_BYTES} bytes")]
    HeadTooLarge,
    #[error("malformed HTTP: {0}")]
    Malformed(String),
    #[error("method {0} is not GET (RFC 6455 §4.1 item 2)")]
    MethodNotGet(String),
    #[error("HTTP/1.{0} is older than HTTP/1.1 (RFC 6455 §4.1 item 2)")]
    HttpVersion(u8),
    #[error("missing Host header (RFC 6455 §4.1 item 4)")]
    MissingHost,
    #[error("header {0} appears more than once")]
    Duplicate(String),
    #[error("Upgrade header is not websocket (RFC 6455 §4.2.1 item 3, §4.1)")]
    NoUpgradeWebsocket,
    #[error("Connection header does not contain Upgrade (RFC 6455 §4.2.1 item 4)")]
    NoConnectionUpgrade,
    #[error("missing Sec-WebSocket-Key (RFC 6455 §4.2.1 item 5)")]
    MissingKey,
    #[error("Sec-WebSocket-Key is not base64 of 16 bytes (RFC 6455 §4.1 item 7)")]
    BadKey,
    #[error("missing Sec-WebSocket-Version (RFC 6455 §4.2.1 item 6)")]
    MissingVersion,
    #[error("Sec-WebSocket-Version {0:?} is not 13 (RFC 6455 §4.2.2 item 4)")]
    UnsupportedVersion(String),
    #[error("status {0} instead of 101 (RFC 6455 §4.1 item 1 of the client's checks)")]
    Status(u16),
    #[error("missing Sec-WebSocket-Accept (RFC 6455 §4.1 item 4 of the client's checks)")]
    MissingAccept,
    #[error("Sec-WebSocket-Accept is {got:?}, expected {expected:?} (RFC 6455 §4.1)")]
    WrongAccept { expected: String, got: String },
    #[error("server selected subprotocol {0:?} that was not offered (RFC 6455 §4.1 item 6)")]
    UnofferedProtocol(String),
    #[error("server selected extension {0:?} that was not offered (RFC 6455 §4.1 item 5)")]
    UnofferedExtension(String),
}

/// Finds the end of the head, bounded by [`MAX_HEAD_BYTES`].
fn head_end(buf: &[u8]) -> Result<Option<usize>, HandshakeError> {
    let window = &buf[..buf.len().min(MAX_HEAD_BYTES)];
    match window.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(i) => Ok(Some(i + 4)),
        None if buf.len() >= MAX_HEAD_BYTES => Err(HandshakeError::HeadTooLarge),
        None => Ok(None),
    }
}

fn malformed(e: impl std::fmt::Display) -> HandshakeError {
    HandshakeError::Malformed(e.to_string())
}

impl Request {
    /// The request a conformant client sends (RFC 6455 §4.1).
    pub fn websocket(host: &str, target: &str, key: &str) -> Request {
        let mut headers = Headers::default();
        headers.push("Host", host);
        headers.push("Upgrade", "websocket");
        headers.push("Connection", "Upgrade");
        headers.push("Sec-WebSocket-Key", key);
        headers.push("Sec-WebSocket-Version", "13");
        Request {
            method: "GET".into(),
            target: target.into(),
            minor_version: 1,
            headers,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!(
            "{} {} HTTP/1.{}\r\n",
            self.method, self.target, self.minor_version
        )
        .into_bytes();
        self.headers.write(&mut out);
        out
    }

    /// Parses a request head from the start of `buf`. `Ok(None)` means the
    /// head is not complete yet; `Some((request, n))` consumed `n` bytes.
    pub fn parse(buf: &[u8]) -> Result<Option<(Request, usize)>, HandshakeError> {
        let Some(end) = head_end(buf)? else {
            return Ok(None);
        };
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf[..end]).map_err(malformed)? {
            httparse::Status::Complete(n) => Ok(Some((
                Request {
                    method: req.method.unwrap_or_default().to_string(),
                    target: req.path.unwrap_or_default().to_string(),
                    minor_version: req.version.unwrap_or_default(),
                    headers: Headers::from_httparse(req.headers),
                },
                n,
            ))),
            httparse::Status::Partial => Err(malformed("incomplete head")),
        }
    }
}

impl Response {
    /// The 101 response a conformant server sends for `key` (RFC 6455 §4.2.2).
    pub fn switching_protocols(key: &[u8]) -> Response {
        let mut headers = Headers::default();
        headers.push("Upgrade", "websocket");
        headers.push("Connection", "Upgrade");
        headers.push("Sec-WebSocket-Accept", accept_key(key));
        Response {
            status: 101,
            reason: "Switching Protocols".into(),
            minor_version: 1,
            headers,
        }
    }

    /// A plain error response, e.g. 400 or 426 (RFC 6455 §4.2.2, §4.4).
    pub fn error(status: u16, reason: &str) -> Response {
        let mut headers = Headers::default();
        headers.push("Content-Length", "0");
        Response {
            status,
            reason: reason.into(),
            minor_version: 1,
            headers,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        // `{:03}`: httparse accepts a status like "011" (code 11), and the
        // status line needs exactly three digits to parse again.
        let mut out = format!(
            "HTTP/1.{} {:03} {}\r\n",
            self.minor_version, self.status, self.reason
        )
        .into_bytes();
        self.headers.write(&mut out);
        out
    }

    /// Parses a response head; see [`Request::parse`].
    pub fn parse(buf: &[u8]) -> Result<Option<(Response, usize)>, HandshakeError> {
        let Some(end) = head_end(buf)? else {
            return Ok(None);
        };
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut resp = httparse::Response::new(&mut headers);
        match resp.parse(&buf[..end]).map_err(malformed)? {
            httparse::Status::Complete(n) => Ok(Some((
                Response {
                    status: resp.code.unwrap_or_default(),
                    reason: resp.reason.unwrap_or_default().to_string(),
                    minor_version: resp.version.unwrap_or_default(),
                    headers: Headers::from_httparse(resp.headers),
                },
                n,
            ))),
            httparse::Status::Partial => Err(malformed("incomplete head")),
        }
    }
}

/// A request that passed the server's checks (RFC 6455 §4.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOffer {
    pub key: String,
    pub protocols: Vec<String>,
    pub extensions: Vec<String>,
    pub origin: Option<Vec<u8>>,
}

/// The server's checks of a client's opening handshake (RFC 6455 §4.2.1).
pub fn validate_request(req: &Request) -> Result<ClientOffer, HandshakeError> {
    if req.method != "GET" {
        return Err(HandshakeError::MethodNotGet(req.method.clone()));
    }
    if req.minor_version < 1 {
        return Err(HandshakeError::HttpVersion(req.minor_version));
    }
    // RFC 6455 §3: fragment identifiers "MUST NOT be used on these URIs";
    // an HTTP request-target has none (RFC 9112 §3.2). Autobahn refuses
    // them too (protocol.py 2806-2818 in 0.10.9).
    if req.target.contains('#') {
        return Err(HandshakeError::Malformed(format!(
            "request target {:?} has a fragment (RFC 6455 §3)",
            req.target
        )));
    }
    if req.headers.one("Host")?.is_none() {
        return Err(HandshakeError::MissingHost);
    }
    if !req.headers.has_token("Upgrade", "websocket") {
        return Err(HandshakeError::NoUpgradeWebsocket);
    }
    if !req.headers.has_token("Connection", "Upgrade") {
        return Err(HandshakeError::NoConnectionUpgrade);
    }
    let key = req
        .headers
        .one("Sec-WebSocket-Key")?
        .ok_or(HandshakeError::MissingKey)?;
    let key = std::str::from_utf8(key)
        .map_err(|_| HandshakeError::BadKey)?
        .trim();
    match BASE64.decode(key) {
        Ok(raw) if raw.len() == 16 => {}
        _ => return Err(HandshakeError::BadKey),
    }
    let version = req
        .headers
        .one("Sec-WebSocket-Version")?
        .ok_or(HandshakeError::MissingVersion)?;
    if version.trim_ascii() != b"13" {
        return Err(HandshakeError::UnsupportedVersion(
            String::from_utf8_lossy(version).into_owned(),
        ));
    }
    // RFC 6455 §4.1 item 10: the subprotocols offered "MUST all be unique
    // strings" (Autobahn refuses duplicates too, protocol.py 2958-2965 in 0.10.9).
    let protocols: Vec<String> = req
        .headers
        .tokens("Sec-WebSocket-Protocol")
        .map(str::to_string)
        .collect();
    if let Some((_, p)) = protocols
        .iter()
        .enumerate()
        .find(|(i, p)| protocols[..*i].contains(p))
    {
        return Err(HandshakeError::Duplicate(format!(
            "Sec-WebSocket-Protocol value {p:?}"
        )));
    }
    Ok(ClientOffer {
        key: key.to_string(),
        protocols,
        extensions: extension_names(&req.headers),
        origin: req.headers.one("Origin")?.map(<[u8]>::to_vec),
    })
}

/// What a client learns from a valid 101 response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAccept {
    pub protocol: Option<String>,
    pub extensions: Vec<String>,
}

/// The client's checks of the server's response (RFC 6455 §4.1, the numbered
/// list after "the client MUST validate the server's response").
pub fn validate_response(
    resp: &Response,
    key: &str,
    offered_protocols: &[&str],
    offered_extensions: &[&str],
) -> Result<ServerAccept, HandshakeError> {
    // RFC 6455 §4.1: the status line is HTTP/1.1's (§4.2.2 "HTTP/1.1 101");
    // Autobahn refuses any other version (`processHandshake`, protocol.py
    // 4021-4023 in 0.10.9).
    if resp.minor_version != 1 {
        return Err(HandshakeError::HttpVersion(resp.minor_version));
    }
    if resp.status != 101 {
        return Err(HandshakeError::Status(resp.status));
    }
    // RFC 6455 §4.1 item 2 of the client's checks: the |Upgrade| value must be
    // "an ASCII case-insensitive match for the value websocket" — the whole
    // value, not one token of a list (Autobahn: protocol.py 4044-4047, where
    // repeated headers are joined with ", " first, so they fail too).
    let upgrade: Vec<&[u8]> = resp.headers.all("Upgrade").collect();
    if upgrade.len() != 1 || !upgrade[0].trim_ascii().eq_ignore_ascii_case(b"websocket") {
        return Err(HandshakeError::NoUpgradeWebsocket);
    }
    if !resp.headers.has_token("Connection", "Upgrade") {
        return Err(HandshakeError::NoConnectionUpgrade);
    }
    let got = resp
        .headers
        .one("Sec-WebSocket-Accept")?
        .ok_or(HandshakeError::MissingAccept)?;
    let expected = accept_key(key.as_bytes());
    if got.trim_ascii() != expected.as_bytes() {
        return Err(HandshakeError::WrongAccept {
            expected,
            got: String::from_utf8_lossy(got).into_owned(),
        });
    }
    // RFC 6455 §11.3.2: Sec-WebSocket-Extensions "MUST NOT appear more than
    // once in an HTTP response" (Autobahn: protocol.py 4091-4092).
    resp.headers.one("Sec-WebSocket-Extensions")?;
    let extensions = extension_names(&resp.headers);
    if let Some(ext) = extensions
        .iter()
        .find(|e| !offered_extensions.contains(&e.as_str()))
    {
        return Err(HandshakeError::UnofferedExtension(ext.clone()));
    }
    let protocol = match resp.headers.one("Sec-WebSocket-Protocol")? {
        None => None,
        // An empty value selects no subprotocol (RFC 6455 §4.1 item 6 is
        // about a value that names one; Autobahn: protocol.py 4139-4140).
        Some(p) if p.trim_ascii().is_empty() => None,
        Some(p) => {
            let p = String::from_utf8_lossy(p).trim().to_string();
            if !offered_protocols.contains(&p.as_str()) {
                return Err(HandshakeError::UnofferedProtocol(p));
            }
            Some(p)
        }
    };
    Ok(ServerAccept { protocol, extensions })
}

/// The extension names (without parameters) in every
/// `Sec-WebSocket-Extensions` header (RFC 6455 §9.1).
fn extension_names(headers: &Headers) -> Vec<String> {
    headers
        .tokens("Sec-WebSocket-Extensions")
        .filter_map(|e| e.split(';').next())
        .map(|e| e.trim().to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_accept_example() {
        // RFC 6455 §1.3.
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn request_round_trip_and_validation() {
        let req = Request::websocket("127.0.0.1:9001", "/chat?x=1", "dGhlIHNhbXBsZSBub25jZQ==");
        let bytes = req.to_bytes();
        let (parsed, n) = Request::parse(&bytes).expect("parses").expect("complete");
        assert_eq!(n, bytes.len());
        assert_eq!(parsed, req);
        assert!(validate_request(&parsed).is_ok());
        assert_eq!(Request::parse(&bytes[..bytes.len() - 1]), Ok(None));
    }

    #[test]
    fn request_errors() {
        let base = Request::websocket("h", "/", "dGhlIHNhbXBsZSBub25jZQ==");
        let mut r = base.clone();
        r.method = "POST".into();
        assert_eq!(
            validate_request(&r),
            Err(HandshakeError::MethodNotGet("POST".into()))
        );
        let mut r = base.clone();
        r.headers.set("Sec-WebSocket-Version", "8");
        assert_eq!(
            validate_request(&r),
            Err(HandshakeError::UnsupportedVersion("8".into()))
        );
        let mut r = base.clone();
        r.headers.set("Sec-WebSocket-Key", "c2hvcnQ=");
        assert_eq!(validate_request(&r), Err(HandshakeError::BadKey));
        let mut r = base.clone();
        r.headers.set("Connection", "keep-alive, UPGRADE");
        r.headers.set("upgrade", "WebSocket");
        assert!(validate_request(&r).is_ok());
        let mut r = base.clone();
        r.headers.push("Host", "other");
        assert_eq!(
            validate_request(&r),
            Err(HandshakeError::Duplicate("Host".into()))
        );
    }

    #[test]
    fn response_checks() {
        let key = "dGhlIHNhbXBsZSBub25jZQ==";
        let ok = Response::switching_protocols(key.as_bytes());
        let (parsed, _) = Response::parse(&ok.to_bytes())
            .expect("parses")
            .expect("complete");
        assert!(validate_response(&parsed, key, &[], &[]).is_ok());
        let mut bad = ok.clone();
        bad.headers.set("Sec-WebSocket-Accept", "nope");
        assert!(matches!(
            validate_response(&bad, key, &[], &[]),
            Err(HandshakeError::WrongAccept { .. })
        ));
        let mut proto = ok.clone();
        proto.headers.push("Sec-WebSocket-Protocol", "chat");
        assert_eq!(
            validate_response(&proto, key, &["echo"], &[]),
            Err(HandshakeError::UnofferedProtocol("chat".into()))
        );
        let mut ext = ok.clone();
        ext.headers.push("Sec-WebSocket-Extensions", "x-foo; a=1");
        assert_eq!(
            validate_response(&ext, key, &[], &[]),
            Err(HandshakeError::UnofferedExtension("x-foo".into()))
        );
    }

    /// The three response checks Autobahn makes and the RFC requires that a
    /// lenient reading missed (docs/verdict-rules.md row H1).
    #[test]
    fn response_checks_match_autobahn() {
        let key = "dGhlIHNhbXBsZSBub25jZQ==";
        let ok = Response::switching_protocols(key.as_bytes());
        let check = |r: &Response| validate_response(r, key, &[], &["x-foo"]);
        let mut http10 = ok.clone();
        http10.minor_version = 0;
        assert_eq!(check(&http10), Err(HandshakeError::HttpVersion(0)));
        for upgrade in ["websocket, h2c", "h2c, websocket", "websocket2"] {
            let mut list = ok.clone();
            list.headers.set("Upgrade", upgrade);
            assert_eq!(check(&list), Err(HandshakeError::NoUpgradeWebsocket), "{upgrade}");
        }
        let mut twice = ok.clone();
        twice.headers.push("Upgrade", "websocket");
        assert_eq!(check(&twice), Err(HandshakeError::NoUpgradeWebsocket));
        let mut spaced = ok.clone();
        spaced.headers.set("Upgrade", " WebSocket ");
        assert!(check(&spaced).is_ok());
        let mut repeated = ok.clone();
        repeated.headers.push("Sec-WebSocket-Extensions", "x-foo");
        repeated.headers.push("Sec-WebSocket-Extensions", "x-foo");
        assert!(matches!(check(&repeated), Err(HandshakeError::Duplicate(_))));
        let mut empty_protocol = ok;
        empty_protocol.headers.push("Sec-WebSocket-Protocol", "");
        assert_eq!(check(&empty_protocol).map(|a| a.protocol), Ok(None));
    }

    #[test]
    fn duplicate_subprotocols_are_refused() {
        let mut req = Request::websocket("127.0.0.1:9001", "/", "dGhlIHNhbXBsZSBub25jZQ==");
        req.headers.push("Sec-WebSocket-Protocol", "chat, superchat");
        assert!(validate_request(&req).is_ok());
        req.headers.push("Sec-WebSocket-Protocol", "chat");
        assert!(matches!(
            validate_request(&req),
            Err(HandshakeError::Duplicate(_))
        ));
    }

    #[test]
    fn a_fragment_in_the_request_target_is_refused() {
        let req = Request::websocket("127.0.0.1:9001", "/chat#x", "dGhlIHNhbXBsZSBub25jZQ==");
        assert!(matches!(
            validate_request(&req),
            Err(HandshakeError::Malformed(_))
        ));
    }

    #[test]
    fn head_size_is_capped() {
        let mut huge = b"GET / HTTP/1.1\r\nX: ".to_vec();
        huge.resize(MAX_HEAD_BYTES + 10, b'a');
        assert_eq!(Request::parse(&huge), Err(HandshakeError::HeadTooLarge));
    }
}
