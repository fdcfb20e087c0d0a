//! The window check of `Decompressor` (wire/src/deflate/window.rs) against
//! zlib: arbitrary bytes as two compressed messages of one direction
//! (RFC 7692 §7.2.2) under fuzzer-chosen window bits and context takeover,
//! fed in fuzzer-chosen chunks.
//!
//! - No panic; the output stays within the cap plus one byte.
//! - Chunking changes nothing: the result and output equal those of the
//!   message fed whole.
//! - Differential, against zlib (zlib-rs) inflating the same stream with a
//!   **1-byte** output buffer. zlib's "invalid distance too far back" test is
//!   `distance > bytes in its window + output of this call`; with one byte
//!   per call that is exactly `distance > history`. (zlib-rs keeps a 32 KiB
//!   window whatever `windowBits` says, so it never checks a smaller one.)
//!   Whatever the walker accepts zlib accepts with the same bytes, and the
//!   other way round, except a reference beyond a window smaller than the
//!   history; a message the walker refuses as corrupt zlib refuses too.
//! - Those window refusals against [`Puff`], an independent slow decoder
//!   that reports the farthest distance: it must have decoded a distance
//!   beyond the window (or beyond the history). What the walker accepts,
//!   `Puff` decodes to the same bytes with no distance beyond the window.
//!
//! Input layout: one byte of parameters (bits 0–2: window bits − 8, bit 3:
//! no context takeover), one byte placing the cut between the two messages
//! (at `byte × len / 255`), then [`split_input`]'s chunk lengths and the data.
#![no_main]

use flate2::{Decompress, FlushDecompress, Status};
use fuzz_support::split_input;
use libfuzzer_sys::fuzz_target;
use wsconform_wire::deflate::{Decompressor, DirectionParams, InflateError, WindowBits, TAIL};
use wsconform_wire::testkit::Puff;

/// Small, so that bombs and the 1-byte oracle stay fast.
const CAP: usize = 16 << 10;

/// What zlib made of one message.
enum Oracle {
    /// The message's bytes; `ended`: the stream ended with BFINAL.
    Inflated { bytes: Vec<u8>, ended: bool },
    Error,
    TooLarge,
}

/// Inflates one message (tail appended, RFC 7692 §7.2.2) one output byte
/// per call.
fn oracle(z: &mut Decompress, message: &[u8]) -> Oracle {
    let input = [message, &TAIL[..]].concat();
    let mut pos = 0;
    let mut bytes = Vec::new();
    loop {
        let mut b = [0u8; 1];
        let (in0, out0) = (z.total_in(), z.total_out());
        let Ok(status) = z.decompress(&input[pos..], &mut b, FlushDecompress::Sync) else {
            return Oracle::Error;
        };
        let used = (z.total_in() - in0) as usize;
        let made = (z.total_out() - out0) as usize;
        pos += used;
        if made == 1 {
            bytes.push(b[0]);
            if bytes.len() > CAP {
                return Oracle::TooLarge;
            }
        }
        if status == Status::StreamEnd {
            return Oracle::Inflated { bytes, ended: true };
        }
        if used == 0 && made == 0 {
            return Oracle::Inflated { bytes, ended: false };
        }
    }
}

/// One message through a `Decompressor`, in pieces of `chunks` (the rest
/// whole).
fn walk(d: &mut Decompressor, message: &[u8], chunks: &[usize]) -> (Result<(), InflateError>, Vec<u8>) {
    let mut out = Vec::new();
    let mut at = 0;
    for len in chunks.iter().copied().chain(std::iter::once(message.len())) {
        let end = (at + len).min(message.len());
        if let Err(e) = d.feed(&message[at..end], &mut out) {
            let _ = d.finish(&mut out);
            return (Err(e), out);
        }
        at = end;
    }
    let r = d.finish(&mut out);
    (r, out)
}

fuzz_target!(|input: &[u8]| {
    let [p, cut, rest @ ..] = input else {
        return;
    };
    let Some(bits) = WindowBits::new(8 + (p & 7)) else {
        return;
    };
    let params = DirectionParams {
        no_context_takeover: p & 8 != 0,
        max_window_bits: bits,
    };
    let (chunks, data) = split_input(rest);
    let cut = usize::from(*cut) * data.len() / 255;
    let messages = [&data[..cut], &data[cut..]];

    let mut chunked = Decompressor::new(params, CAP);
    let mut whole = Decompressor::new(params, CAP);
    let window = 1usize << bits.get();
    let mut z = Decompress::new_with_window_bits(false, bits.get().max(9));
    let mut puff = Puff::with_cap(CAP);
    let mut new_stream = true;
    for message in messages {
        let (r, out) = walk(&mut chunked, message, &chunks);
        assert!(out.len() <= CAP + 1, "{} bytes for cap {CAP}", out.len());
        let (r_whole, out_whole) = walk(&mut whole, message, &[]);
        assert_eq!(r, r_whole, "chunks {chunks:?}");
        assert!(out == out_whole, "output differs in chunks {chunks:?}: {r:?} {} vs {}", out.len(), out_whole.len());

        let o = oracle(&mut z, message);
        puff.max_distance = 0;
        let p = puff.message(message, new_stream);
        match (&r, &o) {
            // Past the cap the two stop at different points: stop here.
            (Err(InflateError::TooLarge { .. }), _) | (_, Oracle::TooLarge) => return,
            (Ok(()), Oracle::Inflated { bytes, .. }) => {
                assert!(out == *bytes, "accepted with other bytes than zlib's");
                match &p {
                    Ok(bytes) => {
                        assert!(out == *bytes, "accepted with other bytes than Puff's");
                        assert!(puff.max_distance <= window, "accepted distance {}", puff.max_distance);
                    }
                    Err(e) if e == "distance too far back" => panic!("accepted what Puff refuses: {e}"),
                    // A message that ends inside a block ("out of input"),
                    // or inside the header of a block whose code-length code
                    // has no codes (zlib reads zeros there and waits for
                    // more, Puff fails): Puff cannot follow the stream.
                    Err(_) => return,
                }
            }
            (Ok(()), Oracle::Error) => panic!("accepted what zlib refuses"),
            (Err(InflateError::BeyondWindow { distance, available, .. }), _) => {
                assert!(*distance > *available);
                if *available < window {
                    // Beyond the history: zlib knows it too.
                    assert!(matches!(o, Oracle::Error), "zlib resolved distance {distance}");
                }
                let far = puff.max_distance > window || p.as_ref().is_err_and(|e| e == "distance too far back");
                assert!(far, "Puff saw no distance beyond {window} (farthest {})", puff.max_distance);
                if matches!(o, Oracle::Inflated { .. }) {
                    // zlib goes on with the stream; the walker starts over.
                    return;
                }
            }
            (Err(e), Oracle::Inflated { .. }) => panic!("refused what zlib accepts: {e}"),
            (Err(_), Oracle::Error) => {}
        }
        // The next message: all start over after an error, a stream that
        // ended, or without context takeover.
        let ended = matches!(o, Oracle::Inflated { ended: true, .. });
        new_stream = r.is_err() || ended || params.no_context_takeover;
        if new_stream {
            z.reset(false);
        }
    }
});
