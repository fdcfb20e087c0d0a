//! Category 1, Framing: payload lengths across the 7-, 16- and 64-bit
//! length encodings (RFC 6455 §5.2).

use wsconform_wire::Opcode;

use crate::build::{case, got_message, rfc};
use crate::model::{Case, FrameSpec, Requirement, Write};
use crate::payload::Payload;

/// Payload sizes of 1.1.1–1.1.7 / 1.2.1–1.2.7, with the kill timer Autobahn
/// gives each (the 64 KiB ones get longer).
const SIZES: [(u64, u64); 7] = [
    (0, 1000),
    (125, 1000),
    (126, 1000),
    (127, 1000),
    (128, 1000),
    (65535, 10_000),
    (65536, 10_000),
];

pub fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for (sub, opcode, kind, pattern) in [
        (1, Opcode::TEXT, "text", b'*'),
        (2, Opcode::BINARY, "binary", 0xFE),
    ] {
        let rows = SIZES
            .iter()
            .map(|&(len, kill)| (len, kill, Write::Whole))
            .chain([(65536, 10_000, Write::Chop(997))]);
        for (n, (len, kill, write)) in rows.enumerate() {
            let chopped = matches!(write, Write::Chop(_));
            let payload = Payload::repeat([pattern], len);
            // Autobahn's texts, including its doubled "message message".
            let description = match (len, chopped) {
                (0, _) => format!("Send {kind} message with payload 0."),
                (_, false) => format!("Send {kind} message message with payload of length {len}."),
                (_, true) => format!(
                    "Send {kind} message message with payload of length {len}. Sent out data in chops of 997 octets."
                ),
            };
            let echoed = if len == 0 {
                "with empty payload"
            } else {
                "with payload as sent"
            };
            out.push(
                case(
                    format!("1.{sub}.{}", n + 1),
                    description,
                    rfc("RFC 6455 §5.2", Requirement::Must),
                )
                .expect(format!(
                    "Receive echo'ed {kind} message ({echoed}). Clean close with normal code."
                ))
                .send_as(FrameSpec::new(opcode, payload.clone()), write)
                .kill_after(kill)
                .ok(vec![got_message(payload, opcode == Opcode::BINARY)]),
            );
        }
    }
    out
}
