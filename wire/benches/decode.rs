//! Throughput of decode + unmask and of UTF-8 validation, and header parsing
//! against tungstenite's `FrameHeader::parse` on the same bytes.
//! Run: `cargo bench -p wsconform-wire --bench decode`. Figures: BENCHMARKS.md.

use wsconform_wire::{Decoded, Decoder, DecoderConfig, Frame, Opcode, Role, Utf8Validator};

fn main() {
    divan::main();
}

const SIZES: [usize; 4] = [16, 1024, 64 * 1024, 16 * 1024 * 1024];

fn masked_frame(size: usize) -> Vec<u8> {
    Frame::new(Opcode::BINARY, vec![0xA5; size])
        .mask(Some([1, 2, 3, 4]))
        .encode()
}

#[divan::bench(args = SIZES)]
fn decode_unmask(bencher: divan::Bencher, size: usize) {
    let encoded = masked_frame(size);
    bencher
        .counter(divan::counter::BytesCount::new(size))
        .with_inputs(|| encoded.clone())
        .bench_local_refs(|buf| {
            let mut decoder = Decoder::new(DecoderConfig::strict(Role::Client));
            let mut pos = 0;
            let mut sum = 0usize;
            loop {
                match decoder.decode(&mut buf[pos..]) {
                    Ok((n, Some(Decoded::Payload(p)))) => {
                        sum += p.len();
                        pos += n;
                    }
                    Ok((n, Some(_))) => pos += n,
                    Ok((_, None)) | Err(_) => break,
                }
            }
            sum
        });
}

#[divan::bench(args = SIZES)]
fn utf8_validate(bencher: divan::Bencher, size: usize) {
    let text: Vec<u8> = "κόσμε hello € 𤭢 ".bytes().cycle().take(size).collect();
    // Cut back to a code point boundary so the input is valid.
    let valid_len = match std::str::from_utf8(&text) {
        Ok(_) => text.len(),
        Err(e) => e.valid_up_to(),
    };
    let text = &text[..valid_len];
    bencher
        .counter(divan::counter::BytesCount::new(valid_len))
        .bench(|| {
            let mut v = Utf8Validator::new();
            v.feed(divan::black_box(text)).is_ok()
        });
}

/// Header parsing on many small frames, ours against tungstenite 0.26 on the
/// same bytes: 1000 unmasked (server) frames of 0-19 payload bytes, text,
/// binary, ping and pong. Both walk the buffer header by header and skip the
/// payloads; ours also validates every rule of RFC 6455 §5 it checks.
mod small_frames {
    use std::io::Cursor;

    use wsconform_wire::{Decoded, Decoder, DecoderConfig, Frame, Opcode, Role};

    const FRAMES: usize = 1000;

    fn frames() -> Vec<u8> {
        let ops = [Opcode::TEXT, Opcode::BINARY, Opcode::PING, Opcode::PONG];
        let mut out = Vec::new();
        for i in 0..FRAMES {
            Frame::new(ops[i % ops.len()], vec![b'a'; i % 20]).encode_into(&mut out);
        }
        out
    }

    #[divan::bench]
    fn wsconform(bencher: divan::Bencher) {
        let encoded = frames();
        bencher
            .counter(divan::counter::ItemsCount::new(FRAMES))
            .with_inputs(|| encoded.clone())
            .bench_local_refs(|buf| {
                let mut decoder = Decoder::new(DecoderConfig::strict(Role::Server));
                let mut pos = 0;
                let mut headers = 0usize;
                loop {
                    match decoder.decode(&mut buf[pos..]) {
                        Ok((n, Some(Decoded::Header(_)))) => {
                            headers += 1;
                            pos += n;
                        }
                        Ok((n, Some(_))) => pos += n,
                        Ok((_, None)) | Err(_) => break,
                    }
                }
                assert_eq!(headers, FRAMES);
                headers
            });
    }

    #[divan::bench]
    fn tungstenite(bencher: divan::Bencher) {
        use tungstenite::protocol::frame::FrameHeader;
        let encoded = frames();
        bencher
            .counter(divan::counter::ItemsCount::new(FRAMES))
            .with_inputs(|| encoded.clone())
            .bench_local_refs(|buf| {
                let mut cursor = Cursor::new(&buf[..]);
                let mut headers = 0usize;
                while let Ok(Some((_, len))) = FrameHeader::parse(&mut cursor) {
                    headers += 1;
                    cursor.set_position(cursor.position() + len);
                }
                assert_eq!(headers, FRAMES);
                headers
            });
    }
}
