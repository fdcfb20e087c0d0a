//! Structure-aware generation of frame scripts: messages cut into
//! fragments anywhere (inside a code point too) with control frames
//! between them, text valid or broken at any offset, every FIN/RSV/opcode
//! combination, masks present, absent or all-zero, close frames with any
//! code and reason, writes whole, frame by frame or chopped down to one
//! byte, pauses. Lengths are drawn toward the boundaries where
//! implementations break (125/126, 65535/65536, 0). Every script is a
//! function of one `u64` seed, so each run is reproducible from it.
//!
//! The generator only chooses what to send; whether that is allowed is
//! the oracle's business (`oracle.rs`), decided from the bytes.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use wsconform_cases::{
    Case, ExpectedClose, FrameSpec, Judge, Masking, Payload, Requirement, RfcRef, Step, Write,
};
use wsconform_wire::{Opcode, Role};

use crate::model::{End, Model};

/// Payload lengths where encoders and decoders change form (RFC 6455
/// §5.2: 7-bit, 16-bit and 64-bit lengths; §5.5: 125 for control frames).
const DATA_BOUNDS: [u64; 9] = [0, 1, 125, 126, 127, 65535, 65536, 2, 3];
/// A script sends at most this many payload bytes.
const SCRIPT_BYTES: u64 = 200 * 1024;
/// Frames larger than this are never chopped (chops are paced by a timer).
const CHOP_MAX: u64 = 64;

/// Characters of 1 to 4 bytes, the edges of each encoding length among them.
const CHARS: [&str; 12] = [
    "a",
    "~",
    "\u{0}",
    "\u{7f}",
    "\u{80}",
    "é",
    "\u{7ff}",
    "\u{800}",
    "€",
    "\u{ffff}",
    "\u{10000}",
    "\u{10ffff}",
];
/// Byte sequences that are not UTF-8 (RFC 3629): a stray byte, an overlong
/// form, a surrogate, a code point above U+10FFFF, a lone continuation, a
/// code point cut short.
const BROKEN: [&[u8]; 7] = [
    b"\xff",
    b"\xc0\x80",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\x80",
    b"\xe2\x82",
    b"\xf0\x9f\x98",
];
const VALID_CODES: [u16; 13] = [
    1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
];
/// Never sendable (RFC 6455 §7.4.1, §7.4.2): the peer must fail.
const INVALID_CODES: [u16; 10] = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999];
/// Registered with IANA after RFC 6455 (§11.7): the peer may echo or fail.
const REGISTERED_CODES: [u16; 3] = [1012, 1013, 1014];

/// A per-iteration seed from the campaign's seed (SplitMix64): iteration
/// `n` of seed `s` is the same script on every machine.
pub fn iteration_seed(seed: u64, n: u64) -> u64 {
    let mut z = seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The script of one seed: steps only, no timers (see [`finish`]).
pub fn script(seed: u64) -> Vec<Step> {
    script_from(StdRng::seed_from_u64(seed))
}

/// The script `rng`'s choices make: a seeded generator for live runs, or
/// a fuzzer's bytes (`memory::script_from_bytes`), so that coverage-guided
/// mutations of the bytes are mutations of the script's structure.
pub fn script_from<R: Rng>(rng: R) -> Vec<Step> {
    Generator { rng, bytes: 0 }.script()
}

struct Generator<R> {
    rng: R,
    bytes: u64,
}

impl<R: Rng> Generator<R> {
    fn chance(&mut self, p: f64) -> bool {
        self.rng.gen_bool(p)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.rng.gen_range(0..items.len())]
    }

    fn script(&mut self) -> Vec<Step> {
        let mut steps = Vec::new();
        let units = self.rng.gen_range(1..=5);
        for _ in 0..units {
            match self.rng.gen_range(0..100) {
                0..=54 => self.message(&mut steps),
                55..=74 => {
                    let f = self.control();
                    self.push(&mut steps, f);
                }
                75..=82 => {
                    let f = self.odd_frame();
                    self.push(&mut steps, f);
                }
                83..=86 => steps.push(Step::Wait {
                    ms: self.rng.gen_range(1..=5),
                    tag: None,
                }),
                _ => {
                    steps.push(self.close());
                    // Sometimes frames follow the close (Autobahn 7.1.x).
                    if self.chance(0.5) {
                        let f = if self.chance(0.5) {
                            self.control()
                        } else {
                            self.data_frame(Opcode::TEXT)
                        };
                        self.push(&mut steps, f);
                    }
                    break;
                }
            }
        }
        if self.chance(0.35) && !steps.iter().any(|s| matches!(s, Step::Close { .. })) {
            steps.push(self.close());
        }
        steps
    }

    /// A payload length, drawn toward the boundaries.
    fn len(&mut self, max: u64) -> u64 {
        let len = match self.rng.gen_range(0..10) {
            0..=3 => self.rng.gen_range(0..=16),
            4..=7 => {
                let b = self.pick(&DATA_BOUNDS);
                match self.rng.gen_range(0..3) {
                    0 => b.saturating_sub(1),
                    1 => b + 1,
                    _ => b,
                }
            }
            _ => self.rng.gen_range(0..=2048),
        };
        let room = SCRIPT_BYTES.saturating_sub(self.bytes);
        len.min(max).min(room)
    }

    /// UTF-8 text of about `len` bytes, broken at a random offset sometimes.
    fn text(&mut self, len: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity(len as usize + 4);
        if len > 4096 {
            // Long texts: a repeated pattern (the payload stays small in
            // memory), possibly cut inside a character at the end.
            let c = self.pick(&CHARS).as_bytes().to_vec();
            return Payload::repeat(c, len).to_vec();
        }
        while (out.len() as u64) < len {
            out.extend_from_slice(self.pick(&CHARS).as_bytes());
        }
        if self.chance(0.12) {
            let at = self.rng.gen_range(0..=out.len());
            let bad = self.pick(&BROKEN);
            out.splice(at..at, bad.iter().copied());
        }
        out
    }

    fn bytes(&mut self, len: u64) -> Vec<u8> {
        (0..len).map(|_| self.rng.gen()).collect()
    }

    /// A data message, fragmented or not, control frames between its
    /// fragments, its sequence broken now and then.
    fn message(&mut self, steps: &mut Vec<Step>) {
        let binary = self.chance(0.35);
        let len = self.len(70_000);
        let payload = if binary {
            self.bytes(len.min(4096))
        } else {
            self.text(len)
        };
        let payload = if binary && len > 4096 {
            Payload::repeat(payload, len).to_vec()
        } else {
            payload
        };
        let pieces = if payload.len() > 1 && self.chance(0.4) {
            self.rng.gen_range(2..=4usize.min(payload.len()))
        } else {
            1
        };
        let mut cuts: Vec<usize> = (1..pieces)
            .map(|_| self.rng.gen_range(1..payload.len()))
            .collect();
        cuts.sort_unstable();
        cuts.dedup();
        let mut start = 0;
        let last = cuts.len();
        for (i, end) in cuts.into_iter().chain([payload.len()]).enumerate() {
            let mut opcode = match (i, binary) {
                (0, false) => Opcode::TEXT,
                (0, true) => Opcode::BINARY,
                _ => Opcode::CONTINUATION,
            };
            // Broken sequences (RFC 6455 §5.4).
            if self.chance(0.03) {
                opcode = self.pick(&[Opcode::CONTINUATION, Opcode::TEXT, Opcode::BINARY]);
            }
            let fin = if i == last { !self.chance(0.03) } else { false };
            let frame =
                self.mutate(FrameSpec::new(opcode, Payload::bytes(payload[start..end].to_vec())).fin(fin));
            self.push(steps, frame);
            if i < last && self.chance(0.3) {
                let c = self.control();
                self.push(steps, c);
            }
            start = end;
        }
    }

    fn data_frame(&mut self, opcode: Opcode) -> FrameSpec {
        let len = self.len(256);
        let p = self.text(len);
        FrameSpec::new(opcode, Payload::bytes(p))
    }

    /// A ping or pong, 0 to 125 bytes (126 now and then: RFC 6455 §5.5),
    /// unfragmented (fragmented now and then).
    fn control(&mut self) -> FrameSpec {
        let opcode = if self.chance(0.75) {
            Opcode::PING
        } else {
            Opcode::PONG
        };
        let len = match self.rng.gen_range(0..10) {
            0 => 125,
            1 if self.chance(0.5) => 126,
            _ => self.rng.gen_range(0..=20),
        };
        let payload = self.bytes(len);
        let frame = FrameSpec::new(opcode, Payload::bytes(payload)).fin(!self.chance(0.03));
        self.mutate(frame)
    }

    /// A frame outside the usual shapes: a reserved opcode, or a raw close.
    fn odd_frame(&mut self) -> FrameSpec {
        if self.chance(0.7) {
            let op = self.pick(&[3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF]);
            let len = self.len(200);
            let p = self.bytes(len);
            FrameSpec::new(Opcode(op), Payload::bytes(p))
        } else {
            let len = self.rng.gen_range(0..=3);
            let p = self.bytes(len);
            FrameSpec::new(Opcode::CLOSE, Payload::bytes(p))
        }
    }

    /// RSV bits and masking, mostly left alone.
    fn mutate(&mut self, mut frame: FrameSpec) -> FrameSpec {
        if self.chance(0.04) {
            frame.rsv = self.rng.gen_range(1..=7);
        }
        frame.masking = match self.rng.gen_range(0..100) {
            0..=2 => Masking::Unmasked,
            3..=5 => Masking::Key([0; 4]),
            6 => Masking::Key(self.rng.gen()),
            _ => Masking::FollowRole,
        };
        frame
    }

    /// The harness's close: any code, any reason.
    fn close(&mut self) -> Step {
        let code = match self.rng.gen_range(0..20) {
            0..=1 => None,
            2..=7 => Some(1000),
            8..=11 => Some(self.pick(&VALID_CODES)),
            12..=14 => Some(self.pick(&INVALID_CODES)),
            15 => Some(self.pick(&REGISTERED_CODES)),
            16 => Some(self.pick(&[5000u16, 65535])),
            _ => Some(self.rng.gen()),
        };
        let reason = match self.rng.gen_range(0..20) {
            0..=9 => Vec::new(),
            10..=13 => {
                let len = self.rng.gen_range(1..=20);
                self.text(len)
            }
            14 => vec![b'*'; 123],
            15 => vec![b'*'; 124],
            16..=17 => {
                let mut t = self.text(8);
                t.extend_from_slice(self.pick(&BROKEN));
                t
            }
            // With no code: a 1-byte close payload (RFC 6455 §5.5.1).
            _ if code.is_none() => b"a".to_vec(),
            _ => Vec::new(),
        };
        let reason = if code.is_none() && reason.len() != 1 {
            Vec::new()
        } else {
            reason
        };
        Step::Close {
            code,
            reason: Payload::bytes(reason),
        }
    }

    /// Adds a frame step with a way of writing it.
    fn push(&mut self, steps: &mut Vec<Step>, frame: FrameSpec) {
        self.bytes += frame.payload.len;
        let write = match self.rng.gen_range(0..100) {
            0..=79 => Write::Whole,
            80..=87 => Write::Sync,
            _ if frame.payload.len <= CHOP_MAX => Write::Chop(self.rng.gen_range(1..=7)),
            _ => Write::Whole,
        };
        steps.push(Step::Frame { frame, write });
    }
}

/// Timers a script ends with, in ms before scaling: how long a peer may
/// take to fail the connection or answer a close (`REACT_MS`), and to
/// echo every message of a script that ends open (`KILL_MS`). Both are
/// bounds on a hang, far above what any peer needs on loopback: no verdict
/// depends on how fast the peer is below them.
pub const REACT_MS: u64 = 1000;
pub const KILL_MS: u64 = 2500;

/// The case that runs `steps` (timers added as the model needs them) and
/// is judged by the oracle. `id` names it; `note` says where it came from.
pub fn finish(mut steps: Vec<Step>, harness: Role, id: String, note: String) -> (Case, Model) {
    steps.retain(|s| !matches!(s, Step::KillAfter { .. } | Step::CloseAfter { .. }));
    let mut model = Model::of(&steps, harness);
    if model.end == End::Open && model.messages.is_empty() && model.pings.is_empty() {
        // Nothing to wait for: close at once.
        steps.push(Step::Close {
            code: Some(1000),
            reason: Payload::empty(),
        });
        model = Model::of(&steps, harness);
    }
    let mut expected = std::collections::BTreeMap::new();
    let expected_close = match &model.end {
        End::Open => {
            // The engine closes with 1000 once every event is in
            // (`oracle::done`); the kill timer bounds the wait.
            expected.insert(wsconform_cases::Behavior::Ok, model.events());
            ExpectedClose::clean_by_me()
        }
        End::Closed { codes, .. } => {
            expected.insert(wsconform_cases::Behavior::Ok, Vec::new());
            ExpectedClose {
                closed_by_me: true,
                close_codes: codes.clone(),
                require_clean: true,
                wrong_closer_fatal: false,
            }
        }
        End::Fail { codes, .. } => {
            expected.insert(wsconform_cases::Behavior::Ok, Vec::new());
            ExpectedClose {
                closed_by_me: false,
                close_codes: codes.clone(),
                require_clean: false,
                wrong_closer_fatal: false,
            }
        }
    };
    steps.push(Step::KillAfter {
        ms: if model.end == End::Open { KILL_MS } else { REACT_MS },
    });
    let frames = steps
        .iter()
        .filter(|s| matches!(s, Step::Frame { .. } | Step::Close { .. }))
        .count();
    let case = Case {
        id,
        description: format!("Fuzzing script of {frames} frame(s), judged by the RFC oracle."),
        expectation: model.expectation(),
        rfc: RfcRef {
            section: model.section().to_string(),
            level: Requirement::Must,
        },
        steps,
        expected,
        expected_close,
        judge: Judge::Rfc,
        expected_tx_frames: None,
        notes: vec![note],
        handshake: None,
        peer: None,
        deflate: None,
    };
    (case, model)
}
