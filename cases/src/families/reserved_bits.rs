//! Category 3, Reserved bits: with no extension negotiated, any RSV bit must
//! fail the connection (RFC 6455 §5.2).

use wsconform_wire::Opcode;

use crate::build::{binary, case, got_text, ping, rfc, text};
use crate::model::{Case, FrameSpec, Requirement, Write};
use crate::payload::Payload;

const HELLO: &str = "Hello, world!";

fn must_fail(id: &str, description: &str, frame: FrameSpec) -> Case {
    // Autobahn words 3.1 more fully than 3.5–3.7.
    let expectation = if frame.rsv == 1 {
        "The connection is failed immediately (1002/protocol error), since RSV must be 0, when no extension defining RSV meaning has been negotiated."
    } else {
        "The connection is failed immediately, since RSV must be 0."
    };
    case(id, description, rfc("RFC 6455 §5.2", Requirement::Must))
        .expect(expectation)
        .send(frame)
        .kill_after(1000)
        .peer_fails(1002)
}

/// A valid text frame, the same text with `rsv` set, then a ping: the echo
/// of the first may or may not come before the failure (3.2–3.4).
fn after_valid(id: &str, rsv: u8, write: Write, how: &str) -> Case {
    case(
        id,
        format!("Send small text message, then send again with <b>RSV = {rsv}</b>, then send Ping.{how}"),
        rfc("RFC 6455 §5.2", Requirement::Must),
    )
    .expect("Echo for first message is received, but then connection is failed immediately, since RSV must be 0, when no extension defining RSV meaning has been negotiated. The Pong is not received.")
    .send_all([text(HELLO), text(HELLO).rsv(rsv), ping(b"")], write)
    .kill_after(1000)
    .ok(vec![got_text(HELLO)])
    .non_strict(vec![])
    .peer_fails(1002)
}

pub fn cases() -> Vec<Case> {
    vec![
        must_fail("3.1", "Send small text message with <b>RSV = 1</b>.", text(HELLO).rsv(1)),
        after_valid("3.2", 2, Write::Whole, ""),
        // Autobahn's 3.3 text names both ways of chopping; it sends frame-wise.
        after_valid("3.3", 3, Write::Sync, " Octets are sent in frame-wise chops. Octets are sent in octet-wise chops."),
        after_valid("3.4", 4, Write::Chop(1), " Octets are sent in octet-wise chops."),
        must_fail(
            "3.5",
            "Send small binary message with <b>RSV = 5</b>.",
            binary(b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff").rsv(5),
        ),
        must_fail(
            "3.6",
            "Send Ping with <b>RSV = 6</b>.",
            FrameSpec::new(Opcode::BINARY, Payload::text(HELLO)).rsv(6),
        )
        .note("Autobahn's description says Ping, but it sends a binary frame (opcode 2); we send what Autobahn sends."),
        must_fail("3.7", "Send Close with <b>RSV = 7</b>.", FrameSpec::new(Opcode::CLOSE, Payload::empty()).rsv(7)),
    ]
}
