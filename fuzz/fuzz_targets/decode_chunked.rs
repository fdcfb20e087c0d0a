//! Chunking independence: the input split at fuzzer-chosen points, and one
//! byte at a time, must decode exactly as the unsplit input (same headers,
//! payload, frame ends, error and bytes consumed), for a fuzzer-chosen
//! configuration; and what is yielded must respect the configuration.
//!
//! Input layout (plain bytes, so seeds are easy to write): one byte picks the
//! configuration (see `config_from_byte`), one byte `k` (mod 16) is the number
//! of chunk lengths, then `k` chunk lengths of one byte each, then the stream.
#![no_main]

use fuzz_support::{check_bounded, config_from_byte, run_chunked, split_input};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&config_byte, rest)) = data.split_first() else {
        return;
    };
    let config = config_from_byte(config_byte);
    let (chunks, stream) = split_input(rest);
    let whole = run_chunked(config, stream, &[]);
    check_bounded(&config, &whole, stream.len());
    let chunked = run_chunked(config, stream, &chunks);
    assert_eq!(chunked, whole, "in chunks of {chunks:?}");
    let bytewise = run_chunked(config, stream, &vec![1; stream.len()]);
    assert_eq!(bytewise, whole, "fed byte by byte");
});
