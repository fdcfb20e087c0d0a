//! Test support shared by the property tests (`tests/properties.rs`,
//! `tests/deflate_properties.rs`) and the fuzz targets (`fuzz/`): a decoder
//! driver that feeds input the way an I/O loop does and checks the decoder's
//! contract on every call, and [`Puff`], an independent DEFLATE decoder.
//! Built only with the `testkit` feature.

use crate::{Decoded, Decoder, DecoderConfig, FrameHeader, Violation};

mod puff;
pub use puff::Puff;

/// What a decoder reported, with a frame's payload pieces concatenated so
/// that the result does not depend on how the input was chunked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Header(FrameHeader),
    Payload(Vec<u8>),
    End,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    pub events: Vec<Event>,
    pub error: Option<Violation>,
    /// Bytes the decoder consumed in total; `None` after an error (the
    /// decoder does not say how far into the failing call it got).
    pub consumed: Option<usize>,
    /// `Decoder::is_idle` after the last input.
    pub idle: bool,
}

/// Decodes `input` delivered in chunks of the given lengths (the rest, if
/// any, as one last chunk), the way an I/O loop would: bytes received but not
/// yet consumed stay in a pending buffer. Panics if the decoder breaks its
/// own contract.
pub fn run_chunked(config: DecoderConfig, input: &[u8], chunk_lens: &[usize]) -> Outcome {
    let mut decoder = Decoder::new(config);
    let mut pending: Vec<u8> = Vec::new();
    let mut fed = 0;
    let mut chunks = chunk_lens.iter().copied();
    let mut out = Outcome::default();
    let mut consumed = 0;
    loop {
        loop {
            let available = pending.len();
            match decoder.decode(&mut pending) {
                Err(e) => {
                    out.error = Some(e);
                    out.idle = decoder.is_idle();
                    return out;
                }
                Ok((n, item)) => {
                    assert!(n <= available, "consumed {n} of {available} bytes");
                    let more = item.is_some();
                    match item {
                        Some(Decoded::Header(h)) => out.events.push(Event::Header(h)),
                        Some(Decoded::Payload(p)) => {
                            assert!(!p.is_empty(), "empty payload piece");
                            assert_eq!(p.len(), n, "payload piece is not the consumed bytes");
                            match out.events.last_mut() {
                                Some(Event::Payload(acc)) => acc.extend_from_slice(p),
                                _ => out.events.push(Event::Payload(p.to_vec())),
                            }
                        }
                        Some(Decoded::FrameEnd) => {
                            assert_eq!(n, 0, "FrameEnd consumes nothing");
                            out.events.push(Event::End);
                        }
                        None => {}
                    }
                    pending.drain(..n);
                    consumed += n;
                    if !more {
                        // The decoder takes everything it is given before it
                        // asks for more (header bytes go to its own buffer).
                        assert!(pending.is_empty(), "{} bytes left unconsumed", pending.len());
                        break;
                    }
                }
            }
        }
        if fed == input.len() {
            break;
        }
        let len = chunks.next().unwrap_or(usize::MAX).clamp(1, input.len() - fed);
        pending.extend_from_slice(&input[fed..fed + len]);
        fed += len;
    }
    out.idle = decoder.is_idle();
    out.consumed = Some(consumed);
    out
}
