//! Arbitrary bytes as a compressed permessage-deflate message (RFC 7692
//! §7.2.2), fed in fuzzer-chosen chunks with fuzzer-chosen parameters and
//! cap: inflating must not panic and must never produce, or reserve room
//! for, more than the cap plus one byte; a message it accepts is within the
//! cap. The same bytes as a plain message must also survive a
//! compress/inflate round trip with those parameters (RFC 7692 §7.2.1).
//!
//! Input layout: one byte of parameters (bits 0–2: window bits − 8, bit 3:
//! no context takeover, bits 4–7: compression level mod 10), two bytes of cap
//! (little-endian), then [`split_input`]'s chunk lengths and the data.
#![no_main]

use fuzz_support::split_input;
use libfuzzer_sys::fuzz_target;
use wsconform_wire::deflate::{Compressor, Decompressor, DirectionParams, WindowBits};

fuzz_target!(|input: &[u8]| {
    let [p, c0, c1, rest @ ..] = input else {
        return;
    };
    let Some(bits) = WindowBits::new(8 + (p & 7)) else {
        return;
    };
    let params = DirectionParams {
        no_context_takeover: p & 8 != 0,
        max_window_bits: bits,
    };
    let cap = usize::from(u16::from_le_bytes([*c0, *c1]));
    let (chunks, data) = split_input(rest);

    let mut d = Decompressor::new(params, cap);
    // Two messages: the second starts from whatever the first left.
    for _ in 0..2 {
        let mut out = Vec::new();
        let mut at = 0;
        let mut result = Ok(());
        for len in chunks.iter().copied().chain(std::iter::once(data.len())) {
            let end = (at + len).min(data.len());
            result = d.feed(&data[at..end], &mut out);
            at = end;
            if result.is_err() {
                break;
            }
        }
        if result.is_ok() {
            result = d.finish(&mut out);
        }
        assert!(out.len() <= cap + 1, "{} bytes for cap {cap}", out.len());
        assert!(
            out.capacity() <= cap + 1,
            "capacity {} for cap {cap}",
            out.capacity()
        );
        if result.is_ok() {
            assert!(out.len() <= cap);
        }
    }

    let mut compressor = Compressor::new(params, u32::from(p >> 4) % 10);
    let mut inflater = Decompressor::new(params, data.len());
    for _ in 0..2 {
        let z = compressor.compress(data).expect("compresses");
        assert_eq!(inflater.decompress(&z).expect("own output inflates"), data);
    }
});
