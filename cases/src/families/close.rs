//! Category 7, Close handling (RFC 6455 §5.5.1, §7): the harness starts the
//! closing handshake in every case; the peer must answer or fail correctly.

use wsconform_wire::Opcode;

use crate::build::{case, cont, got_text, ping, rfc, text};
use crate::model::{Case, ExpectedClose, FrameSpec, Judge, Requirement};
use crate::payload::Payload;

const KOSME_INVALID: &[u8] = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited";

fn closed_by_me(codes: &[u16], require_clean: bool) -> ExpectedClose {
    ExpectedClose {
        closed_by_me: true,
        close_codes: codes.iter().copied().map(wsconform_wire::CloseCode).collect(),
        require_clean,
        wrong_closer_fatal: false,
    }
}

fn close_case(id: &str, description: String, section: &str) -> Case {
    case(id, description, rfc(section, Requirement::Must)).judged_by(Judge::EventsWrongCodeFatal)
}

/// 7.3.x: close payloads of various shapes. A malformed one (RFC 6455
/// §5.5.1) is to be refused with 1002, and Autobahn words each such
/// expectation differently: `refused` is its text.
fn payload_case(
    id: &str,
    description: &str,
    code: Option<u16>,
    reason: Payload,
    refused: Option<&str>,
) -> Case {
    let (codes, clean, expectation) = match refused {
        None => (vec![1000], true, "Clean close with normal code."),
        Some(text) => (vec![1002], false, text),
    };
    close_case(id, description.into(), "RFC 6455 §5.5.1")
        .expect(expectation)
        .close_with(code, reason)
        .kill_after(1000)
        .closing(closed_by_me(&codes, clean))
}

pub fn cases() -> Vec<Case> {
    let normal = Some(1000);
    let mut out = vec![
        close_case("7.1.1", "Send a message followed by a close frame".into(), "RFC 6455 §7.1.2")
            .expect("Echoed message followed by clean close with normal code.")
            .send(text("Hello World!"))
            .kill_after(1000)
            .ok(vec![got_text("Hello World!")]),
        close_case("7.1.2", "Send two close frames".into(), "RFC 6455 §5.5.1")
            .expect("Clean close with normal code. Second close frame ignored.")
            .close_with(normal, Payload::empty())
            .send(FrameSpec::new(Opcode::CLOSE, Payload::empty()))
            .kill_after(1000),
        close_case("7.1.3", "Send a ping after close message".into(), "RFC 6455 §5.5.1")
            .expect("Clean close with normal code, no pong.")
            .close_with(normal, Payload::empty())
            .send(ping(b""))
            .kill_after(1000),
        close_case("7.1.4", "Send text message after sending a close frame.".into(), "RFC 6455 §5.5.1")
            .expect("Clean close with normal code. Text message ignored.")
            .close_with(normal, Payload::empty())
            .send(text("Hello World!"))
            .kill_after(1000),
        close_case("7.1.5", "Send message fragment1 followed by close then fragment".into(), "RFC 6455 §5.4")
            .expect("Clean close with normal code.")
            .send(text("fragment1").fin(false))
            .close_with(normal, Payload::empty())
            .send(cont("fragment2"))
            .kill_after(1000)
            .note("RFC 6455 §5.4 allows control frames between fragments, so the peer must answer the close normally; answering 1002 gives WRONG CODE and FAILED, as in Autobahn."),
        case("7.1.6", "Send 256K message followed by close then a ping", rfc("RFC 6455 §5.5.1", Requirement::Informational))
            .expect("Case outcome depends on implementation defined close behavior. Message and close frame are sent back to back. If the close frame is processed before the text message write is complete (as can happen in asynchronous processing models) the close frame is processed first and the text message may not be received or may only be partially received.")
            .send(FrameSpec::new(Opcode::TEXT, Payload::repeat(*b"BAsd7&jh23", 256 * 1024)))
            .send(text("Hello World!"))
            .close_with(normal, Payload::empty())
            .send(ping(b""))
            .kill_after(1000)
            // Autobahn's lists, though only INFORMATIONAL is ever given.
            .ok(vec![got_text("Hello World!")])
            .non_strict(vec![])
            .judged_by(Judge::Informational),
        payload_case("7.3.1", "Send a close frame with payload length 0 (no close code, no close reason)", None, Payload::empty(), None),
        payload_case("7.3.2", "Send a close frame with payload length 1", None, Payload::text("a"), Some("Clean close with protocol error or drop TCP."))
            .note("A 1-byte close payload is malformed (RFC 6455 §5.5.1)."),
        payload_case("7.3.3", "Send a close frame with payload length 2 (regular close with a code)", normal, Payload::empty(), None),
        payload_case("7.3.4", "Send a close frame with close code and close reason", normal, Payload::text("Hello World!"), None),
        payload_case("7.3.5", "Send a close frame with close code and close reason of maximum length (123)", normal, Payload::repeat(*b"*", 123), None),
        payload_case("7.3.6", "Send a close frame with close code and close reason which is too long (124) - total frame payload 126 octets", normal, Payload::repeat(*b"*", 124), Some("Clean close with protocol error code or dropped TCP connection.")),
    ];
    out.push(
        close_case(
            "7.5.1",
            "Send a close frame with invalid UTF8 payload".into(),
            "RFC 6455 §5.5.1",
        )
        .expect("Clean close with protocol error or invalid utf8 code or dropped TCP.")
        .close_with(normal, Payload::bytes(KOSME_INVALID))
        .kill_after(1000)
        .closing(closed_by_me(&[1002, 1007], false)),
    );
    let valid = [
        1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
    ];
    for (n, code) in valid.into_iter().enumerate() {
        out.push(
            close_case(
                &format!("7.7.{}", n + 1),
                format!("Send close with valid close code {code}"),
                "RFC 6455 §7.4.1",
            )
            .expect("Clean close with normal or echoed code")
            .close_with(Some(code), Payload::empty())
            .kill_after(1000)
            .closing(closed_by_me(&[1000, code], true)),
        );
    }
    let invalid = [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999];
    for (n, code) in invalid.into_iter().enumerate() {
        out.push(
            close_case(
                &format!("7.9.{}", n + 1),
                format!("Send close with invalid close code {code}"),
                "RFC 6455 §7.4.1",
            )
            .expect("Clean close with protocol error code or drop TCP")
            .close_with(Some(code), Payload::empty())
            .kill_after(1000)
            .closing(closed_by_me(&[1002], false)),
        );
    }
    for (n, code) in [5000u16, 65535].into_iter().enumerate() {
        out.push(
            case(
                format!("7.13.{}", n + 1),
                format!("Send close with close code {code}"),
                rfc("RFC 6455 §7.4.2", Requirement::Informational),
            )
            .expect("Actual events are undefined by the spec.")
            .close_with(Some(code), Payload::empty())
            .kill_after(1000)
            // Normal, echoed and protocol error are all acceptable closes.
            .closing(closed_by_me(&[1000, code, 1002], false))
            .judged_by(Judge::Informational),
        );
    }
    out
}
