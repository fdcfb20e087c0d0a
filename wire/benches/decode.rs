//! Throughput of decode + unmask and of UTF-8 validation.
//! Run: `cargo bench -p wsconform-wire --bench decode`.

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
