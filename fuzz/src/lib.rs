//! Shared drivers and oracles of the fuzz targets.

pub mod tungstenite_echo;

use wsconform_wire::{Decoded, Decoder, DecoderConfig, FrameHeader, Opcode, Role, Violation};

/// Caps small enough that fuzzed length fields hit them all the time.
pub const SMALL_FRAME_CAP: u64 = 4096;
pub const SMALL_MESSAGE_CAP: u64 = 8192;

/// Strict decoding of frames sent by `sender`, with small caps.
pub fn strict_small(sender: Role) -> DecoderConfig {
    DecoderConfig {
        max_frame_payload: SMALL_FRAME_CAP,
        max_message_payload: SMALL_MESSAGE_CAP,
        ..DecoderConfig::strict(sender)
    }
}

/// A configuration picked by one fuzzer-chosen byte: role, tolerated RSV
/// bits, small or large caps, strict or lenient length encoding.
pub fn config_from_byte(b: u8) -> DecoderConfig {
    let sender = if b & 1 == 0 { Role::Server } else { Role::Client };
    let mut config = if b & 2 == 0 {
        strict_small(sender)
    } else {
        DecoderConfig::strict(sender)
    };
    config.reject_non_minimal_length = b & 4 == 0;
    config.allowed_rsv = (b >> 3) & 0b111;
    if b & 0x40 != 0 {
        // Tiny caps: every non-empty frame is over one of them.
        config.max_frame_payload = u64::from(b >> 7) * 10;
        config.max_message_payload = u64::from(b & 0x1F);
    }
    config
}

pub use wsconform_wire::testkit::{run_chunked, Event, Outcome};

/// Decodes `input` in place as one buffer, the fast path with no copies
/// (what the speed comparison measures), checking every item as it comes.
/// Returns the decoder's verdict.
pub fn run_in_place(config: &DecoderConfig, input: &mut [u8]) -> Result<(), Violation> {
    let mut decoder = Decoder::new(*config);
    let mut checker = Checker::new(config);
    let mut pos = 0;
    loop {
        match decoder.decode(&mut input[pos..])? {
            (n, Some(Decoded::Header(h))) => {
                checker.header(&h);
                pos += n;
            }
            (n, Some(Decoded::Payload(p))) => {
                checker.payload(p.len());
                pos += n;
            }
            (n, Some(Decoded::FrameEnd)) => {
                checker.end();
                pos += n;
            }
            (n, None) => {
                assert_eq!(pos + n, input.len(), "input left unconsumed");
                return Ok(());
            }
        }
    }
}

/// Asserts that nothing the decoder yields breaks a rule a strict endpoint
/// enforces, and that no frame or message goes past the caps.
#[derive(Debug)]
pub struct Checker<'a> {
    config: &'a DecoderConfig,
    current: Option<FrameHeader>,
    frame_bytes: u64,
    /// Bytes so far of an open fragmented message.
    message: Option<u64>,
}

impl<'a> Checker<'a> {
    pub fn new(config: &'a DecoderConfig) -> Checker<'a> {
        Checker {
            config,
            current: None,
            frame_bytes: 0,
            message: None,
        }
    }

    pub fn header(&mut self, h: &FrameHeader) {
        let config = self.config;
        assert!(self.current.is_none(), "header inside a frame");
        assert_eq!(h.mask.is_some(), config.sender == Role::Client, "{h:?}");
        assert_eq!(h.rsv & !config.allowed_rsv, 0, "{h:?}");
        assert!(!h.opcode.is_reserved(), "{h:?}");
        assert!(h.payload_len <= config.max_frame_payload, "{h:?}");
        assert!(h.payload_len >> 63 == 0, "{h:?}");
        if h.opcode.is_control() {
            assert!(h.fin && h.payload_len <= 125, "{h:?}");
        } else {
            let so_far = match (h.opcode == Opcode::CONTINUATION, self.message) {
                (true, Some(n)) => n,
                (false, None) => 0,
                (true, None) => panic!("continuation outside a message"),
                (false, Some(_)) => panic!("data frame inside a message"),
            };
            let total = so_far + h.payload_len;
            assert!(total <= config.max_message_payload, "message of {total}");
            self.message = (!h.fin).then_some(total);
        }
        self.current = Some(*h);
        self.frame_bytes = 0;
    }

    pub fn payload(&mut self, len: usize) {
        let h = self.current.expect("payload outside a frame");
        self.frame_bytes += len as u64;
        assert!(self.frame_bytes <= h.payload_len, "more payload than declared");
    }

    pub fn end(&mut self) {
        let h = self.current.take().expect("end outside a frame");
        assert_eq!(self.frame_bytes, h.payload_len, "frame ended early");
    }
}

/// Runs the [`Checker`] over a recorded outcome.
pub fn check_bounded(config: &DecoderConfig, out: &Outcome, input_len: usize) {
    let mut checker = Checker::new(config);
    for event in &out.events {
        match event {
            Event::Header(h) => checker.header(h),
            Event::Payload(p) => checker.payload(p.len()),
            Event::End => checker.end(),
        }
    }
    if out.error.is_none() {
        assert_eq!(out.consumed, Some(input_len));
    }
}

/// Chunk lengths from fuzzer-chosen numbers (0 becomes 1).
pub fn chunk_lens(cuts: &[u16]) -> Vec<usize> {
    cuts.iter().map(|&c| usize::from(c).max(1)).collect()
}

/// Splits `input` into chunk lengths and the rest: one byte `k` (mod 16),
/// then `k` one-byte chunk lengths (0 becomes 1), then the payload. Short
/// inputs give fewer chunks.
pub fn split_input(input: &[u8]) -> (Vec<usize>, &[u8]) {
    let Some((&k, rest)) = input.split_first() else {
        return (Vec::new(), input);
    };
    let k = usize::from(k % 16).min(rest.len());
    let (lens, data) = rest.split_at(k);
    (lens.iter().map(|&l| usize::from(l).max(1)).collect(), data)
}

/// Can `s` still be completed to valid UTF-8? (std reports an incomplete tail
/// as an error with no `error_len`.)
pub fn utf8_completable(s: &[u8]) -> bool {
    match std::str::from_utf8(s) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}
