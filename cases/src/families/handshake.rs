//! Category `hs`, the opening handshake (RFC 6455 §4.1, §4.2), which
//! Autobahn never tested. `hs.server.*`: requests a server must accept,
//! requests it must reject, and requests where the RFC leaves the answer
//! open. `hs.client.*`: responses a client must accept and responses it must
//! refuse. Ids are readable and cannot collide with Autobahn's numeric ones.

use wsconform_wire::Role;

use crate::build::{case, got_text, rfc, text};
use crate::model::{
    Case, Handshake, HandshakeExpect, HeaderEdit, RequestEdits, Requirement, ResponseEdits, Write,
};

fn set(name: &str, value: &str) -> HeaderEdit {
    HeaderEdit::Set {
        name: name.into(),
        value: value.into(),
    }
}

fn add(name: &str, value: &str) -> HeaderEdit {
    HeaderEdit::Add {
        name: name.into(),
        value: value.into(),
    }
}

fn remove(name: &str) -> HeaderEdit {
    HeaderEdit::Remove { name: name.into() }
}

fn rename(from: &str, to: &str) -> HeaderEdit {
    HeaderEdit::Rename {
        from: from.into(),
        to: to.into(),
    }
}

fn headers(edits: Vec<HeaderEdit>) -> RequestEdits {
    RequestEdits {
        headers: edits,
        ..RequestEdits::default()
    }
}

/// A request the server must accept; the connection must then echo a text
/// message and close cleanly.
fn accept(
    id: &str,
    section: &str,
    description: &str,
    request: RequestEdits,
    offered_protocols: &[&str],
) -> Case {
    case(format!("hs.server.{id}"), description, rfc(section, Requirement::Must))
        .expect("The server accepts (101 with the right Sec-WebSocket-Accept), then echoes a text message; clean close.")
        .send(text("Hello, handshake!"))
        .kill_after(1000)
        .ok(vec![got_text("Hello, handshake!")])
        .shake(Handshake {
            peer: Role::Server,
            response: ResponseEdits::default(),
            request,
            expect: HandshakeExpect::Accept {
                offered_protocols: offered_protocols.iter().map(|p| p.to_string()).collect(),
            },
        })
}

/// A request the server must refuse with one of `ok`.
fn reject(id: &str, section: &str, description: &str, request: RequestEdits, ok: &[u16]) -> Case {
    let codes: Vec<String> = ok.iter().map(u16::to_string).collect();
    case(
        format!("hs.server.{id}"),
        description,
        rfc(section, Requirement::Must),
    )
    .expect(format!(
        "The server refuses the upgrade with HTTP {} (another 4xx is NON-STRICT; 101 is FAILED).",
        codes.join(" or ")
    ))
    .kill_after(1000)
    .shake(Handshake {
        peer: Role::Server,
        response: ResponseEdits::default(),
        request,
        expect: HandshakeExpect::Reject {
            ok: ok.to_vec(),
            with_header: None,
        },
    })
}

/// A version the server does not speak: 426 with the version it does
/// (RFC 6455 §4.4).
fn wrong_version(id: &str, description: &str, version: &str) -> Case {
    case(format!("hs.server.{id}"), description, rfc("RFC 6455 §4.4", Requirement::Must))
        .expect("The server answers 426 Upgrade Required with Sec-WebSocket-Version: 13 (another 4xx, or 426 without the header, is NON-STRICT; 101 is FAILED).")
        .kill_after(1000)
        .shake(Handshake {
            peer: Role::Server,
            response: ResponseEdits::default(),
            request: headers(vec![set("Sec-WebSocket-Version", version)]),
            expect: HandshakeExpect::Reject {
                ok: vec![426],
                with_header: Some(("Sec-WebSocket-Version".into(), "13".into())),
            },
        })
}

/// A request the RFC lets the server accept or refuse; it must answer.
fn either(id: &str, section: &str, description: &str, request: RequestEdits) -> Case {
    case(
        format!("hs.server.{id}"),
        description,
        rfc(section, Requirement::Informational),
    )
    .expect("Any answer is conformant (INFORMATIONAL); no answer within the handshake timeout is FAILED.")
    .kill_after(1000)
    .shake(Handshake {
        peer: Role::Server,
        response: ResponseEdits::default(),
        request,
        expect: HandshakeExpect::Either,
    })
}

pub fn cases() -> Vec<Case> {
    let mut out = vec![
        accept("standard", "RFC 6455 §4.2.2", "The standard client request.", RequestEdits::default(), &[]),
        accept("upgrade-letter-case", "RFC 6455 §4.2.1", "Upgrade: WEBSOCKET (the token is case-insensitive).", headers(vec![set("Upgrade", "WEBSOCKET")]), &[]),
        accept("connection-letter-case", "RFC 6455 §4.2.1", "Connection: upgrade (the token is case-insensitive).", headers(vec![set("Connection", "upgrade")]), &[]),
        accept("connection-list", "RFC 6455 §4.2.1", "Connection: keep-alive, Upgrade (a comma list, as browsers send).", headers(vec![set("Connection", "keep-alive, Upgrade")]), &[]),
        accept(
            "header-names-lower-case",
            "RFC 7230 §3.2",
            "Every header name in lower case (header names are case-insensitive).",
            headers(["Host", "Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version"].iter().map(|h| rename(h, &h.to_lowercase())).collect()),
            &[],
        ),
        accept(
            "header-names-upper-case",
            "RFC 7230 §3.2",
            "Every header name in upper case.",
            headers(["Host", "Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version"].iter().map(|h| rename(h, &h.to_uppercase())).collect()),
            &[],
        ),
        accept(
            "one-byte-writes",
            "RFC 6455 §4.2.1",
            "The request arrives one byte per write.",
            RequestEdits {
                write: Write::Chop(1),
                ..RequestEdits::default()
            },
            &[],
        ),
        accept("extra-headers", "RFC 6455 §4.1", "Unrelated headers (User-Agent, Accept, Cookie) around the handshake headers.", headers(vec![add("Accept", "*/*"), add("Cookie", "a=b"), add("X-Custom", "1")]), &[]),
        accept("subprotocol-offered", "RFC 6455 §4.2.2", "Sec-WebSocket-Protocol: chat, superchat; the server may pick one of them or none, never another.", headers(vec![set("Sec-WebSocket-Protocol", "chat, superchat")]), &["chat", "superchat"]),
        accept("unknown-extension", "RFC 6455 §9.1", "Sec-WebSocket-Extensions: x-wsconform-unknown; the server must not accept an extension it does not know.", headers(vec![set("Sec-WebSocket-Extensions", "x-wsconform-unknown; param=1")]), &[]),
    ];
    let mut pipelined = accept(
        "pipelined-frame",
        "RFC 6455 §4.1",
        "A text frame in the same write as the request, before the 101: the server must process it after the handshake.",
        RequestEdits {
            pipelined: Some(text("Hello, handshake!")),
            ..RequestEdits::default()
        },
        &[],
    );
    // The pipelined frame replaces the one the steps would send.
    pipelined
        .steps
        .retain(|s| !matches!(s, crate::model::Step::Frame { .. }));
    out.push(pipelined);
    out.extend([
        reject(
            "method-post",
            "RFC 6455 §4.2.1",
            "Method POST instead of GET.",
            RequestEdits {
                method: Some("POST".into()),
                ..RequestEdits::default()
            },
            &[400, 405],
        ),
        reject(
            "http-1.0",
            "RFC 6455 §4.2.1",
            "HTTP/1.0 instead of HTTP/1.1.",
            RequestEdits {
                minor_version: Some(0),
                ..RequestEdits::default()
            },
            &[400, 505],
        ),
        reject(
            "missing-host",
            "RFC 6455 §4.2.1",
            "No Host header.",
            headers(vec![remove("Host")]),
            &[400],
        ),
        reject(
            "duplicate-host",
            "RFC 7230 §5.4",
            "Two Host headers.",
            headers(vec![add("Host", "other.invalid")]),
            &[400],
        ),
        reject(
            "missing-upgrade",
            "RFC 6455 §4.2.1",
            "No Upgrade header.",
            headers(vec![remove("Upgrade")]),
            &[400, 426],
        ),
        reject(
            "upgrade-not-websocket",
            "RFC 6455 §4.2.1",
            "Upgrade: h2c instead of websocket.",
            headers(vec![set("Upgrade", "h2c")]),
            &[400, 426],
        ),
        reject(
            "missing-connection",
            "RFC 6455 §4.2.1",
            "No Connection header.",
            headers(vec![remove("Connection")]),
            &[400, 426],
        ),
        reject(
            "connection-without-upgrade",
            "RFC 6455 §4.2.1",
            "Connection: keep-alive, without the Upgrade token.",
            headers(vec![set("Connection", "keep-alive")]),
            &[400, 426],
        ),
        reject(
            "missing-key",
            "RFC 6455 §4.2.1",
            "No Sec-WebSocket-Key.",
            headers(vec![remove("Sec-WebSocket-Key")]),
            &[400],
        ),
        reject(
            "key-too-short",
            "RFC 6455 §4.1",
            "Sec-WebSocket-Key decodes to 8 bytes, not 16.",
            headers(vec![set("Sec-WebSocket-Key", "AAECAwQFBgc=")]),
            &[400],
        ),
        reject(
            "key-too-long",
            "RFC 6455 §4.1",
            "Sec-WebSocket-Key decodes to 20 bytes, not 16.",
            headers(vec![set("Sec-WebSocket-Key", "AAECAwQFBgcICQoLDA0ODxAREhM=")]),
            &[400],
        ),
        reject(
            "key-not-base64",
            "RFC 6455 §4.1",
            "Sec-WebSocket-Key is not base64.",
            headers(vec![set("Sec-WebSocket-Key", "not*base64*at*all!!!!!==")]),
            &[400],
        ),
        reject(
            "duplicate-key",
            "RFC 6455 §11.3.1",
            "Two Sec-WebSocket-Key headers.",
            headers(vec![add("Sec-WebSocket-Key", "AAECAwQFBgcICQoLDA0ODw==")]),
            &[400],
        ),
        reject(
            "missing-version",
            "RFC 6455 §4.2.1",
            "No Sec-WebSocket-Version.",
            headers(vec![remove("Sec-WebSocket-Version")]),
            &[400, 426],
        ),
        wrong_version("version-14", "Sec-WebSocket-Version: 14 (unknown).", "14"),
        wrong_version(
            "several-versions",
            "Sec-WebSocket-Version: 13, 8 (a list where one value is required).",
            "13, 8",
        ),
        either(
            "long-header",
            "RFC 6455 §4.2.1",
            "A 12 KiB header value: the server may refuse (e.g. 431) or accept, but must answer.",
            headers(vec![add("X-Long", &"a".repeat(12 * 1024))]),
        ),
        either(
            "version-8",
            "RFC 6455 §4.4",
            "Sec-WebSocket-Version: 8 (draft hybi-08): a server that also speaks that draft may accept; one that does not must answer 426 with Sec-WebSocket-Version: 13 (hs.server.version-14 checks that).",
            headers(vec![set("Sec-WebSocket-Version", "8")]),
        ),
        either(
            "origin-present",
            "RFC 6455 §10.2",
            "Origin: http://example.invalid: a server may refuse origins it does not trust (403).",
            headers(vec![add("Origin", "http://example.invalid")]),
        ),
    ]);
    out.extend(client_cases());
    out
}

/// A client case: the harness answers `/runCase` with `response` changed.
fn client_case(
    id: &str,
    section: &str,
    description: &str,
    response: ResponseEdits,
    expect: HandshakeExpect,
) -> Case {
    let accept = matches!(expect, HandshakeExpect::Accept { .. } | HandshakeExpect::FreshKey);
    let c = case(
        format!("hs.client.{id}"),
        description,
        rfc(section, Requirement::Must),
    )
    .kill_after(1000);
    let c = if accept {
        c.expect("The client accepts the response and echoes a text message; clean close.")
            .send(text("Hello, handshake!"))
            .ok(vec![got_text("Hello, handshake!")])
    } else {
        c.expect("The client fails the connection: it closes it (OK) instead of using it (echoing the probe message is FAILED).")
    };
    c.shake(Handshake {
        peer: Role::Client,
        request: RequestEdits::default(),
        response,
        expect,
    })
}

fn response(edits: Vec<HeaderEdit>) -> ResponseEdits {
    ResponseEdits {
        headers: edits,
        ..ResponseEdits::default()
    }
}

/// The client role's cases (RFC 6455 §4.1, the client's checks of the
/// server's response).
fn client_cases() -> Vec<Case> {
    let fails = || HandshakeExpect::ClientFails;
    let accepts = || HandshakeExpect::Accept {
        offered_protocols: Vec::new(),
    };
    // With an empty body, so that a client may read the whole answer and
    // close (a 200 without Content-Length would last until the server closes).
    let status = |code: u16, reason: &str| ResponseEdits {
        status: Some((code, reason.into())),
        headers: vec![set("Content-Length", "0")],
        ..ResponseEdits::default()
    };
    let mut pipelined = client_case(
        "frames-with-response",
        "RFC 6455 §4.1",
        "A text frame in the same TCP segment as the 101: the client must read it as the first message.",
        ResponseEdits {
            pipelined: Some(text("Hello, handshake!")),
            ..ResponseEdits::default()
        },
        accepts(),
    );
    pipelined
        .steps
        .retain(|s| !matches!(s, crate::model::Step::Frame { .. }));
    // RFC 6455 §4.2.2 has the server answer "HTTP/1.1 101", and HTTP/1.0
    // has no 1xx status (RFC 9110 §15.2); but §4.1 does not list the version
    // among the checks a client MUST make: accepting it is NON-STRICT.
    // (Autobahn's client refuses it, protocol.py 4021-4023 in 0.10.9.)
    let mut http10 = client_case(
        "http-1.0",
        "RFC 6455 §4.2.2",
        "HTTP/1.0 101 instead of HTTP/1.1 101: the WebSocket handshake is an HTTP/1.1 upgrade and HTTP/1.0 has no 1xx status; a client should refuse it (accepting it is NON-STRICT).",
        ResponseEdits {
            minor_version: Some(0),
            ..ResponseEdits::default()
        },
        fails(),
    );
    http10.rfc.level = Requirement::Should;
    vec![
        client_case("standard", "RFC 6455 §4.1", "The standard 101 response; the client's own request is checked too (GET, HTTP/1.1, Host, a 16-byte base64 key, version 13), and answered 400 when wrong.", ResponseEdits::default(), accepts()),
        client_case("fresh-key", "RFC 6455 §4.1", "No connection of the client in this run so far, this one included, repeated a Sec-WebSocket-Key (the nonce must be chosen randomly for each connection): a short-period generator may send a fresh key on this very connection.", ResponseEdits::default(), HandshakeExpect::FreshKey),
        client_case("connection-letter-case", "RFC 6455 §4.1", "Connection: upgrade and Upgrade: WebSocket in other letter cases (real servers send them).", response(vec![set("Connection", "upgrade"), set("Upgrade", "WebSocket")]), accepts()),
        client_case(
            "one-byte-writes",
            "RFC 6455 §4.1",
            "The 101 response arrives one byte per write.",
            ResponseEdits {
                write: Write::Chop(1),
                ..ResponseEdits::default()
            },
            accepts(),
        ),
        pipelined,
        client_case("wrong-accept", "RFC 6455 §4.1", "Sec-WebSocket-Accept computed from another key.", response(vec![set("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")]), fails()),
        client_case("missing-accept", "RFC 6455 §4.1", "No Sec-WebSocket-Accept.", response(vec![remove("Sec-WebSocket-Accept")]), fails()),
        client_case("status-200", "RFC 6455 §4.1", "HTTP 200 OK instead of 101.", status(200, "OK"), fails()),
        client_case("status-302", "RFC 6455 §4.1", "HTTP 302 Found instead of 101.", status(302, "Found"), fails()),
        client_case("missing-upgrade", "RFC 6455 §4.1", "No Upgrade header in the 101.", response(vec![remove("Upgrade")]), fails()),
        client_case("upgrade-not-websocket", "RFC 6455 §4.1", "Upgrade: h2c in the 101.", response(vec![set("Upgrade", "h2c")]), fails()),
        client_case("upgrade-list", "RFC 6455 §4.1", "Upgrade: websocket, h2c in the 101: the value must be an ASCII case-insensitive match for websocket, not a list that contains it.", response(vec![set("Upgrade", "websocket, h2c")]), fails()),
        http10,
        client_case("missing-connection", "RFC 6455 §4.1", "No Connection header in the 101.", response(vec![remove("Connection")]), fails()),
        client_case("unoffered-subprotocol", "RFC 6455 §4.1", "Sec-WebSocket-Protocol: chat, which the client did not offer.", response(vec![set("Sec-WebSocket-Protocol", "chat")]), fails()),
        client_case("unoffered-extension", "RFC 6455 §4.1", "Sec-WebSocket-Extensions: x-wsconform-unknown, which the client did not offer.", response(vec![set("Sec-WebSocket-Extensions", "x-wsconform-unknown")]), fails()),
    ]
}
