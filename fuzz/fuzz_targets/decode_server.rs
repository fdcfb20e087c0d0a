//! Raw bytes as frames sent by a server, strict RFC 6455 with small caps:
//! the decoder alone, as an endpoint runs it. The oracle is "no panic, no
//! sanitizer report, and every byte consumed unless a violation stopped it".
//!
//! It is also the speed counterpart of `tungstenite_header` (same loop over
//! headers and payloads, same seeds; see BENCHMARKS.md), so it deliberately
//! does not run the per-item `Checker`, which roughly halves exec/s: the
//! rules it checks are fuzzed for both roles by `decode_client` and
//! `decode_chunked`.
//!
//! The decoder unmasks payloads in place, so it works on a mutable copy of
//! the input. The copy goes into one fixed buffer reused from run to run, as
//! an endpoint reuses its read buffer, instead of a fresh heap allocation per
//! run (under AddressSanitizer that malloc/free pair cost ~10% of a run). The
//! decoder only ever sees `&mut buf[..data.len()]` and has no `unsafe`, so
//! nothing is lost to the sanitizer. Inputs larger than the buffer (only
//! with `-max_len` raised past it) get a heap copy.
#![no_main]

use std::cell::RefCell;

use fuzz_support::strict_small;
use libfuzzer_sys::fuzz_target;
use wsconform_wire::{Decoder, Role};

const BUF_LEN: usize = 1 << 16;

thread_local! {
    static BUF: RefCell<[u8; BUF_LEN]> = const { RefCell::new([0; BUF_LEN]) };
}

fn decode_all(buf: &mut [u8]) {
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
}

fuzz_target!(|data: &[u8]| {
    if data.len() <= BUF_LEN {
        BUF.with_borrow_mut(|buf| {
            let buf = &mut buf[..data.len()];
            buf.copy_from_slice(data);
            decode_all(buf);
        });
    } else {
        decode_all(&mut data.to_vec());
    }
});
