//! Category 9, Limits/Performance: large messages, many fragments, chopped
//! writes and many round trips (RFC 6455 §10.4 leaves limits to the
//! implementation; Autobahn checks that the echo arrives in time). Content
//! is not compared, only type and length, as in Autobahn.

use wsconform_wire::Opcode;

use crate::build::{case, rfc};
use crate::model::{Case, FrameSpec, Judge, Requirement, Step, Write};
use crate::payload::Payload;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * 1024;
const TEXT_PATTERN: &[u8] = b"BAsd7&jh23";
const BINARY_PATTERN: &[u8] = b"\x00\xfe\x23\xfa\xf0";

fn kind(opcode: Opcode) -> &'static str {
    if opcode == Opcode::BINARY {
        "binary"
    } else {
        "text"
    }
}

/// Autobahn's size labels: `64`, `1k`, `4M`.
fn size_name(len: u64) -> String {
    if len >= MIB {
        format!("{}M", len / MIB)
    } else if len >= KIB {
        format!("{}k", len / KIB)
    } else {
        len.to_string()
    }
}

/// Autobahn's way of writing a size: `64 * 2**10 (64k)`.
fn power_name(len: u64) -> String {
    let (unit, exp) = if len >= MIB { (MIB, 20) } else { (KIB, 10) };
    format!("{} * 2**{exp} ({})", len / unit, size_name(len))
}

/// Slips in Autobahn's texts, copied so that reports compare equal:
/// (id, what the format strings give, what Autobahn writes).
const SLIPS: [(&str, &str, &str); 7] = [
    ("9.2.5", "(8M)", "(16M)"),
    ("9.3.9", "(4M)", "(8M)"),
    ("9.6.2", "echo'ed binary", "echo'ed text"),
    ("9.6.3", "echo'ed binary", "echo'ed text"),
    ("9.6.4", "echo'ed binary", "echo'ed text"),
    ("9.6.5", "echo'ed binary", "echo'ed text"),
    ("9.6.6", "echo'ed binary", "echo'ed text"),
];

/// One echo of `len` bytes of `opcode` expected within `timeout_ms`. The
/// judge alone decides, so there are no event lists, as in Autobahn.
fn limit_case(id: String, description: String, opcode: Opcode, len: u64, timeout_ms: u64) -> Case {
    let mut c = case(id, description, rfc("RFC 6455 §10.4", Requirement::Informational))
        .expect(format!(
            "Receive echo'ed {} message (with payload as sent).",
            kind(opcode)
        ))
        .close_after(timeout_ms)
        .judged_by(Judge::Echoes {
            count: 1,
            binary: opcode == Opcode::BINARY,
            len,
        });
    c.expected.clear();
    c
}

pub fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let sizes = [64 * KIB, 256 * KIB, MIB, 4 * MIB, 8 * MIB, 16 * MIB];
    for (sub, opcode, pattern, timeouts) in [
        (1, Opcode::TEXT, TEXT_PATTERN, [10, 10, 100, 100, 100, 100]),
        (2, Opcode::BINARY, BINARY_PATTERN, [10, 10, 10, 10, 100, 100]),
    ] {
        for (n, (&len, timeout)) in sizes.iter().zip(timeouts).enumerate() {
            let frame = FrameSpec::new(opcode, Payload::repeat(pattern, len));
            out.push(
                limit_case(
                    format!("9.{sub}.{}", n + 1),
                    format!(
                        "Send {} message message with payload of length {}.",
                        kind(opcode),
                        power_name(len)
                    ),
                    opcode,
                    len,
                    timeout * 1000,
                )
                .step(Step::Frame {
                    frame,
                    write: Write::Whole,
                }),
            );
        }
    }
    let fragment_sizes = [64, 256, KIB, 4 * KIB, 16 * KIB, 64 * KIB, 256 * KIB, MIB, 4 * MIB];
    for (sub, opcode) in [(3, Opcode::TEXT), (4, Opcode::BINARY)] {
        for (n, &frag) in fragment_sizes.iter().enumerate() {
            // Autobahn sends 0xFE only in 9.4.1; every other message is `*`.
            let byte = if sub == 4 && n == 0 { 0xFE } else { b'*' };
            out.push(
                limit_case(
                    format!("9.{sub}.{}", n + 1),
                    format!(
                        "Send fragmented {} message message with message payload of length {}. Sent out in fragments of {}.",
                        kind(opcode),
                        power_name(4 * MIB),
                        size_name(frag)
                    ),
                    opcode,
                    4 * MIB,
                    100_000,
                )
                .step(Step::Message {
                    opcode,
                    payload: Payload::repeat([byte], 4 * MIB),
                    fragment_size: frag,
                }),
            );
        }
    }
    for (sub, opcode, pattern) in [
        (5, Opcode::TEXT, TEXT_PATTERN),
        (6, Opcode::BINARY, BINARY_PATTERN),
    ] {
        for (n, chop) in [64usize, 128, 256, 512, 1024, 2048].into_iter().enumerate() {
            let frame = FrameSpec::new(opcode, Payload::repeat(pattern, MIB));
            out.push(
                limit_case(
                    format!("9.{sub}.{}", n + 1),
                    format!(
                        "Send {} message message with payload of length {}. Sent out data in chops of {} octets.",
                        kind(opcode),
                        power_name(MIB),
                        chop
                    ),
                    opcode,
                    MIB,
                    1_000_000,
                )
                .step(Step::Frame {
                    frame,
                    write: Write::Chop(chop),
                })
                .note("The payload pattern of 9.5/9.6 is not visible in Autobahn's reports (its wire log is off during the transfer); only type and length are judged, so the pattern cannot change a verdict."),
            );
        }
    }
    for (sub, opcode, byte) in [(7, Opcode::TEXT, b'*'), (8, Opcode::BINARY, 0xFE)] {
        for (n, (len, timeout)) in [(0, 60), (16, 60), (64, 60), (256, 120), (1024, 240), (4096, 480)]
            .into_iter()
            .enumerate()
        {
            let mut c = limit_case(
                format!("9.{sub}.{}", n + 1),
                format!(
                    "Send 1000 {} messages of payload size {len} to measure implementation/network RTT (round trip time) / latency.",
                    kind(opcode)
                ),
                opcode,
                len,
                timeout * 1000,
            )
            .expect(format!(
                "Receive echo'ed {} messages (with payload as sent). Timeout case after {timeout} secs.",
                kind(opcode)
            ))
            .step(Step::RoundTrips {
                opcode,
                payload: Payload::repeat([byte], len),
                count: 1000,
            });
            c.judge = Judge::Echoes {
                count: 1000,
                binary: opcode == Opcode::BINARY,
                len,
            };
            out.push(c);
        }
    }
    for (id, ours, autobahn) in SLIPS {
        let c = out.iter_mut().find(|c| c.id == id).expect("slip of a known case");
        c.description = c.description.replacen(ours, autobahn, 1);
        c.expectation = c.expectation.replacen(ours, autobahn, 1);
    }
    out
}
