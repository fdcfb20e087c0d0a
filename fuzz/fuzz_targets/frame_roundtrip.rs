//! Structure-aware: arbitrary frame descriptions (the wire crate's own
//! `Arbitrary` derive on `Frame`) are made valid for a fuzzer-chosen decoder
//! configuration, encoded, then decoded whole and in fuzzer-chosen chunks;
//! the decoder must give back exactly the frames that were encoded.
#![no_main]

use arbitrary::Arbitrary;
use fuzz_support::{chunk_lens, run_chunked, Event};
use libfuzzer_sys::fuzz_target;
use wsconform_wire::{DecoderConfig, Frame, LengthForm, Opcode, Role};

#[derive(Debug, Arbitrary)]
struct Input {
    client: bool,
    allowed_rsv: u8,
    lenient_lengths: bool,
    frames: Vec<Frame>,
    cuts: Vec<u16>,
}

const VALID: [Opcode; 6] = [
    Opcode::CONTINUATION,
    Opcode::TEXT,
    Opcode::BINARY,
    Opcode::CLOSE,
    Opcode::PING,
    Opcode::PONG,
];

/// Bends `frames` into a valid stream: valid opcodes, fragmentation rules
/// (RFC 6455 §5.4), short unfragmented control frames (§5.5), masking by
/// role (§5.1), only allowed RSV bits, honest lengths, and a last message
/// that is finished.
fn make_valid(config: &DecoderConfig, frames: Vec<Frame>) -> Vec<Frame> {
    let mut open = false;
    let mut out = Vec::with_capacity(frames.len() + 1);
    for mut f in frames {
        let mut op = f.header.opcode;
        if op.is_reserved() || op.0 > 0xF {
            op = VALID[usize::from(op.0) % VALID.len()];
        }
        if op.is_control() {
            f.header.fin = true;
            f.payload.truncate(125);
            f.length_form = LengthForm::Minimal;
        } else {
            op = match (op == Opcode::CONTINUATION, open) {
                (true, false) => Opcode::BINARY,
                (false, true) => Opcode::CONTINUATION,
                _ => op,
            };
            open = !f.header.fin;
        }
        f.header.opcode = op;
        f.header.rsv &= config.allowed_rsv;
        f.header.mask = match config.sender {
            Role::Client => Some(f.header.mask.unwrap_or([0x37, 0xfa, 0x21, 0x3d])),
            Role::Server => None,
        };
        f.header.payload_len = f.payload.len() as u64;
        if config.reject_non_minimal_length {
            f.length_form = LengthForm::Minimal;
        }
        out.push(f);
    }
    if open {
        let mut last = Frame::new(Opcode::CONTINUATION, "end");
        if config.sender == Role::Client {
            last = last.mask(Some([1, 2, 3, 4]));
        }
        out.push(last);
    }
    out
}

fuzz_target!(|input: Input| {
    let config = DecoderConfig {
        allowed_rsv: input.allowed_rsv & 0b111,
        reject_non_minimal_length: !input.lenient_lengths,
        ..DecoderConfig::strict(if input.client { Role::Client } else { Role::Server })
    };
    let frames = make_valid(&config, input.frames);
    let mut bytes = Vec::new();
    let mut expected = Vec::new();
    for f in &frames {
        f.encode_into(&mut bytes);
        expected.push(Event::Header(f.header));
        if !f.payload.is_empty() {
            expected.push(Event::Payload(f.payload.clone()));
        }
        expected.push(Event::End);
    }
    let whole = run_chunked(config, &bytes, &[]);
    assert_eq!(whole.error, None, "valid stream rejected");
    assert_eq!(whole.consumed, Some(bytes.len()));
    assert!(whole.idle, "decoder not idle after whole messages");
    assert_eq!(whole.events, expected);
    let chunked = run_chunked(config, &bytes, &chunk_lens(&input.cuts));
    assert_eq!(chunked, whole);
});
