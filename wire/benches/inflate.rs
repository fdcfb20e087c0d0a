//! Where a compressed message's receiving costs go: the window check
//! ([`WindowWalker`]) alone, zlib-rs inflating alone, and the two together
//! ([`Decompressor`], what the harness runs on every compressed message of a
//! peer). The stream is what Python `websockets` sends by default (zlib level
//! 6, a 12-bit window, context takeover): text-like messages of 16 B, 1 KiB
//! and 128 KiB, one stream of consecutive messages as in Autobahn's 12.x.
//! Run: `cargo bench -p wsconform-wire --bench inflate`. Figures: BENCHMARKS.md.

use flate2::{Decompress, FlushDecompress};
use wsconform_wire::deflate::window::WindowWalker;
use wsconform_wire::deflate::{Compressor, Decompressor, DirectionParams, WindowBits, TAIL};

fn main() {
    divan::main();
}

const SIZES: [usize; 3] = [16, 1024, 128 * 1024];
/// Bytes of messages per measured iteration, whatever their size.
const VOLUME: usize = 2 << 20;

fn params() -> DirectionParams {
    DirectionParams {
        max_window_bits: WindowBits::new(12).expect("8..=15"),
        no_context_takeover: false,
    }
}

/// Deterministic text: words from a small vocabulary, chosen by an LCG.
fn text(len: usize) -> Vec<u8> {
    const WORDS: [&str; 16] = [
        "the",
        "message",
        "frame",
        "window",
        "deflate",
        "server",
        "client",
        "payload",
        "close",
        "ping",
        "Verbindung",
        "Nachricht",
        "über",
        "and",
        "of",
        "échange",
    ];
    let mut out = Vec::with_capacity(len + 16);
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    while out.len() < len {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        out.extend_from_slice(WORDS[(x >> 60) as usize].as_bytes());
        out.push(if x & 0xf == 0 { b'\n' } else { b' ' });
    }
    out.truncate(len);
    out
}

/// The compressed messages (tail removed) of `VOLUME` bytes of text.
fn messages(size: usize) -> Vec<Vec<u8>> {
    let data = text(VOLUME);
    let mut c = Compressor::new(params(), 6);
    data.chunks(size)
        .map(|m| c.compress(m).expect("compresses"))
        .collect()
}

#[divan::bench(args = SIZES)]
fn walker(bencher: divan::Bencher, size: usize) {
    let zs = messages(size);
    bencher
        .counter(divan::counter::BytesCount::new(VOLUME))
        .bench(|| {
            let mut w = WindowWalker::new(params().max_window_bits);
            for z in &zs {
                w.walk(z).expect("inside the window");
                w.walk(&TAIL).expect("tail");
                w.end_message(false);
            }
        });
}

#[divan::bench(args = SIZES)]
fn zlib_alone(bencher: divan::Bencher, size: usize) {
    let zs = messages(size);
    let mut out = vec![0u8; 256 * 1024];
    bencher
        .counter(divan::counter::BytesCount::new(VOLUME))
        .bench_local(|| {
            let mut d = Decompress::new_with_window_bits(false, 15);
            for z in &zs {
                d.decompress(z, &mut out, FlushDecompress::Sync)
                    .expect("inflates");
                d.decompress(&TAIL, &mut out, FlushDecompress::Sync)
                    .expect("tail");
            }
        });
}

#[divan::bench(args = SIZES)]
fn decompressor(bencher: divan::Bencher, size: usize) {
    let zs = messages(size);
    bencher
        .counter(divan::counter::BytesCount::new(VOLUME))
        .bench_local(|| {
            let mut d = Decompressor::new(params(), 1 << 20);
            let mut out = Vec::new();
            for z in &zs {
                out.clear();
                d.feed(z, &mut out).expect("inflates");
                d.finish(&mut out).expect("tail");
            }
        });
}
