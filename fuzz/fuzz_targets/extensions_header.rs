//! Arbitrary bytes as a `Sec-WebSocket-Extensions` value (RFC 6455 §9.1,
//! RFC 7692 §5): parsing must not panic; what parses must write back to text
//! that parses to the same elements; every permessage-deflate element that
//! is a valid offer or response must round-trip through its typed form; and
//! whatever a server policy accepts must pass the client's check.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsconform_wire::deflate::{
    encode_extensions, parse_extensions, AcceptPolicy, Offer, Response, WindowBits, EXTENSION_NAME,
};

fuzz_target!(|data: &[u8]| {
    // The whole-header entry points must not panic either.
    let _ = Offer::all_in([data]);
    let _ = Response::find_in([data]);
    let Ok(exts) = parse_extensions(data) else {
        return;
    };
    let text = encode_extensions(&exts);
    assert_eq!(parse_extensions(text.as_bytes()).as_ref(), Ok(&exts), "{text}");
    let nine = WindowBits::new(9);
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
    for ext in exts.iter().filter(|e| e.name == EXTENSION_NAME) {
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
});
