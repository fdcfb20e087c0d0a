//! The incremental UTF-8 validator against std, over fuzzer-chosen splits:
//! same verdict, `Incomplete` exactly when std sees a truncated tail, and an
//! `Invalid` offset that is the earliest possible (the bytes before it can
//! still be completed to valid UTF-8, with it they cannot).
//!
//! Input layout: one byte `k` (mod 16), `k` chunk lengths of one byte each,
//! then the text.
#![no_main]

use fuzz_support::{split_input, utf8_completable};
use libfuzzer_sys::fuzz_target;
use wsconform_wire::{Utf8Error, Utf8Validator};

fn validate(data: &[u8], cuts: &[usize]) -> Result<(), Utf8Error> {
    let mut v = Utf8Validator::new();
    let mut start = 0;
    let mut result = Ok(());
    for &cut in cuts.iter().chain(std::iter::once(&data.len())) {
        let cut = cut.clamp(start, data.len());
        let r = v.feed(&data[start..cut]);
        if result.is_ok() {
            result = r;
        } else {
            assert_eq!(r, result, "a failed validator must stay failed");
        }
        start = cut;
    }
    if result.is_ok() {
        assert_eq!(v.bytes_fed(), data.len() as u64);
        result = v.finish();
    }
    assert_eq!(v.finish(), result);
    result
}

fuzz_target!(|input: &[u8]| {
    let (chunks, data) = split_input(input);
    let cuts: Vec<usize> = chunks
        .iter()
        .scan(0, |at, len| {
            *at += len;
            Some(*at)
        })
        .collect();
    let split = validate(data, &cuts);
    assert_eq!(validate(data, &[]), split, "cuts {cuts:?}");
    if data.len() <= 64 {
        for cut in 0..=data.len() {
            assert_eq!(validate(data, &[cut]), split, "split at {cut}");
        }
    }
    match (std::str::from_utf8(data), split) {
        (Ok(_), Ok(())) => {}
        (Err(e), Err(Utf8Error::Incomplete { offset })) => {
            assert_eq!(e.error_len(), None);
            assert_eq!(offset, e.valid_up_to() as u64);
        }
        (Err(e), Err(Utf8Error::Invalid { offset })) => {
            assert!(e.error_len().is_some());
            let offset = offset as usize;
            assert!(offset >= e.valid_up_to() && offset < data.len());
            assert!(utf8_completable(&data[..offset]), "failed too early at {offset}");
            assert!(!utf8_completable(&data[..=offset]), "failed too late at {offset}");
        }
        (std, ours) => panic!("std {std:?} vs ours {ours:?}"),
    }
});
