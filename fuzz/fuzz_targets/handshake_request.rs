//! Arbitrary bytes as an HTTP request head: parsing must not panic, must not
//! claim more bytes than given, validation must not panic, and a parsed head
//! written back out must parse to the same request.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsconform_wire::handshake::{self, Request};

fuzz_target!(|data: &[u8]| {
    let Ok(Some((parsed, n))) = Request::parse(data) else {
        return;
    };
    assert!(n <= data.len());
    let _ = handshake::validate_request(&parsed);
    let again = parsed.to_bytes();
    let (reparsed, m) = Request::parse(&again)
        .expect("a written head parses")
        .expect("a written head is complete");
    assert_eq!(m, again.len());
    assert_eq!(reparsed, parsed);
});
