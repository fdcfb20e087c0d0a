//! Testing a server: connect to a `ws://` or `wss://` URL, perform the
//! opening handshake as a client (RFC 6455 §4.1), then run the case on the
//! connection.

use std::time::{Duration, SystemTime};

use tokio::io::AsyncReadExt;
use wsconform_cases::{Case, HandshakeExpect, ResponseRules, Write};
use wsconform_wire::deflate::{self, Offer};
use wsconform_wire::handshake::{self, Request, Response, MAX_HEAD_BYTES};
use wsconform_wire::Frame;

use crate::delivery::{write_paced, Link};
use crate::engine::{self, EngineConfig};
use crate::record::{DeflateFacts, HandshakeAnswer, Outcome};
use tokio::net::TcpStream;

use crate::transport::{Connector, Stream, Target};

/// How long a TCP connect may take (Twisted's `connectTCP` default, which
/// Autobahn's client uses), before any timeout scaling.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Options of the server-testing role.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub engine: EngineConfig,
    /// RFC 6455 gives no number; Autobahn waits 5 s for the 101.
    pub open_handshake_timeout: Duration,
    pub user_agent: String,
    /// Opens connections; its TLS trust applies to `wss://` targets.
    pub connector: Connector,
}

/// Connects, shakes hands and runs `case`; every failure becomes part of the
/// outcome (a server that refuses a connection gets FAILED verdicts).
pub async fn run_case(case: &Case, target: &Target, options: &ClientOptions) -> Outcome {
    let started = SystemTime::now();
    let timeout = options
        .open_handshake_timeout
        .mul_f64(options.engine.timeout_scale);
    let expect = case.handshake.as_ref().map(|h| &h.expect);
    // Autobahn arms its opening-handshake timer when TCP is connected
    // (`_connectionMade`, protocol.py in 0.10.9): TLS and the HTTP exchange
    // count, the TCP connect has its own bound (Twisted's `connectTCP`, 30 s).
    let tcp = match tokio::time::timeout(
        CONNECT_TIMEOUT.mul_f64(options.engine.timeout_scale),
        Connector::tcp(target),
    )
    .await
    {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(e)) => return Outcome::setup_failed(started, e.to_string(), false),
        Err(_) => {
            return Outcome::setup_failed(
                started,
                format!("no TCP connection within {CONNECT_TIMEOUT:?}"),
                false,
            )
        }
    };
    let link = Link::of(&tcp);
    match tokio::time::timeout(timeout, open(case, tcp, link, target, options)).await {
        Err(_) => Outcome::setup_failed(started, format!("no handshake answer within {timeout:?}"), true),
        Ok(Err(refused)) => {
            // Bytes that are not an HTTP response (or one cut off) differ
            // from a server that closed without a word.
            let answer = match refused.status {
                Some(response) => HandshakeAnswer::Refused { response },
                None if refused.response.is_empty() => HandshakeAnswer::NoAnswer,
                None => HandshakeAnswer::NotHttp {
                    why: refused.error.clone(),
                },
            };
            let mut o = Outcome::setup_failed(started, refused.error.clone(), false);
            o.http_request = refused.request;
            o.http_response = refused.response;
            // Only the cases whose handshake is the test judge the answer;
            // the others fail the usual way (no connection).
            o.handshake_answer = expect.filter(|e| is_handshake_test(e)).map(|_| answer);
            o
        }
        Ok(Ok(opened)) => {
            let mut outcome = Outcome::new(started);
            outcome.http_request = opened.request;
            outcome.http_response = opened.response;
            if expect.is_some_and(is_handshake_test) {
                // Upgraded where it had to refuse, or a case that only
                // reports: the steps do not run.
                outcome.handshake_answer = Some(HandshakeAnswer::Upgraded);
                return outcome;
            }
            outcome.handshake_completed = true;
            outcome.deflate = opened.deflate;
            engine::run(
                case,
                opened.stream,
                opened.leftover,
                link,
                &options.engine,
                outcome,
            )
            .await
        }
    }
}

/// Server cases whose answer to the handshake is the whole test.
fn is_handshake_test(expect: &HandshakeExpect) -> bool {
    matches!(expect, HandshakeExpect::Reject { .. } | HandshakeExpect::Either)
}

struct Opened {
    stream: Stream,
    leftover: Vec<u8>,
    request: String,
    response: String,
    deflate: Option<DeflateFacts>,
}

/// The case's permessage-deflate offers (RFC 7692 §5), in order.
fn offers(case: &Case) -> Vec<Offer> {
    case.deflate
        .iter()
        .flat_map(|d| d.offers.iter().map(|o| o.to_wire()))
        .collect()
}

/// A handshake that did not lead to an open connection.
struct Refused {
    error: String,
    request: String,
    response: String,
    /// The server's answer, when it gave one that is not an upgrade.
    status: Option<Response>,
}

impl Refused {
    fn new(error: String) -> Refused {
        Refused {
            error,
            request: String::new(),
            response: String::new(),
            status: None,
        }
    }
}

/// The request for `case`: the standard one, changed as the case says.
fn build_request(case: &Case, target: &Target, key: &str, user_agent: &str) -> Vec<u8> {
    let mut request = Request::websocket(&target.authority, &target.path_and_query, key);
    request.headers.push("User-Agent", user_agent);
    request.headers.push("Pragma", "no-cache");
    request.headers.push("Cache-Control", "no-cache");
    let offers = offers(case);
    if !offers.is_empty() {
        // One header, the offers in order of preference, as Autobahn sends them.
        let value: Vec<String> = offers.iter().map(Offer::to_string).collect();
        request.headers.push("Sec-WebSocket-Extensions", value.join(", "));
    }
    let Some(edits) = case.handshake.as_ref().map(|h| &h.request) else {
        return request.to_bytes();
    };
    if let Some(method) = &edits.method {
        request.method = method.clone();
    }
    if let Some(minor) = edits.minor_version {
        request.minor_version = minor;
    }
    for edit in &edits.headers {
        edit.apply(&mut request.headers);
    }
    let mut bytes = request.to_bytes();
    if let Some(frame) = &edits.pipelined {
        // As a client would: masked (RFC 6455 §5.3).
        let f = Frame::new(frame.opcode, frame.payload.to_vec())
            .fin(frame.fin)
            .rsv(frame.rsv)
            .mask(Some(rand::random()));
        f.encode_into(&mut bytes);
    }
    bytes
}

async fn open(
    case: &Case,
    tcp: TcpStream,
    link: Option<Link>,
    target: &Target,
    options: &ClientOptions,
) -> Result<Opened, Refused> {
    let mut stream = options
        .connector
        .secure(tcp, target)
        .await
        .map_err(|e| Refused::new(e.to_string()))?;
    let key = handshake::key_from_nonce(rand::random());
    let request_bytes = build_request(case, target, &key, &options.user_agent);
    let request_text = String::from_utf8_lossy(&request_bytes).into_owned();
    let refused = |error: String, response: &[u8], status: Option<Response>| Refused {
        error,
        request: request_text.clone(),
        response: String::from_utf8_lossy(response).into_owned(),
        status,
    };
    let write = case.handshake.as_ref().map_or(Write::Whole, |h| h.request.write);
    write_paced(&mut stream, &request_bytes, write, link)
        .await
        .map_err(|e| refused(format!("cannot send the handshake: {e}"), b"", None))?;
    let (response, head, leftover) = match read_response(&mut stream).await {
        Ok(r) => r,
        Err((why, partial)) => return Err(refused(why, &partial, None)),
    };
    if response.status != 101 {
        let status = response.status;
        return Err(refused(
            format!("the server answered {status}, not 101"),
            &head,
            Some(response),
        ));
    }
    // Only cases that expect an upgrade check its details; the others judge
    // the 101 itself.
    let offered: Option<Vec<&str>> = match case.handshake.as_ref().map(|h| &h.expect) {
        None => Some(Vec::new()),
        Some(HandshakeExpect::Accept { offered_protocols }) => {
            Some(offered_protocols.iter().map(String::as_str).collect())
        }
        Some(_) => None,
    };
    let offers = offers(case);
    let extensions: &[&str] = if offers.is_empty() {
        &[]
    } else {
        &[deflate::EXTENSION_NAME]
    };
    if let Some(offered) = offered {
        handshake::validate_response(&response, &key, &offered, extensions)
            .map_err(|e| refused(format!("handshake rejected: {e}"), &head, None))?;
    }
    // RFC 7692 §5, §7.1: the client checks the accepted element against
    // its offers and fails the connection on any broken rule; under
    // Autobahn's rule (12.x/13.x) only a malformed element does.
    let values = response.headers.all("Sec-WebSocket-Extensions");
    let rules = case.deflate.as_ref().map(|d| d.response).unwrap_or_default();
    let checked = match rules {
        ResponseRules::AnswersAnOffer => {
            deflate::validate_response_headers(&offers, values).map(|p| p.map(|params| (params, None)))
        }
        ResponseRules::AsAutobahn => deflate::accept_response_headers(&offers, values),
    }
    .map_err(|e| refused(format!("handshake rejected: {e}"), &head, None))?;
    let deflate = checked.map(|(params, broken)| DeflateFacts {
        response: response
            .headers
            .all("Sec-WebSocket-Extensions")
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect::<Vec<_>>()
            .join(", "),
        params,
        response_breaks: broken.map(|e| e.to_string()),
    });
    Ok(Opened {
        stream,
        leftover,
        request: request_text,
        response: String::from_utf8_lossy(&head).into_owned(),
        deflate,
    })
}

/// Reads a response head (bounded by `MAX_HEAD_BYTES`): the response, its
/// bytes, and the bytes read past it; on failure, why and what was read.
pub(crate) async fn read_response<S: tokio::io::AsyncRead + Unpin>(
    stream: &mut S,
) -> Result<(Response, Vec<u8>, Vec<u8>), (String, Vec<u8>)> {
    let mut buf = Vec::with_capacity(1024);
    loop {
        let mut chunk = [0u8; 4096];
        let n = match stream.read(&mut chunk).await {
            Ok(n) => n,
            Err(e) => return Err((format!("reading the handshake response: {e}"), buf)),
        };
        if n == 0 {
            return Err((
                "the server closed the connection during the handshake".into(),
                buf,
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
        match Response::parse(&buf) {
            Ok(None) if buf.len() < MAX_HEAD_BYTES => continue,
            Ok(None) => return Err(("handshake response head too large".into(), buf)),
            Err(e) => return Err((format!("invalid handshake response: {e}"), buf)),
            Ok(Some((response, n))) => {
                let leftover = buf.split_off(n);
                return Ok((response, buf, leftover));
            }
        }
    }
}
