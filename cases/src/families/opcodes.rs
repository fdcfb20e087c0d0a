//! Category 4, Opcodes: reserved non-control (3–7) and control (11–15)
//! opcodes must fail the connection (RFC 6455 §5.2).

use wsconform_wire::Opcode;

use crate::build::{case, got_text, ping, rfc, text};
use crate::model::{Case, FrameSpec, Requirement, Write};
use crate::payload::Payload;

const HELLO: &str = "Hello, world!";

/// The five shapes of 4.1.x and 4.2.x, with opcodes 3–7 and 11–15:
/// reserved-opcode payload, preceded by a valid text and followed by a
/// ping?, write. Payloads as Autobahn sends them.
const SHAPES: [(&str, bool, Write); 5] = [
    ("", false, Write::Whole),
    ("reserved opcode payload", false, Write::Whole),
    ("", true, Write::Whole),
    (HELLO, true, Write::Whole),
    (HELLO, true, Write::Chop(1)),
];

pub fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for (sub, first_opcode, kind) in [(1, 3u8, "non-control"), (2, 11, "control")] {
        for (n, &(payload, sandwiched, write)) in SHAPES.iter().enumerate() {
            let id = format!("4.{sub}.{}", n + 1);
            let opcode = Opcode(first_opcode + n as u8);
            let with = if payload.is_empty() {
                ""
            } else {
                " and non-empty payload"
            };
            let frame = FrameSpec::new(opcode, Payload::text(payload));
            let rfc = rfc("RFC 6455 §5.2", Requirement::Must);
            // Autobahn's descriptions do not mention the octet-wise chops.
            out.push(if sandwiched {
                case(
                    id,
                    format!("Send small text message, then send frame with reserved {kind} <b>Opcode = {}</b>{with}, then send Ping.", opcode.0),
                    rfc,
                )
                .expect("Echo for first message is received, but then connection is failed immediately, since reserved opcode frame is used. A Pong is not received.")
                .send_all([text(HELLO), frame, ping(b"")], write)
                .kill_after(1000)
                .ok(vec![got_text(HELLO)])
                .non_strict(vec![])
                .peer_fails(1002)
            } else {
                case(id, format!("Send frame with reserved {kind} <b>Opcode = {}</b>{with}.", opcode.0), rfc)
                    .expect("The connection is failed immediately.")
                    .send_as(frame, write)
                    .kill_after(1000)
                    .peer_fails(1002)
            });
        }
    }
    out
}
