//! permessage-deflate (RFC 7692) in the wire crate: the codec's round trips
//! in every parameter combination, chunking independence, the inflate cap,
//! the RFC's own examples, the 8-bit window, and every negotiation rule.
//!
//! Run: `cargo test -p wsconform-wire --test deflate_properties`.
//! `... -- --ignored --nocapture --test-threads=1` prints compress/inflate
//! MB/s and the cost per message. Measured with `--release` on the 2-core
//! development machine while other builds ran (so times are upper bounds), level 6
//! unless said: text-like data compresses at 53 MB/s (291 at level 1) and
//! inflates at 1.2 GB/s (775 MB/s for level-1 output); random data 48 MB/s
//! and 5 GB/s (stored blocks). One message compressed and inflated: 16 B
//! 3.2 µs, 1 KiB 26 µs, 16 KiB 223 µs, 128 KiB 2.7 ms.
//!
//! Each property was checked against a planted bug (the code changed by
//! hand, the test run, the change reverted):
//! - compressor ignores `no_context_takeover` (no reset per message):
//!   `round_trip_every_parameter_combination` fails (inflate reports an
//!   invalid distance when the receiver resets);
//! - decompressor ignores the peer's `no_context_takeover`:
//!   `receiver_resets_without_context_takeover` fails;
//! - 8-bit window passed to zlib as 15 instead of 9:
//!   `window_8_stays_within_256_bytes` fails (distances up to 32 KiB);
//! - cap check off by one (`>=` for `>`): `cap_is_exact` fails;
//! - output grown with `reserve` instead of `reserve_exact`:
//!   `bomb_costs_only_the_cap` fails (capacity doubles past the cap, and
//!   the per-thread heap peak with it);
//! - tail kept instead of removed: `rfc_7692_examples` fails;
//! - a `feed` that drops input left over when the output step fills:
//!   `large_messages_span_many_inflate_steps` fails;
//! - `Response::validate` without the `server_max_window_bits` comparison:
//!   `response_errors` fails.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

use wsconform_wire::deflate::{
    accept_response_headers, choose, encode_extensions, parse_extensions, validate_response_headers,
    AcceptPolicy, Compressor, Decompressor, DirectionParams, InflateError, NegotiationError, Offer, Params,
    Response, WindowBits,
};
use wsconform_wire::testkit::Puff;

/// `n` cases, or `PROPTEST_CASES` when set; no regression files.
/// Heap bytes in use and their peak, per thread (so tests running in
/// parallel do not disturb each other): how `bomb_costs_only_the_cap`
/// measures what inflating costs beyond its output buffer.
#[allow(unsafe_code)] // A GlobalAlloc is unsafe by definition; it only forwards to System.
mod heap {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        static IN_USE: Cell<usize> = const { Cell::new(0) };
        static PEAK: Cell<usize> = const { Cell::new(0) };
    }

    fn grow(n: usize) {
        let _ = IN_USE.try_with(|u| {
            let now = u.get().saturating_add(n);
            u.set(now);
            let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
        });
    }

    fn shrink(n: usize) {
        let _ = IN_USE.try_with(|u| u.set(u.get().saturating_sub(n)));
    }

    /// Starts a measurement: the peak is reset to what is in use now.
    pub fn reset_peak() -> usize {
        let now = IN_USE.with(Cell::get);
        PEAK.with(|p| p.set(now));
        now
    }

    pub fn peak() -> usize {
        PEAK.with(Cell::get)
    }

    pub struct Counting;

    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            grow(layout.size());
            unsafe { System.alloc(layout) }
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            grow(layout.size());
            unsafe { System.alloc_zeroed(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            shrink(layout.size());
            unsafe { System.dealloc(ptr, layout) }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            // Old and new blocks both exist while the data moves.
            grow(new_size);
            shrink(layout.size());
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }
}

#[global_allocator]
static HEAP: heap::Counting = heap::Counting;

fn cases(n: u32) -> ProptestConfig {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(n);
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(n)
    }
}

fn wb(b: u8) -> WindowBits {
    WindowBits::new(b).expect("8..=15")
}

fn dir(bits: u8, no_context_takeover: bool) -> DirectionParams {
    DirectionParams {
        no_context_takeover,
        max_window_bits: wb(bits),
    }
}

// ---------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------

/// Deterministic filler: random bytes (`text == false`) or compressible
/// text-like data made of a few repeated words.
fn filler(len: usize, seed: u64, text: bool) -> Vec<u8> {
    const WORDS: [&[u8]; 8] = [
        b"frame ",
        b"deflate ",
        b"window ",
        b"{\"id\": ",
        b"42, ",
        b"\xce\xba\xe1\xbd\xb9 ",
        b"\n",
        b"message ",
    ];
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut out = Vec::with_capacity(len + 16);
    while out.len() < len {
        if text {
            out.extend_from_slice(WORDS[(next() % 8) as usize]);
        } else {
            out.push(next() as u8);
        }
    }
    out.truncate(len);
    out
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    let len = prop_oneof![
        6 => 0usize..300,
        2 => 300usize..5000,
        1 => select(vec![0usize, 1, 255, 256, 257, 511, 512, 32_767, 32_768, 32_769, 65_536, 70_000]),
    ];
    (len, any::<u64>(), any::<bool>()).prop_map(|(len, seed, text)| filler(len, seed, text))
}

fn direction() -> impl Strategy<Value = DirectionParams> {
    (8u8..=15, any::<bool>()).prop_map(|(b, nct)| dir(b, nct))
}

/// Compresses `messages` with `params`, decompresses them with the same
/// params (in `chunks`-byte pieces when given), and checks both the codec
/// and the independent decoder get the messages back, with no distance
/// beyond the window.
fn round_trip(params: DirectionParams, level: u32, messages: &[Vec<u8>], chunk: Option<usize>) {
    let mut c = Compressor::new(params, level);
    let mut d = Decompressor::new(params, 1 << 20);
    let mut puff = Puff::default();
    for (i, m) in messages.iter().enumerate() {
        let z = c.compress(m).expect("compresses");
        assert!(!z.is_empty());
        let mut out = Vec::new();
        match chunk {
            None => d.feed(&z, &mut out).expect("inflates"),
            Some(n) => {
                for piece in z.chunks(n.max(1)) {
                    d.feed(piece, &mut out).expect("inflates");
                }
            }
        }
        d.finish(&mut out).expect("finishes");
        assert_eq!(out.len(), m.len(), "message {i} with {params:?}");
        assert!(out == *m, "message {i} with {params:?}");
        let again = puff
            .message(&z, params.no_context_takeover)
            .expect("independent decoder");
        assert!(again == *m, "independent decoder, message {i}");
        let window = 1usize << params.max_window_bits.get();
        assert!(
            puff.max_distance <= window,
            "distance {} beyond the {window}-byte window of {params:?}",
            puff.max_distance
        );
    }
}

// ---------------------------------------------------------------------------
// Codec properties
// ---------------------------------------------------------------------------

#[test]
fn round_trip_every_parameter_combination() {
    // Each direction of a connection is an independent compressor and
    // decompressor pair; every (window bits, takeover) of one direction,
    // crossed with every one of the other, on the same message sequence.
    let messages: Vec<Vec<u8>> = [0usize, 1, 5, 300, 1000, 4096, 40_000, 0, 3000]
        .iter()
        .enumerate()
        .map(|(i, &len)| filler(len, i as u64, i % 3 != 1))
        .collect();
    for server_bits in 8..=15 {
        for server_nct in [false, true] {
            round_trip(dir(server_bits, server_nct), 6, &messages, None);
            for client_bits in 8..=15 {
                for client_nct in [false, true] {
                    let params = Params {
                        server: dir(server_bits, server_nct),
                        client: dir(client_bits, client_nct),
                    };
                    // Interleaved directions: each message goes both ways.
                    let mut pairs = [
                        (
                            Compressor::new(params.server, 1),
                            Decompressor::new(params.server, 1 << 20),
                        ),
                        (
                            Compressor::new(params.client, 1),
                            Decompressor::new(params.client, 1 << 20),
                        ),
                    ];
                    for m in messages.iter().take(5) {
                        for (c, d) in &mut pairs {
                            let z = c.compress(m).expect("compresses");
                            assert!(d.decompress(&z).expect("inflates") == *m, "{params:?}");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn large_messages_span_many_inflate_steps() {
    // Messages inflating to far more than one 64 KiB output step per feed,
    // fed whole and in pieces, in every window size.
    let text = filler(300 << 10, 5, true);
    let zeros = vec![0u8; 1 << 20];
    for bits in 8..=15 {
        for nct in [false, true] {
            round_trip(
                dir(bits, nct),
                6,
                &[text.clone(), zeros.clone(), text.clone()],
                None,
            );
        }
    }
    round_trip(dir(15, false), 1, &[zeros.clone(), text.clone()], Some(4096));
    round_trip(dir(9, true), 9, &[zeros, text], Some(7));
}

#[test]
fn window_8_stays_within_256_bytes() {
    // Data whose best matches lie 257..512 bytes back: zlib at 9 bits
    // would find them if it ignored its 250-byte MAX_DIST.
    let block = filler(300, 7, false);
    let mut m = block.clone();
    for i in 0..20 {
        m.extend_from_slice(&block);
        m.extend_from_slice(&filler(i * 13, i as u64, false));
    }
    for level in 0..=9 {
        for nct in [false, true] {
            round_trip(dir(8, nct), level, &[m.clone(), m.clone(), m.clone()], None);
        }
    }
}

#[test]
fn receiver_resets_without_context_takeover() {
    // Two messages compressed with context takeover: the second refers
    // to the first. A receiver told the sender resets must not resolve it.
    let mut c = Compressor::new(dir(15, false), 6);
    let first = c.compress(b"Hello, Hello, Hello").expect("compresses");
    let second = c.compress(b"Hello, Hello, Hello").expect("compresses");
    let mut d = Decompressor::new(dir(15, true), 1 << 20);
    assert_eq!(d.decompress(&first).expect("first"), b"Hello, Hello, Hello");
    // RFC 7692 §7.1.1.1/§7.1.1.2: the first message is all the reference
    // could reach, and it is not there for this receiver.
    assert!(matches!(
        d.decompress(&second),
        Err(InflateError::BeyondWindow { available, distance, .. }) if distance > available
    ));
    let mut d = Decompressor::new(dir(15, false), 1 << 20);
    d.decompress(&first).expect("first");
    assert_eq!(d.decompress(&second).expect("second"), b"Hello, Hello, Hello");
}

/// Text with repeats 250..=600 bytes back: around the 256-byte window of
/// 8 bits (zlib-rs at 9 bits must not use 257..=512) and the 512 of 9.
fn repeats_around_small_windows(seed: u64) -> Vec<u8> {
    let mut m = Vec::new();
    for (i, distance) in (250..=600).step_by(25).enumerate() {
        let block = filler(40, seed + i as u64, false);
        m.extend_from_slice(&block);
        m.extend_from_slice(&filler(distance - block.len(), seed + 1000 + i as u64, false));
        m.extend_from_slice(&block);
    }
    m
}

#[test]
fn every_level_window_and_takeover_chunked() {
    // Window bits 8..=15 × context takeover × levels 0..=9, three messages
    // per connection, fed in pieces of a size that varies with the case:
    // the same messages back, no window error (the Decompressor checks
    // every distance), and the independent decoder finds no distance
    // beyond the window.
    let messages = [
        repeats_around_small_windows(1),
        filler(3000, 2, true),
        repeats_around_small_windows(3),
    ];
    for bits in 8..=15u8 {
        for nct in [false, true] {
            for level in 0..=9u32 {
                let chunk = 1 + (usize::from(bits) * 37 + level as usize * 11) % 300;
                round_trip(dir(bits, nct), level, &messages, Some(chunk));
            }
        }
    }
}

proptest! {
    #![proptest_config(cases(96))]

    /// A message whose farthest distance (as the independent decoder finds
    /// it) exceeds a receiver's window is refused with `BeyondWindow`,
    /// however it is chunked; one within the window inflates. Compressed
    /// with 15 bits, inflated as every smaller window.
    #[test]
    fn beyond_the_window_is_always_rejected(
        block_len in 3usize..60,
        distance in prop_oneof![60usize..600, 600usize..32_000],
        seed in any::<u64>(),
        level in 1u32..=9,
        chunk in 1usize..500,
    ) {
        let block = filler(block_len, seed, false);
        let mut m = block.clone();
        m.extend_from_slice(&filler(distance.saturating_sub(block_len), seed ^ 1, false));
        m.extend_from_slice(&block);
        let z = Compressor::new(dir(15, false), level).compress(&m).expect("compresses");
        let mut puff = Puff::default();
        prop_assert!(puff.message(&z, true).expect("independent decoder") == m);
        let farthest = puff.max_distance;
        for bits in 8..=15u8 {
            let window = 1usize << bits;
            let mut d = Decompressor::new(dir(bits, false), 1 << 20);
            let mut out = Vec::new();
            let r = z
                .chunks(chunk)
                .try_for_each(|piece| d.feed(piece, &mut out))
                .and_then(|()| d.finish(&mut out));
            if farthest > window {
                prop_assert!(
                    matches!(r, Err(InflateError::BeyondWindow { distance, available, .. })
                        if distance > window && available == window),
                    "{bits} bits, farthest {farthest}: {r:?}"
                );
            } else {
                prop_assert_eq!(r, Ok(()));
                prop_assert!(out == m);
            }
        }
    }

    /// A message compressed with context takeover, received as if the
    /// sender reset its window (RFC 7692 §7.1.1.1/§7.1.1.2): refused exactly
    /// when it refers to the previous message, i.e. when the independent
    /// decoder cannot decode it from an empty window.
    #[test]
    fn references_into_the_previous_message_without_takeover(
        first in payload(),
        second in payload(),
        level in 0u32..=9,
    ) {
        let mut c = Compressor::new(dir(15, false), level);
        let z1 = c.compress(&first).expect("compresses");
        let z2 = c.compress(&second).expect("compresses");
        let mut d = Decompressor::new(dir(15, true), 1 << 20);
        prop_assert!(d.decompress(&z1).expect("first") == first);
        let alone = Puff::default().message(&z2, true);
        match d.decompress(&z2) {
            Ok(out) => {
                prop_assert!(out == second);
                prop_assert!(alone.is_ok());
            }
            Err(e) => {
                prop_assert!(matches!(e, InflateError::BeyondWindow { .. }), "{e}");
                prop_assert_eq!(alone, Err("distance too far back".to_string()));
            }
        }
    }

    #[test]
    fn round_trips(params in direction(), level in 0u32..=9, messages in vec(payload(), 1..6)) {
        round_trip(params, level, &messages, None);
    }

    #[test]
    fn chunked_at_any_byte(
        params in direction(),
        messages in vec(payload(), 1..4),
        chunk in prop_oneof![Just(1usize), 1usize..64, 64usize..5000],
    ) {
        round_trip(params, 6, &messages, Some(chunk));
    }

    #[test]
    fn split_at_every_point(m in vec(any::<u8>(), 0..200), text in any::<bool>(), nct in any::<bool>()) {
        let m = if text { filler(m.len() * 4, m.len() as u64, true) } else { m };
        let params = dir(15, nct);
        let z = Compressor::new(params, 6).compress(&m).expect("compresses");
        for cut in 0..=z.len() {
            let mut d = Decompressor::new(params, 1 << 20);
            let mut out = Vec::new();
            d.feed(&z[..cut], &mut out).expect("first part");
            d.feed(&z[cut..], &mut out).expect("second part");
            d.finish(&mut out).expect("finishes");
            prop_assert!(out == m, "cut at {}", cut);
        }
    }

    /// The `inflate` fuzz target's body: garbage, or a valid message with
    /// bytes flipped and cut, in chunks, two messages on one decompressor.
    #[test]
    fn cap_holds_for_any_input(
        input in prop_oneof![
            vec(any::<u8>(), 0..2000),
            (payload(), vec((any::<usize>(), any::<u8>()), 0..4), any::<usize>()).prop_map(|(m, flips, cut)| {
                let mut z = Compressor::new(dir(15, false), 6).compress(&m).expect("compresses");
                for (at, x) in flips {
                    if !z.is_empty() {
                        let i = at % z.len();
                        z[i] ^= x;
                    }
                }
                let keep = if z.is_empty() { 0 } else { cut % (z.len() + 1) };
                z.truncate(keep.max(z.len() / 2));
                z
            }),
        ],
        cap in prop_oneof![0usize..300, 0usize..100_000],
        bits in 8u8..=15,
        nct in any::<bool>(),
        chunks in vec(1usize..300, 0..8),
    ) {
        let mut d = Decompressor::new(dir(bits, nct), cap);
        for _ in 0..2 {
            let mut out = Vec::new();
            let mut at = 0;
            let mut r = Ok(());
            for len in chunks.iter().copied().chain(std::iter::once(input.len())) {
                let end = (at + len).min(input.len());
                r = d.feed(&input[at..end], &mut out);
                at = end;
                if r.is_err() {
                    break;
                }
            }
            if r.is_ok() {
                r = d.finish(&mut out);
            }
            prop_assert!(out.len() <= cap + 1);
            prop_assert!(out.capacity() <= cap + 1);
            if r.is_ok() {
                prop_assert!(out.len() <= cap);
            }
        }
    }
}

#[test]
fn cap_is_exact() {
    let m = filler(10_000, 3, true);
    let z = Compressor::new(dir(15, true), 6)
        .compress(&m)
        .expect("compresses");
    let mut d = Decompressor::new(dir(15, true), m.len());
    assert_eq!(d.decompress(&z).expect("exactly the cap"), m);
    let mut d = Decompressor::new(dir(15, true), m.len() - 1);
    assert_eq!(d.decompress(&z), Err(InflateError::TooLarge { cap: m.len() - 1 }));
    // After an error the next message starts over, whether or not the
    // failed one was finished, and with context takeover too.
    let z2 = Compressor::new(dir(15, true), 6)
        .compress(b"ok")
        .expect("compresses");
    assert_eq!(d.decompress(&z2).expect("fresh stream"), b"ok");
    let mut d = Decompressor::new(dir(15, false), 100);
    let mut out = Vec::new();
    assert!(d.feed(&z, &mut out).is_err());
    assert_eq!(d.finish(&mut out), Ok(()));
    assert_eq!(d.decompress(&z2).expect("fresh stream after finish"), b"ok");
    assert!(d.decompress(&[0x07]).is_err());
    assert_eq!(d.decompress(&z2).expect("fresh stream after corrupt data"), b"ok");
}

#[test]
fn bomb_costs_only_the_cap() {
    // 1 MB, not 1 MiB: a cap that is no power of two, where doubling
    // growth would overshoot it.
    const CAP: usize = 1_000_000;
    let zeros = vec![0u8; 100 << 20];
    let bomb = Compressor::new(dir(15, false), 9)
        .compress(&zeros)
        .expect("compresses");
    drop(zeros);
    assert!(bomb.len() < 200 << 10, "bomb is {} bytes", bomb.len());
    // Whole, and fed in 1 KiB pieces: stopped at the cap, and the output
    // buffer never holds (or reserves) more than the cap plus one byte.
    // All the heap inflating takes, output and zlib state included, stays
    // within 1.5 × the cap (the last doubling of the output, while old and
    // new buffers both exist) plus 128 KiB (zlib-rs's state and 32 KiB
    // window are about 50 KiB).
    let base = heap::reset_peak();
    let mut d = Decompressor::new(dir(15, false), CAP);
    let mut out = Vec::new();
    let r = d.feed(&bomb, &mut out).and_then(|()| d.finish(&mut out));
    assert_eq!(r, Err(InflateError::TooLarge { cap: CAP }));
    assert!(out.capacity() <= CAP + 1, "capacity {}", out.capacity());
    let cost = heap::peak() - base;
    assert!(
        cost <= CAP + CAP / 2 + (128 << 10),
        "inflating the bomb took {cost} bytes of heap"
    );
    drop((d, out));
    let mut d = Decompressor::new(dir(15, false), CAP);
    let mut out = Vec::new();
    let mut result = Ok(());
    for piece in bomb.chunks(1024) {
        result = d.feed(piece, &mut out);
        if result.is_err() {
            break;
        }
    }
    assert_eq!(result, Err(InflateError::TooLarge { cap: CAP }));
    assert!(out.len() <= CAP + 1 && out.capacity() <= CAP + 1);
    assert!(d.produced() <= CAP + 1);
}

#[test]
fn rfc_7692_examples() {
    // §7.2.3.1: "Hello" in one compressed block; what zlib writes too.
    let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let mut c = Compressor::new(dir(15, false), 6);
    assert_eq!(c.compress(b"Hello").expect("compresses"), hello);
    // §7.2.3.2: the second "Hello" refers to the first (context takeover).
    let shared = [0xf2, 0x00, 0x11, 0x00, 0x00];
    assert_eq!(c.compress(b"Hello").expect("compresses"), shared);
    let mut d = Decompressor::new(dir(15, false), 100);
    assert_eq!(d.decompress(&hello).expect("7.2.3.1"), b"Hello");
    assert_eq!(d.decompress(&shared).expect("7.2.3.2"), b"Hello");
    // §7.2.3.3: a stored block.
    let stored = [0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00];
    assert_eq!(d.decompress(&stored).expect("7.2.3.3"), b"Hello");
    // §7.2.3.4: BFINAL set; the appended tail (and any byte after the
    // final block) is past the end of the stream and ignored, and the
    // next message starts a new stream.
    let final_block = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    assert_eq!(d.decompress(&final_block).expect("7.2.3.4"), b"Hello");
    let mut padded = final_block.to_vec();
    padded.push(0x00);
    assert_eq!(d.decompress(&padded).expect("7.2.3.4 with padding"), b"Hello");
    assert_eq!(d.decompress(&hello).expect("after BFINAL"), b"Hello");
    // §7.2.3.5: two blocks in one message.
    let two = [
        0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
    ];
    let mut d = Decompressor::new(dir(15, true), 100);
    assert_eq!(d.decompress(&two).expect("7.2.3.5"), b"Hello");
    // §7.2.3.6: a final fragment holding only 0x00 (an empty stored
    // block's header; its LEN/NLEN is the tail appended at the end).
    let mut out = Vec::new();
    d.feed(
        &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00, 0x00, 0xff, 0xff],
        &mut out,
    )
    .expect("first fragment");
    d.feed(&[0x00], &mut out).expect("empty final fragment");
    d.finish(&mut out).expect("finishes");
    assert_eq!(out, b"Hello");
    // An empty message compresses to that same single byte, also after a
    // message (when zlib has nothing left to flush).
    let mut c = Compressor::new(dir(15, false), 6);
    assert_eq!(c.compress(b"").expect("empty"), [0x00]);
    c.compress(b"x").expect("x");
    assert_eq!(c.compress(b"").expect("empty again"), [0x00]);
}

#[test]
fn bfinal_messages_between_normal_ones() {
    // RFC 7692 §7.2.3.4: a sender that ends each stream with BFINAL. With
    // context takeover on, messages after it start a new stream on both
    // ends, whatever mix of BFINAL and sync-flushed messages is sent.
    for nct in [false, true] {
        let params = dir(10, nct);
        let mut c = Compressor::new(params, 6);
        let mut d = Decompressor::new(params, 1 << 20);
        let mut puff = Puff::default();
        for i in 0..12u64 {
            let m = filler(100 + 700 * i as usize, i / 3, true);
            let z = if i % 3 == 1 {
                c.compress_final(&m)
            } else {
                c.compress(&m)
            }
            .expect("compresses");
            assert_eq!(d.decompress(&z).expect("inflates"), m, "message {i}");
            assert!(puff.message(&z, nct).expect("independent decoder") == m);
        }
    }
    let mut c = Compressor::new(dir(15, false), 6);
    assert_eq!(
        c.compress_final(b"Hello").expect("final"),
        [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
    );
}

#[test]
fn corrupt_input_is_an_error() {
    let mut d = Decompressor::new(dir(15, false), 100);
    // BTYPE 11 is reserved (RFC 1951 §3.2.3).
    assert!(matches!(d.decompress(&[0x07]), Err(InflateError::Corrupt(_))));
    // A distance before the start of the stream (RFC 1951 §3.2.5): §7.2.3.2's
    // second "Hello" as a first message, an "H" then a reference 5 back.
    let mut d = Decompressor::new(dir(15, false), 100);
    assert_eq!(
        d.decompress(&[0xf2, 0x00, 0x11, 0x00, 0x00]),
        Err(InflateError::BeyondWindow {
            distance: 5,
            available: 1,
            window_bits: wb(15)
        })
    );
}

#[test]
#[ignore = "prints figures; run with --ignored --nocapture"]
fn throughput() {
    let data = filler(8 << 20, 11, true);
    let noise = filler(8 << 20, 12, false);
    for (name, input) in [("text-like", &data), ("random", &noise)] {
        for level in [1, 6] {
            let params = dir(15, false);
            let mut c = Compressor::new(params, level);
            let t = std::time::Instant::now();
            let mut zs = Vec::new();
            for m in input.chunks(128 << 10) {
                zs.push(c.compress(m).expect("compresses"));
            }
            let ct = t.elapsed().as_secs_f64();
            let mut d = Decompressor::new(params, 1 << 20);
            let t = std::time::Instant::now();
            for z in &zs {
                d.decompress(z).expect("inflates");
            }
            let dt = t.elapsed().as_secs_f64();
            let zlen: usize = zs.iter().map(Vec::len).sum();
            let mb = input.len() as f64 / 1e6;
            println!(
                "{name:9} level {level}: ratio {:.3}, compress {:.0} MB/s, inflate {:.0} MB/s",
                zlen as f64 / input.len() as f64,
                mb / ct,
                mb / dt
            );
        }
    }
}

#[test]
#[ignore = "prints figures; run with --ignored --nocapture"]
fn message_rate() {
    // Autobahn 12.x-sized messages, 1000 of each, through one direction
    // with context takeover: the codec's cost per message.
    for size in [16usize, 1024, 16 << 10, 128 << 10] {
        let msgs: Vec<Vec<u8>> = (0..1000).map(|i| filler(size, i, true)).collect();
        let params = dir(15, false);
        let mut c = Compressor::new(params, 6);
        let mut d = Decompressor::new(params, 1 << 20);
        let t = std::time::Instant::now();
        for m in &msgs {
            let z = c.compress(m).expect("compresses");
            assert_eq!(d.decompress(&z).expect("inflates").len(), m.len());
        }
        let per = t.elapsed().as_secs_f64() / 1000.0;
        println!(
            "{size:6} B x 1000: {:.1} us per message (compress + inflate)",
            per * 1e6
        );
    }
}

// ---------------------------------------------------------------------------
// Negotiation
// ---------------------------------------------------------------------------

fn offer(text: &str) -> Result<Offer, NegotiationError> {
    let exts = parse_extensions(text.as_bytes())?;
    Offer::from_extension(&exts[0])
}

fn response(text: &str) -> Result<Response, NegotiationError> {
    Response::find_in([text.as_bytes()])?.ok_or(NegotiationError::NotAccepted)
}

#[test]
fn valid_offers_and_responses_round_trip() {
    let offers = [
        "permessage-deflate",
        "permessage-deflate; client_max_window_bits",
        "permessage-deflate; client_no_context_takeover; client_max_window_bits",
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
        "permessage-deflate; server_max_window_bits=8; client_max_window_bits=15",
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=9; client_max_window_bits",
    ];
    for text in offers {
        let o = offer(text).expect(text);
        assert_eq!(o.to_string(), text);
        assert_eq!(offer(&o.to_string()), Ok(o));
    }
    // Quoted values and other spacing parse to the same offer (RFC 6455 §9.1).
    assert_eq!(
        offer("permessage-deflate ;server_max_window_bits = \"10\";client_max_window_bits"),
        offer("permessage-deflate; server_max_window_bits=10; client_max_window_bits")
    );
    let responses = [
        "permessage-deflate",
        "permessage-deflate; server_no_context_takeover",
        "permessage-deflate; client_no_context_takeover; client_max_window_bits=9",
        "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12",
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8; client_max_window_bits=8",
    ];
    for text in responses {
        let r = response(text).expect(text);
        assert_eq!(r.to_string(), text);
        assert_eq!(response(&r.to_string()), Ok(r));
    }
    // Other extensions around it are ignored.
    assert_eq!(
        Response::find_in([&b"x-foo; a=b"[..], b"permessage-deflate, x-bar"]),
        Ok(Some(Response::default()))
    );
    assert_eq!(Response::find_in([&b"x-foo"[..]]), Ok(None));
}

#[test]
fn offer_errors() {
    use NegotiationError::*;
    let cases: &[(&str, NegotiationError)] = &[
        (
            "permessage-deflate; client_max_window_bits; client_max_window_bits",
            DuplicateParameter("client_max_window_bits".into()),
        ),
        (
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            DuplicateParameter("server_no_context_takeover".into()),
        ),
        (
            "permessage-deflate; max_window_bits=10",
            UnknownParameter("max_window_bits".into()),
        ),
        (
            "permessage-deflate; Server_No_Context_Takeover",
            UnknownParameter("Server_No_Context_Takeover".into()),
        ),
        (
            "permessage-deflate; server_no_context_takeover=1",
            UnexpectedValue {
                param: "server_no_context_takeover".into(),
                value: "1".into(),
            },
        ),
        (
            "permessage-deflate; client_no_context_takeover=\"x\"",
            UnexpectedValue {
                param: "client_no_context_takeover".into(),
                value: "x".into(),
            },
        ),
        (
            "permessage-deflate; server_max_window_bits",
            MissingValue("server_max_window_bits".into()),
        ),
        (
            "permessage-deflate; server_max_window_bits=010",
            MalformedWindowBits {
                param: "server_max_window_bits".into(),
                value: "010".into(),
            },
        ),
        (
            "permessage-deflate; client_max_window_bits=09",
            MalformedWindowBits {
                param: "client_max_window_bits".into(),
                value: "09".into(),
            },
        ),
        (
            "permessage-deflate; client_max_window_bits=x9",
            MalformedWindowBits {
                param: "client_max_window_bits".into(),
                value: "x9".into(),
            },
        ),
        (
            "permessage-deflate; server_max_window_bits=7",
            WindowBitsOutOfRange {
                param: "server_max_window_bits".into(),
                value: "7".into(),
            },
        ),
        (
            "permessage-deflate; client_max_window_bits=16",
            WindowBitsOutOfRange {
                param: "client_max_window_bits".into(),
                value: "16".into(),
            },
        ),
        (
            "permessage-deflate; client_max_window_bits=4294967304",
            WindowBitsOutOfRange {
                param: "client_max_window_bits".into(),
                value: "4294967304".into(),
            },
        ),
        (
            "x-webkit-deflate-frame",
            NotPermessageDeflate("x-webkit-deflate-frame".into()),
        ),
    ];
    for (text, err) in cases {
        assert_eq!(offer(text).as_ref(), Err(err), "{text}");
    }
    assert!(matches!(offer("permessage-deflate; a=\"b"), Err(Syntax(_))));
    // An invalid offer is declined on its own; the next one still counts.
    let all = Offer::all_in([&b"permessage-deflate; server_max_window_bits=99, permessage-deflate"[..]])
        .expect("syntax");
    assert!(all[0].is_err());
    assert_eq!(all[1], Ok(Offer::default()));
    assert_eq!(choose(&all, &[AcceptPolicy::default()]).map(|(i, _)| i), Some(1));
}

#[test]
fn response_errors() {
    use NegotiationError::*;
    let plain = offer("permessage-deflate").expect("offer");
    let cmwb = offer("permessage-deflate; client_max_window_bits").expect("offer");
    let smwb10 = offer("permessage-deflate; server_max_window_bits=10").expect("offer");
    let snct = offer("permessage-deflate; server_no_context_takeover").expect("offer");
    // Parameter syntax in a response.
    assert_eq!(
        response("permessage-deflate; client_max_window_bits"),
        Err(MissingValue("client_max_window_bits".into()))
    );
    assert_eq!(
        response("permessage-deflate; server_max_window_bits"),
        Err(MissingValue("server_max_window_bits".into()))
    );
    assert_eq!(
        response("permessage-deflate; client_max_window_bits=8; client_max_window_bits=8"),
        Err(DuplicateParameter("client_max_window_bits".into()))
    );
    assert_eq!(
        response("permessage-deflate; foo"),
        Err(UnknownParameter("foo".into()))
    );
    assert_eq!(
        response("permessage-deflate; server_no_context_takeover=true"),
        Err(UnexpectedValue {
            param: "server_no_context_takeover".into(),
            value: "true".into()
        })
    );
    assert_eq!(
        response("permessage-deflate; server_max_window_bits=00"),
        Err(MalformedWindowBits {
            param: "server_max_window_bits".into(),
            value: "00".into()
        })
    );
    assert_eq!(
        response("permessage-deflate; server_max_window_bits=16"),
        Err(WindowBitsOutOfRange {
            param: "server_max_window_bits".into(),
            value: "16".into()
        })
    );
    assert_eq!(
        response("permessage-deflate, permessage-deflate"),
        Err(DuplicateResponse)
    );
    assert_eq!(
        Response::find_in([&b"permessage-deflate"[..], b"permessage-deflate"]),
        Err(DuplicateResponse)
    );
    // Against the offer (RFC 7692 §7.1).
    let r = |t: &str| response(t).expect(t);
    assert_eq!(
        r("permessage-deflate; client_max_window_bits=10").validate(&plain),
        Err(UnofferedClientMaxWindowBits)
    );
    assert_eq!(
        r("permessage-deflate; server_max_window_bits=11").validate(&smwb10),
        Err(ServerWindowAboveOffer {
            offered: wb(10),
            got: wb(11)
        })
    );
    assert_eq!(
        r("permessage-deflate").validate(&smwb10),
        Err(MissingServerMaxWindowBits { offered: wb(10) })
    );
    assert_eq!(
        r("permessage-deflate").validate(&snct),
        Err(MissingServerNoContextTakeover)
    );
    // What is allowed: smaller window, unasked server_* and client_nct.
    assert!(r("permessage-deflate; server_max_window_bits=8")
        .validate(&smwb10)
        .is_ok());
    assert!(r("permessage-deflate; server_no_context_takeover; server_max_window_bits=12; client_no_context_takeover").validate(&plain).is_ok());
    assert!(r("permessage-deflate; client_max_window_bits=8")
        .validate(&cmwb)
        .is_ok());
    // Absent client_max_window_bits: the client assumes 15.
    let p = r("permessage-deflate; server_max_window_bits=9")
        .validate(&cmwb)
        .expect("valid");
    assert_eq!(p.client, dir(15, false));
    assert_eq!(p.server, dir(9, false));
    // Several offers: the response must answer one of them.
    let vals = [&b"permessage-deflate; client_max_window_bits=9"[..]];
    assert_eq!(
        validate_response_headers(&[plain, cmwb], vals),
        Ok(Some(Params {
            server: dir(15, false),
            client: dir(9, false)
        }))
    );
    assert_eq!(
        validate_response_headers(&[plain], vals),
        Err(UnofferedClientMaxWindowBits)
    );
    assert_eq!(validate_response_headers(&[plain], [&b"x-other"[..]]), Ok(None));
    assert_eq!(
        validate_response_headers(&[], [&b"permessage-deflate"[..]]),
        Err(NotOffered)
    );
    // Autobahn's rule (12.x/13.x): a well-formed response is used as it is,
    // the broken §7.1 rule only reported; a malformed one still refused.
    let omitted = [&b"permessage-deflate; client_no_context_takeover"[..]];
    let smwb15 = Offer::autobahn(false, WindowBits::new(15));
    assert_eq!(
        validate_response_headers(&[smwb15], omitted),
        Err(MissingServerMaxWindowBits { offered: wb(15) })
    );
    assert_eq!(
        accept_response_headers(&[smwb15], omitted),
        Ok(Some((
            Params {
                server: dir(15, false),
                client: dir(15, true)
            },
            Some(MissingServerMaxWindowBits { offered: wb(15) })
        )))
    );
    assert_eq!(
        accept_response_headers(&[smwb15, plain], omitted).map(|p| p.map(|(_, broken)| broken)),
        Ok(Some(None)),
        "it answers the second offer"
    );
    assert_eq!(
        accept_response_headers(&[plain], [&b"permessage-deflate; x=1"[..]]),
        Err(UnknownParameter("x".into()))
    );
    assert_eq!(accept_response_headers(&[plain], [&b"x-other"[..]]), Ok(None));
    assert_eq!(
        accept_response_headers(&[], [&b"permessage-deflate"[..]]),
        Err(NotOffered)
    );
}

#[test]
fn autobahn_accept_rules() {
    // /autobahn reference §3: fuzzingserver accept rules for 12.x/13.x.
    let client_offer = Offer::autobahn(false, None);
    assert_eq!(
        client_offer.to_string(),
        "permessage-deflate; client_no_context_takeover; client_max_window_bits"
    );
    let rule_13_1 = AcceptPolicy::default();
    let rule_13_2 = AcceptPolicy {
        client_no_context_takeover: true,
        ..Default::default()
    };
    let rule_13_3 = AcceptPolicy {
        client_max_window_bits: Some(wb(9)),
        ..Default::default()
    };
    let rule_13_5 = AcceptPolicy {
        client_no_context_takeover: true,
        client_max_window_bits: Some(wb(9)),
        ..Default::default()
    };
    let accept = |p: &AcceptPolicy, o: &Offer| p.accept(o).map(|r| r.to_string());
    let bare = Offer::default();
    assert_eq!(accept(&rule_13_1, &bare).as_deref(), Some("permessage-deflate"));
    assert_eq!(
        accept(&rule_13_2, &bare).as_deref(),
        Some("permessage-deflate; client_no_context_takeover")
    );
    // 13.3 needs client_max_window_bits in the offer.
    assert_eq!(accept(&rule_13_3, &bare), None);
    assert_eq!(
        accept(&rule_13_3, &client_offer).as_deref(),
        Some("permessage-deflate; client_max_window_bits=9")
    );
    // The client's own server_* requests are echoed (RFC 7692 §7.1.1.1, §7.1.2.1).
    let asks = Offer::autobahn(true, Some(wb(9)));
    assert_eq!(
        accept(&rule_13_5, &asks).as_deref(),
        Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=9")
    );
    // 13.7: three offers (nct + 9), (nct), (plain); rules 13.5, 13.2, 13.1.
    let offers = [
        Ok(Offer {
            client_no_context_takeover: true,
            client_max_window_bits: Some(Some(wb(9))),
            ..Default::default()
        }),
        Ok(Offer {
            client_no_context_takeover: true,
            ..Default::default()
        }),
        Ok(Offer::default()),
    ];
    let (i, r) = choose(&offers, &[rule_13_5, rule_13_2, rule_13_1]).expect("accepted");
    assert_eq!(i, 0);
    assert_eq!(r.params().client, dir(9, true));
    let (i, _) = choose(&offers[1..], &[rule_13_5, rule_13_2, rule_13_1]).expect("accepted");
    assert_eq!(i, 0);
    // Every accepted response passes the client's own check.
    for o in [bare, client_offer, asks] {
        for p in [rule_13_1, rule_13_2, rule_13_3, rule_13_5] {
            if let Some(r) = p.accept(&o) {
                assert_eq!(r.validate(&o), Ok(r.params()), "{o} / {p:?}");
            }
        }
    }
    assert_eq!(
        encode_extensions(&[client_offer.to_extension(), bare.to_extension()]),
        "permessage-deflate; client_no_context_takeover; client_max_window_bits, permessage-deflate"
    );
}

proptest! {
    #![proptest_config(cases(256))]

    /// Any offer: written, parsed back equal; any policy's response to it
    /// passes the client's check.
    #[test]
    fn offers_and_accepts(
        snct in any::<bool>(), cnct in any::<bool>(),
        smwb in proptest::option::of(8u8..=15),
        cmwb in proptest::option::of(proptest::option::of(8u8..=15)),
        psnct in any::<bool>(), pcnct in any::<bool>(),
        psmwb in proptest::option::of(8u8..=15), pcmwb in proptest::option::of(8u8..=15),
    ) {
        let o = Offer {
            server_no_context_takeover: snct,
            client_no_context_takeover: cnct,
            server_max_window_bits: smwb.map(wb),
            client_max_window_bits: cmwb.map(|c| c.map(wb)),
        };
        prop_assert_eq!(offer(&o.to_string()), Ok(o));
        let policy = AcceptPolicy {
            server_no_context_takeover: psnct,
            client_no_context_takeover: pcnct,
            server_max_window_bits: psmwb.map(wb),
            client_max_window_bits: pcmwb.map(wb),
        };
        if let Some(r) = policy.accept(&o) {
            prop_assert_eq!(response(&r.to_string()), Ok(r));
            prop_assert_eq!(r.validate(&o), Ok(r.params()));
        } else {
            prop_assert!(o.client_max_window_bits.is_none() && pcmwb.is_some());
        }
    }

    /// Arbitrary header text never panics; what parses re-encodes to text
    /// that parses to the same elements.
    #[test]
    fn header_text_round_trips(text in "[ -~\t]{0,80}") {
        check_header(text.as_bytes());
    }

    /// The `extensions_header` fuzz target's body on token soup close to
    /// real offers and responses.
    #[test]
    fn header_soup(pieces in vec(select(vec![
        "permessage-deflate", "x-foo", ";", ",", "=", " ", "\"", "\\",
        "server_no_context_takeover", "client_no_context_takeover",
        "server_max_window_bits", "client_max_window_bits",
        "8", "9", "10", "15", "16", "08", "\"12\"", "a b",
    ]), 0..16)) {
        check_header(pieces.concat().as_bytes());
    }
}

/// What `fuzz/fuzz_targets/extensions_header.rs` asserts.
fn check_header(data: &[u8]) {
    let nine = WindowBits::new(9);
    let _ = Response::find_in([data]);
    let _ = validate_response_headers(&[Offer::autobahn(true, nine), Offer::default()], [data]);
    let policies = [
        AcceptPolicy::default(),
        AcceptPolicy {
            client_no_context_takeover: true,
            client_max_window_bits: nine,
            ..AcceptPolicy::default()
        },
        AcceptPolicy {
            server_no_context_takeover: true,
            server_max_window_bits: nine,
            ..AcceptPolicy::default()
        },
    ];
    if let Ok(offers) = Offer::all_in([data]) {
        if let Some((i, response)) = choose(&offers, &policies) {
            let offer = offers[i].as_ref().expect("chose a valid offer");
            assert_eq!(response.validate(offer), Ok(response.params()));
            let sent: Vec<Offer> = offers.iter().filter_map(|o| o.as_ref().ok().copied()).collect();
            let text = response.to_string();
            let params = validate_response_headers(&sent, [text.as_bytes()])
                .expect("the chosen response passes the client's check")
                .expect("permessage-deflate accepted");
            assert!(sent.iter().any(|o| response.validate(o) == Ok(params)));
        }
    }
    let Ok(exts) = parse_extensions(data) else {
        return;
    };
    let text = encode_extensions(&exts);
    assert_eq!(parse_extensions(text.as_bytes()).as_ref(), Ok(&exts), "{text}");
    for ext in exts.iter().filter(|e| e.name == "permessage-deflate") {
        if let Ok(offer) = Offer::from_extension(ext) {
            let again = parse_extensions(offer.to_string().as_bytes()).expect("a written offer parses");
            assert_eq!(Offer::from_extension(&again[0]), Ok(offer));
            for policy in &policies {
                if let Some(r) = policy.accept(&offer) {
                    assert_eq!(r.validate(&offer), Ok(r.params()), "{offer} / {r}");
                }
            }
        }
        if let Ok(response) = Response::from_extension(ext) {
            let again = parse_extensions(response.to_string().as_bytes()).expect("a written response parses");
            assert_eq!(Response::from_extension(&again[0]), Ok(response));
            let _ = response.validate(&Offer::autobahn(true, nine));
        }
    }
}
