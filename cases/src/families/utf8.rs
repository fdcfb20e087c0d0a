//! Category 6, UTF-8 handling (RFC 6455 §8.1, §5.6): text payloads must be
//! valid UTF-8 and an endpoint must fail the connection with 1007 when they
//! are not. 6.5–6.23 are Markus Kuhn's UTF-8 decoder stress test vectors.

use wsconform_wire::Opcode;

use crate::build::{case, cont, got_message, got_timeout, rfc, text};
use crate::model::{Case, FrameSpec, Requirement, Step};
use crate::payload::Payload;

/// "κόσμε" as Autobahn sends it (with U+1F79, 11 bytes).
const KOSME: &[u8] = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";
/// 6.2.x: 29 bytes, mixed 1- and 2-byte code points.
const MIXED: &str = "Hello-\u{b5}@\u{df}\u{f6}\u{e4}\u{fc}\u{e0}\u{e1}-UTF-8!!";

const ECHOED: &str = "The message is echo'ed back to us.";
const PER_BYTE: &str =
    "in fragments of 1 octet, resulting in frames ending on positions which are not code point ends.";

/// The peer must echo `expected`; the caller adds the timer, which Autobahn
/// arms after sending.
fn echo(id: &str, description: &str, steps: Vec<Step>, expected: &[u8]) -> Case {
    let mut c = case(id, description, rfc("RFC 6455 §8.1", Requirement::Must))
        .expect(ECHOED)
        .ok(vec![got_message(Payload::bytes(expected), false)]);
    c.steps.splice(0..0, steps);
    c
}

fn frame(f: FrameSpec) -> Step {
    Step::Frame {
        frame: f,
        write: Default::default(),
    }
}

/// The message as one frame per byte, then an empty final frame, as
/// Autobahn sends it: fragments may split code points and may be empty
/// (RFC 6455 §5.4, §5.6).
fn per_byte(bytes: &[u8]) -> Vec<Step> {
    let pieces = bytes.iter().enumerate().map(|(i, &b)| {
        let opcode = if i == 0 {
            Opcode::TEXT
        } else {
            Opcode::CONTINUATION
        };
        FrameSpec::new(opcode, Payload::bytes([b])).fin(false)
    });
    pieces.chain([cont("")]).map(frame).collect()
}

/// How Autobahn's descriptions show a message: text and hex when it is
/// valid UTF-8, else hex only.
fn shown(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => format!("{text}<br>{}", hex::encode(bytes)),
        Err(_) => hex::encode(bytes),
    }
}

fn invalid_whole(id: &str, description: &str, steps: Vec<Step>, kill_ms: u64) -> Case {
    let mut c = case(id, description, rfc("RFC 6455 §8.1", Requirement::Must))
        .expect("The connection is failed immediately, since the payload is not valid UTF-8.")
        .kill_after(kill_ms)
        .peer_must_fail(1007);
    c.steps.splice(0..0, steps);
    c
}

/// 6.4.x: the invalid byte arrives in the middle of a message, one second
/// before the rest; fail-fast (OK) or at the end (NON-STRICT). `intro` and
/// `shown_parts` make Autobahn's description.
fn fail_fast(id: &str, intro: &str, parts: [&[u8]; 3], shown_parts: [&[u8]; 3], single_frame: bool) -> Case {
    let data = |p: &[u8]| Step::FrameData {
        payload: Payload::bytes(p),
    };
    let wait = |tag: &str| Step::Wait {
        ms: 1000,
        tag: Some(tag.into()),
    };
    let steps = if single_frame {
        let len = parts.iter().map(|p| p.len() as u64).sum();
        vec![
            Step::FrameHeader {
                opcode: Opcode::TEXT,
                fin: false,
                len,
            },
            data(parts[0]),
            wait("A"),
            data(parts[1]),
            wait("B"),
            data(parts[2]),
            frame(cont("")),
        ]
    } else {
        let piece = |op: Opcode, fin: bool, p: &[u8]| frame(FrameSpec::new(op, Payload::bytes(p)).fin(fin));
        vec![
            piece(Opcode::TEXT, false, parts[0]),
            wait("A"),
            piece(Opcode::CONTINUATION, false, parts[1]),
            wait("B"),
            piece(Opcode::CONTINUATION, true, parts[2]),
        ]
    };
    let [p1, p2, p3] = shown_parts.map(hex::encode);
    let description = format!(
        "{intro}\n<br><br>MESSAGE PARTS:<br>\nPART1 = {p1}<br>\nPART2 = {p2}<br>\nPART3 = {p3}<br>\n"
    );
    let unit = if single_frame { "chop" } else { "frame" };
    let mut c = case(id, description, rfc("RFC 6455 §8.1", Requirement::Must))
        .expect(format!("The first {unit} is accepted, we expect to timeout on the first wait. The 2nd {unit} should be rejected immediately (fail fast on UTF-8). If we timeout, we expect the connection is failed at least then, since the complete message payload is not valid UTF-8."))
        .kill_after(1000)
        .ok(vec![got_timeout("A")])
        .non_strict(vec![got_timeout("A"), got_timeout("B")])
        .peer_must_fail(1007)
        .note("Failing at the first invalid byte is Autobahn's strict reading; RFC 6455 §8.1 only says the endpoint MUST fail the connection, hence NON-STRICT for failing at the end of the message.");
    c.steps.splice(0..0, steps);
    c
}

/// Markus Kuhn's vectors, by sub-category: (sub, vectors), with his titles.
fn stress_vectors() -> Vec<(u32, Vec<Vec<u8>>)> {
    let bytes = |list: &[&[u8]]| list.iter().map(|v| v.to_vec()).collect::<Vec<_>>();
    let encode = |cp: u32| {
        char::from_u32(cp)
            .map(|c| c.to_string().into_bytes())
            .unwrap_or_default()
    };
    let lonely = |lo: u8, hi: u8| (lo..hi).flat_map(|b| [b, b' ']).collect::<Vec<u8>>();
    let last_missing: [&[u8]; 10] = [
        b"\xc0",
        b"\xe0\x80",
        b"\xf0\x80\x80",
        b"\xf8\x80\x80\x80",
        b"\xfc\x80\x80\x80\x80",
        b"\xdf",
        b"\xef\xbf",
        b"\xf7\xbf\xbf",
        b"\xfb\xbf\xbf\xbf",
        b"\xfd\xbf\xbf\xbf\xbf",
    ];
    let high = [0xD800u32, 0xDB7F, 0xDB80, 0xDBFF];
    let surrogate = |cp: u32| vec![0xED, 0xA0 | ((cp >> 6) & 0x1F) as u8, 0x80 | (cp & 0x3F) as u8];
    vec![
        // Some valid UTF-8 sequences
        (
            5,
            bytes(&[
                b"hello$world",
                "hello\u{a2}world".as_bytes(),
                "hello\u{20ac}world".as_bytes(),
                "hello\u{24b62}world".as_bytes(),
                KOSME,
            ]),
        ),
        // All prefixes of a valid UTF-8 string that contains multi-byte code points
        (6, (1..=KOSME.len()).map(|n| KOSME[..n].to_vec()).collect()),
        // First possible sequence of a certain length
        (
            7,
            bytes(&[b"\x00", b"\xc2\x80", b"\xe0\xa0\x80", b"\xf0\x90\x80\x80"]),
        ),
        // First possible sequence length 5/6 (invalid codepoints)
        (8, bytes(&[b"\xf8\x88\x80\x80\x80", b"\xfc\x84\x80\x80\x80\x80"])),
        // Last possible sequence of a certain length
        (
            9,
            bytes(&[b"\x7f", b"\xdf\xbf", b"\xef\xbf\xbf", b"\xf4\x8f\xbf\xbf"]),
        ),
        // Last possible sequence length 4/5/6 (invalid codepoints)
        (
            10,
            bytes(&[
                b"\xf7\xbf\xbf\xbf",
                b"\xfb\xbf\xbf\xbf\xbf",
                b"\xfd\xbf\xbf\xbf\xbf\xbf",
            ]),
        ),
        // Other boundary conditions
        (
            11,
            bytes(&[
                b"\xed\x9f\xbf",
                b"\xee\x80\x80",
                b"\xef\xbf\xbd",
                b"\xf4\x8f\xbf\xbf",
                b"\xf4\x90\x80\x80",
            ]),
        ),
        // Unexpected continuation bytes
        (
            12,
            bytes(&[
                b"\x80",
                b"\xbf",
                b"\x80\xbf",
                b"\x80\xbf\x80",
                b"\x80\xbf\x80\xbf",
                b"\x80\xbf\x80\xbf\x80",
                b"\x80\xbf\x80\xbf\x80\xbf",
                &(0x80..=0xBE).collect::<Vec<u8>>(),
            ]),
        ),
        // Lonely start characters
        (
            13,
            vec![
                lonely(0xC0, 0xDF),
                lonely(0xE0, 0xEF),
                lonely(0xF0, 0xF7),
                lonely(0xF8, 0xFB),
                lonely(0xFC, 0xFD),
            ],
        ),
        // Sequences with last continuation byte missing
        (14, bytes(&last_missing)),
        // Concatenation of incomplete sequences
        (15, vec![last_missing.concat()]),
        // Impossible bytes
        (16, bytes(&[b"\xfe", b"\xff", b"\xfe\xfe\xff\xff"])),
        // Examples of an overlong ASCII character
        (
            17,
            bytes(&[
                b"\xc0\xaf",
                b"\xe0\x80\xaf",
                b"\xf0\x80\x80\xaf",
                b"\xf8\x80\x80\x80\xaf",
                b"\xfc\x80\x80\x80\x80\xaf",
            ]),
        ),
        // Maximum overlong sequences
        (
            18,
            bytes(&[
                b"\xc1\xbf",
                b"\xe0\x9f\xbf",
                b"\xf0\x8f\xbf\xbf",
                b"\xf8\x87\xbf\xbf\xbf",
                b"\xfc\x83\xbf\xbf\xbf\xbf",
            ]),
        ),
        // Overlong representation of the NUL character
        (
            19,
            bytes(&[
                b"\xc0\x80",
                b"\xe0\x80\x80",
                b"\xf0\x80\x80\x80",
                b"\xf8\x80\x80\x80\x80",
                b"\xfc\x80\x80\x80\x80\x80",
            ]),
        ),
        // Single UTF-16 surrogates
        (
            20,
            [0xD800, 0xDB7F, 0xDB80, 0xDBFF, 0xDC00, 0xDF80, 0xDFFF]
                .into_iter()
                .map(surrogate)
                .collect(),
        ),
        // Paired UTF-16 surrogates
        (
            21,
            high.iter()
                .flat_map(|&h| [0xDC00, 0xDFFF].map(|l| [surrogate(h), surrogate(l)].concat()))
                .collect(),
        ),
        // Non-character code points (valid UTF-8)
        (
            22,
            (0..=16u32)
                .flat_map(|plane| [0xFFFE, 0xFFFF].map(|low| encode((plane << 16) | low)))
                .collect(),
        ),
        // Special code points (valid UTF-8)
        (23, (0xFFF9..=0xFFFF).map(encode).collect()),
    ]
}

pub fn cases() -> Vec<Case> {
    let empty_echo = "A message is echo'ed back to us (with empty payload).";
    let (head, tail) = MIXED.split_at(15);
    let mut out = vec![
        echo("6.1.1", "Send text message of length 0.", vec![frame(text(""))], b"").expect(empty_echo),
        echo(
            "6.1.2",
            "Send fragmented text message, 3 fragments each of length 0.",
            vec![frame(text("").fin(false)), frame(cont("").fin(false)), frame(cont(""))],
            b"",
        )
        .expect(empty_echo),
        echo(
            "6.1.3",
            "Send fragmented text message, 3 fragments, first and last of length 0, middle non-empty.",
            vec![frame(text("").fin(false)), frame(cont("middle frame payload").fin(false)), frame(cont(""))],
            b"middle frame payload",
        )
        .expect("A message is echo'ed back to us (with payload = payload of middle fragment)."),
        echo(
            "6.2.1",
            &format!("Send a valid UTF-8 text message in one fragment.<br><br>MESSAGE:<br>{}", shown(MIXED.as_bytes())),
            vec![frame(text(MIXED))],
            MIXED.as_bytes(),
        ),
        echo(
            "6.2.2",
            &format!(
                "Send a valid UTF-8 text message in two fragments, fragmented on UTF-8 code point boundary.<br><br>MESSAGE FRAGMENT 1:<br>{}<br><br>MESSAGE FRAGMENT 2:<br>{}",
                shown(head.as_bytes()),
                shown(tail.as_bytes())
            ),
            vec![frame(text(head).fin(false)), frame(cont(tail))],
            MIXED.as_bytes(),
        ),
        echo(
            "6.2.3",
            &format!("Send a valid UTF-8 text message {PER_BYTE}<br><br>MESSAGE:<br>{}", shown(MIXED.as_bytes())),
            per_byte(MIXED.as_bytes()),
            MIXED.as_bytes(),
        ),
        echo(
            "6.2.4",
            &format!("Send a valid UTF-8 text message {PER_BYTE}<br><br>MESSAGE:<br>{}", shown(KOSME)),
            per_byte(KOSME),
            KOSME,
        ),
    ];
    // Autobahn closes 6.1 and 6.2 with closeAfter, the rest with killAfter.
    for c in &mut out {
        c.steps.push(Step::CloseAfter { ms: 1000 });
    }
    let invalid = [KOSME, b"\xed\xa0\x80", b"edited"].concat();
    out.push(invalid_whole(
        "6.3.1",
        &format!(
            "Send invalid UTF-8 text message unfragmented.<br><br>MESSAGE:<br>{}",
            shown(&invalid)
        ),
        vec![frame(FrameSpec::new(
            Opcode::TEXT,
            Payload::bytes(invalid.clone()),
        ))],
        1000,
    ));
    out.push(invalid_whole(
        "6.3.2",
        &format!(
            "Send invalid UTF-8 text message {PER_BYTE}<br><br>MESSAGE:<br>{}",
            shown(&invalid)
        ),
        per_byte(&invalid),
        1000,
    ));
    let out_of_range: &[u8] = b"\xf4\x90\x80\x80";
    let kosme_f4 = [KOSME, b"\xf4"].concat();
    let by_octet: [&[u8]; 3] = [&kosme_f4, b"\x90", b"\x80\x80edited"];
    out.push(fail_fast(
        "6.4.1",
        "Send invalid UTF-8 text message in 3 fragments (frames).\nFirst frame payload is valid, then wait, then 2nd frame which contains the payload making the sequence invalid, then wait, then 3rd frame with rest.\nNote that PART1 and PART3 are valid UTF-8 in themselves, PART2 is a 0x110000 encoded as in the UTF-8 integer encoding scheme, but the codepoint is invalid (out of range).",
        [KOSME, out_of_range, b"edited"],
        [KOSME, out_of_range, b"edited"],
        false,
    ));
    out.push(fail_fast(
        "6.4.2",
        "Same as Case 6.4.1, but in 2nd frame, we send only up to and including the octet making the complete payload invalid.",
        by_octet,
        by_octet,
        false,
    ));
    out.push(fail_fast(
        "6.4.3",
        "Same as Case 6.4.1, but we send message not in 3 frames, but in 3 chops of the same message frame.",
        [KOSME, out_of_range, b"edited"],
        [KOSME, out_of_range, b"edited"],
        true,
    ));
    out.push(
        fail_fast(
            "6.4.4",
            "Same as Case 6.4.2, but we send message not in 3 frames, but in 3 chops of the same message frame.",
            by_octet,
            [by_octet[0], by_octet[1], b""],
            true,
        )
        .note("Autobahn's description shows PART3 empty; the 8 bytes 8080656469746564 are sent all the same."),
    );
    for (sub, vectors) in stress_vectors() {
        for (n, v) in vectors.into_iter().enumerate() {
            let id = format!("6.{sub}.{}", n + 1);
            let valid = std::str::from_utf8(&v).is_ok();
            let description = format!(
                "Send a text message with payload which is {}valid UTF-8 in one fragment.<br><br>Payload: 0x{}",
                if valid { "" } else { "not " },
                hex::encode(&v)
            );
            let send = vec![frame(FrameSpec::new(Opcode::TEXT, Payload::bytes(v.clone())))];
            out.push(if valid {
                echo(&id, &description, send, &v).kill_after(500)
            } else {
                invalid_whole(&id, &description, send, 500)
            });
        }
    }
    out
}
