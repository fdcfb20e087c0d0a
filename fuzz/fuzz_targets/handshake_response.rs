//! Arbitrary bytes as an HTTP response head: parsing must not panic, must not
//! claim more bytes than given, validation must not panic, and a parsed head
//! written back out must parse to the same response.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsconform_wire::handshake::{self, Response};

fuzz_target!(|data: &[u8]| {
    let Ok(Some((parsed, n))) = Response::parse(data) else {
        return;
    };
    assert!(n <= data.len());
    // The RFC 6455 §1.3 example key; its accept value is in the dictionary.
    let _ = handshake::validate_response(
        &parsed,
        "dGhlIHNhbXBsZSBub25jZQ==",
        &["chat"],
        &["permessage-deflate"],
    );
    let again = parsed.to_bytes();
    let (reparsed, m) = Response::parse(&again)
        .expect("a written head parses")
        .expect("a written head is complete");
    assert_eq!(m, again.len());
    assert_eq!(reparsed, parsed);
});
