//! Arbitrary bytes as a `Sec-WebSocket-Extensions` value (RFC 6455 §9.1,
//! RFC 7692 §5): parsing must not panic; what parses must write back to text
//! that parses to the same elements; every permessage-deflate element that
//! is a valid offer or response must round-trip through its typed form; and
//! whatever a server policy accepts must pass the client's check. The whole
//! negotiation too (`negotiate.rs`): the value as a client's offers, the
//! server's `choose` among them and the client's `validate_response_headers`
//! of the chosen response must agree on the parameters (RFC 7692 §7.1); the
//! value as a server's response to fixed offers must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsconform_wire::deflate::{
    choose, encode_extensions, parse_extensions, validate_response_headers, AcceptPolicy, Offer, Response,
    WindowBits, EXTENSION_NAME,
};

fuzz_target!(|data: &[u8]| {
    let nine = WindowBits::new(9);
    // The whole-header entry points must not panic either.
    let _ = Response::find_in([data]);
    let _ = validate_response_headers(&[Offer::autobahn(true, nine), Offer::default()], [data]);
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
    if let Ok(offers) = Offer::all_in([data]) {
        if let Some((i, response)) = choose(&offers, &policies) {
            let Ok(offer) = &offers[i] else {
                panic!("chose invalid offer {i}");
            };
            assert_eq!(response.validate(offer), Ok(response.params()));
            // The client sent all valid offers; the first the response
            // answers decides the parameters, so they need not be the
            // chosen one's, but they must be valid for one of them.
            let sent: Vec<Offer> = offers.iter().filter_map(|o| o.as_ref().ok().copied()).collect();
            let text = response.to_string();
            let params = validate_response_headers(&sent, [text.as_bytes()])
                .expect("the chosen response passes the client's check")
                .expect("permessage-deflate accepted");
            assert!(sent.iter().any(|o| response.validate(o) == Ok(params)));
        }
    }
    let Ok(exts) = parse_extensions(data) else {
        return;
    };
    let text = encode_extensions(&exts);
    assert_eq!(parse_extensions(text.as_bytes()).as_ref(), Ok(&exts), "{text}");
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
