//! Testing a server: connect to a `ws://` URL, perform the opening handshake
//! as a client (RFC 6455 §4.1), then run the case on the connection.

use std::time::{Duration, SystemTime};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wsconform_cases::Case;
use wsconform_wire::handshake::{self, Request, Response, MAX_HEAD_BYTES};

use crate::engine::{self, EngineConfig};
use crate::record::Outcome;

/// A server under test, from its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub url: String,
    pub host: String,
    pub port: u16,
    /// The `Host` header value: the URL's authority.
    pub authority: String,
    pub path_and_query: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("malformed URL {0:?}: {1}")]
    Malformed(String, String),
    #[error("unsupported scheme {0:?} in {1:?}: use ws:// (wss:// is not supported yet)")]
    Scheme(String, String),
}

impl Target {
    pub fn parse(url: &str) -> Result<Target, TargetError> {
        let malformed = |why: &str| TargetError::Malformed(url.to_string(), why.to_string());
        let uri: http::Uri = url
            .parse()
            .map_err(|e: http::uri::InvalidUri| malformed(&e.to_string()))?;
        let scheme = uri.scheme_str().ok_or_else(|| malformed("no scheme"))?;
        if scheme != "ws" {
            return Err(TargetError::Scheme(scheme.to_string(), url.to_string()));
        }
        let authority = uri.authority().ok_or_else(|| malformed("no host"))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        if host.is_empty() {
            return Err(malformed("no host"));
        }
        Ok(Target {
            url: url.to_string(),
            host,
            port: authority.port_u16().unwrap_or(80),
            authority: authority.as_str().to_string(),
            path_and_query: uri
                .path_and_query()
                .map_or("/".into(), |p| p.as_str().to_string()),
        })
    }
}

/// Options of the server-testing role.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub engine: EngineConfig,
    /// RFC 6455 gives no number; Autobahn waits 5 s for the 101.
    pub open_handshake_timeout: Duration,
    pub user_agent: String,
}

/// Connects, shakes hands and runs `case`; every failure becomes part of the
/// outcome (a server that refuses a connection gets FAILED verdicts).
pub async fn run_case(case: &Case, target: &Target, options: &ClientOptions) -> Outcome {
    let started = SystemTime::now();
    let timeout = options
        .open_handshake_timeout
        .mul_f64(options.engine.timeout_scale);
    match tokio::time::timeout(timeout, open(target, options)).await {
        Err(_) => Outcome::setup_failed(started, format!("no handshake within {timeout:?}"), true),
        Ok(Err((error, request, response))) => {
            let mut o = Outcome::setup_failed(started, error, false);
            o.http_request = request;
            o.http_response = response;
            o
        }
        Ok(Ok(opened)) => {
            let mut outcome = Outcome::new(started);
            outcome.handshake_completed = true;
            outcome.http_request = opened.request;
            outcome.http_response = opened.response;
            engine::run(case, opened.stream, opened.leftover, &options.engine, outcome).await
        }
    }
}

struct Opened {
    stream: TcpStream,
    leftover: Vec<u8>,
    request: String,
    response: String,
}

type OpenError = (String, String, String);

async fn open(target: &Target, options: &ClientOptions) -> Result<Opened, OpenError> {
    let fail = |e: String| (e, String::new(), String::new());
    let mut stream = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|e| fail(format!("cannot connect to {}:{}: {e}", target.host, target.port)))?;
    stream.set_nodelay(true).map_err(|e| fail(e.to_string()))?;
    let key = handshake::key_from_nonce(rand::random());
    let mut request = Request::websocket(&target.authority, &target.path_and_query, &key);
    request.headers.push("User-Agent", options.user_agent.as_str());
    request.headers.push("Pragma", "no-cache");
    request.headers.push("Cache-Control", "no-cache");
    let request_bytes = request.to_bytes();
    let request_text = String::from_utf8_lossy(&request_bytes).into_owned();
    let with_request = |e: String, response: &[u8]| {
        (
            e,
            request_text.clone(),
            String::from_utf8_lossy(response).into_owned(),
        )
    };
    stream
        .write_all(&request_bytes)
        .await
        .map_err(|e| with_request(format!("cannot send the handshake: {e}"), b""))?;
    let mut buf = Vec::with_capacity(1024);
    loop {
        let mut chunk = [0u8; 4096];
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| with_request(format!("reading the handshake response: {e}"), &buf))?;
        if n == 0 {
            return Err(with_request(
                "the server closed the connection during the handshake".into(),
                &buf,
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
        match Response::parse(&buf) {
            Ok(None) if buf.len() < MAX_HEAD_BYTES => continue,
            Ok(None) => return Err(with_request("handshake response head too large".into(), &buf)),
            Err(e) => return Err(with_request(format!("invalid handshake response: {e}"), &buf)),
            Ok(Some((response, n))) => {
                let head = String::from_utf8_lossy(&buf[..n]).into_owned();
                handshake::validate_response(&response, &key, &[], &[]).map_err(|e| {
                    (
                        format!("handshake rejected: {e}"),
                        request_text.clone(),
                        head.clone(),
                    )
                })?;
                return Ok(Opened {
                    stream,
                    leftover: buf[n..].to_vec(),
                    request: request_text,
                    response: head,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let t = Target::parse("ws://127.0.0.1:9001/chat?x=1").expect("valid");
        assert_eq!(
            (t.host.as_str(), t.port, t.path_and_query.as_str()),
            ("127.0.0.1", 9001, "/chat?x=1")
        );
        assert_eq!(t.authority, "127.0.0.1:9001");
        let v6 = Target::parse("ws://[::1]:80").expect("valid");
        assert_eq!((v6.host.as_str(), v6.path_and_query.as_str()), ("::1", "/"));
        assert!(matches!(Target::parse("http://x"), Err(TargetError::Scheme(..))));
        assert!(Target::parse("ws://").is_err());
        assert!(Target::parse("not a url").is_err());
    }
}
