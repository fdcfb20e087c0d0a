//! Raw bytes as frames sent by a server, strict RFC 6455 with small caps:
//! the decoder alone, as an endpoint runs it. The oracle is "no panic, no
//! sanitizer report, and every byte consumed unless a violation stopped it".
//!
//! It is also the speed counterpart of `tungstenite_header` (same loop over
//! headers and payloads, same seeds; see BENCHMARKS.md), so it deliberately
//! does not run the per-item `Checker`, which roughly halves exec/s: the
//! rules it checks are fuzzed for both roles by `decode_client` and
//! `decode_chunked`.
#![no_main]

use fuzz_support::strict_small;
use libfuzzer_sys::fuzz_target;
use wsconform_wire::{Decoder, Role};

fuzz_target!(|data: &[u8]| {
    let mut buf = data.to_vec();
    let mut decoder = Decoder::new(strict_small(Role::Server));
    let mut pos = 0;
    loop {
        match decoder.decode(&mut buf[pos..]) {
            Ok((n, Some(_))) => pos += n,
            Ok((n, None)) => {
                assert_eq!(pos + n, buf.len(), "input left unconsumed");
                return;
            }
            Err(_) => return,
        }
    }
});
