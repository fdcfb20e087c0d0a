//! Property tests of the wire crate: the encoder/decoder pair, chunking
//! independence, bounded decoding, UTF-8 fail-fast offsets, masking, the
//! opening handshake and close payloads.
//!
//! Run: `cargo test -p wsconform-wire --test properties`. Case counts are
//! chosen so the whole file stays well under 20 s in a debug build; raise them
//! locally with `PROPTEST_CASES=10000` when changing the decoder.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

use wsconform_wire::close::{CloseClass, CloseCode, ClosePayload, ClosePayloadError};
use wsconform_wire::handshake::{self, Request, Response};
use wsconform_wire::testkit::{run_chunked, Event, Outcome};
use wsconform_wire::{
    apply_mask, DecoderConfig, Frame, FrameHeader, LengthForm, Opcode, Role, Utf8Error, Utf8Validator,
};

/// `n` cases, no regression files (proptest cannot find a source root for
/// integration tests; a failing case is printed in full instead).
fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(n)
    }
}

// ---------------------------------------------------------------------------
// Decoder driver
// ---------------------------------------------------------------------------

fn run_whole(config: DecoderConfig, input: &[u8]) -> Outcome {
    run_chunked(config, input, &[])
}

fn run_bytewise(config: DecoderConfig, input: &[u8]) -> Outcome {
    run_chunked(config, input, &vec![1; input.len()])
}

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

/// Cheap deterministic filler for large payloads (proptest would otherwise
/// generate, and try to shrink, 70 000 separate bytes).
fn filler(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Data payloads: mostly small, sometimes across the 7/16/64-bit length
/// boundaries (125/126, 65535/65536) and up to ~70 KiB.
fn data_payload() -> impl Strategy<Value = Vec<u8>> {
    let big_len = prop_oneof![
        select(vec![125usize, 126, 127, 65_535, 65_536, 65_537]),
        126usize..70_000,
    ];
    prop_oneof![
        20 => vec(any::<u8>(), 0..160),
        1 => (big_len, any::<u64>()).prop_map(|(len, seed)| filler(len, seed)),
    ]
}

fn control_payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => vec(any::<u8>(), 0..20),
        1 => vec(any::<u8>(), 100..=125),
    ]
}

fn length_form() -> impl Strategy<Value = LengthForm> {
    select(vec![
        LengthForm::Minimal,
        LengthForm::Extended16,
        LengthForm::Extended64,
    ])
}

/// One frame to send, before role-dependent masking.
#[derive(Debug, Clone)]
struct Spec {
    opcode: Opcode,
    fin: bool,
    payload: Vec<u8>,
    /// RSV bits, later restricted to the decoder's allowed ones.
    rsv: u8,
    form: LengthForm,
    key: [u8; 4],
}

fn control_spec() -> impl Strategy<Value = Spec> {
    (
        select(vec![Opcode::CLOSE, Opcode::PING, Opcode::PONG]),
        control_payload(),
        0u8..8,
        any::<[u8; 4]>(),
    )
        .prop_map(|(opcode, payload, rsv, key)| Spec {
            opcode,
            fin: true,
            payload,
            rsv,
            // RFC 6455 §5.5: a control payload fits the 7-bit form; longer
            // forms are rejected as ControlFrameTooLong.
            form: LengthForm::Minimal,
            key,
        })
}

/// A valid message: a data frame and its continuations, with control frames
/// interleaved between fragments (RFC 6455 §5.4).
fn message() -> impl Strategy<Value = Vec<Spec>> {
    (
        select(vec![Opcode::TEXT, Opcode::BINARY]),
        vec(
            (
                data_payload(),
                0u8..8,
                length_form(),
                any::<[u8; 4]>(),
                vec(control_spec(), 0..2),
            ),
            1..4,
        ),
    )
        .prop_map(|(opcode, fragments)| {
            let last = fragments.len() - 1;
            let mut out = Vec::new();
            for (i, (payload, rsv, form, key, controls)) in fragments.into_iter().enumerate() {
                out.push(Spec {
                    opcode: if i == 0 { opcode } else { Opcode::CONTINUATION },
                    fin: i == last,
                    payload,
                    rsv,
                    form,
                    key,
                });
                out.extend(controls);
            }
            out
        })
}

/// A valid stream: whole messages and standalone control frames.
fn valid_stream() -> impl Strategy<Value = Vec<Spec>> {
    vec(
        prop_oneof![3 => message(), 1 => control_spec().prop_map(|c| vec![c])],
        0..6,
    )
    .prop_map(|v| v.into_iter().flatten().collect())
}

fn role() -> impl Strategy<Value = Role> {
    select(vec![Role::Client, Role::Server])
}

/// A decoder configuration; `small_caps` picks caps a fuzzed stream can hit.
fn config(small_caps: bool) -> impl Strategy<Value = DecoderConfig> {
    let cap = if small_caps {
        (0u64..300).boxed()
    } else {
        Just(64u64 << 20).boxed()
    };
    (role(), 0u8..8, cap.clone(), cap, any::<bool>(), any::<bool>()).prop_map(
        |(
            sender,
            allowed_rsv,
            max_frame_payload,
            max_message_payload,
            reject_non_minimal_length,
            allow_reserved_opcodes,
        )| {
            DecoderConfig {
                sender,
                allowed_rsv,
                max_frame_payload,
                max_message_payload,
                reject_non_minimal_length,
                allow_reserved_opcodes,
            }
        },
    )
}

/// Turns specs into frames that are valid for `config`: masked iff the sender
/// is a client, RSV restricted to the allowed bits, minimal lengths when the
/// decoder insists on them.
fn frames_for(config: &DecoderConfig, specs: &[Spec]) -> Vec<Frame> {
    specs
        .iter()
        .map(|s| {
            let form = if config.reject_non_minimal_length {
                LengthForm::Minimal
            } else {
                s.form
            };
            Frame::new(s.opcode, s.payload.clone())
                .fin(s.fin)
                .rsv(s.rsv & config.allowed_rsv)
                .mask((config.sender == Role::Client).then_some(s.key))
                .length_form(form)
        })
        .collect()
}

fn encode_all(frames: &[Frame]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in frames {
        f.encode_into(&mut out);
    }
    out
}

/// Byte soup that often looks like frames: a valid stream (for a random role)
/// with some bytes flipped and maybe truncated, or plain random bytes.
fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    let mutated = (
        config(false),
        valid_stream(),
        vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        any::<prop::sample::Index>(),
        any::<bool>(),
    )
        .prop_map(|(config, specs, flips, cut, truncate)| {
            let mut bytes = encode_all(&frames_for(&config, &specs));
            if !bytes.is_empty() {
                for (at, xor) in flips {
                    let i = at.index(bytes.len());
                    bytes[i] ^= xor;
                }
                if truncate {
                    bytes.truncate(cut.index(bytes.len()));
                }
            }
            bytes
        });
    prop_oneof![
        2 => mutated,
        1 => vec(any::<u8>(), 0..300),
        // Headers only: many frames, lengths that lie.
        1 => vec(select(vec![0x00u8, 0x01, 0x02, 0x80, 0x81, 0x82, 0x88, 0x89, 0x8A, 0x03, 0x7D, 0x7E, 0x7F, 0xFE, 0xFF, 0x05]), 0..100),
    ]
}

// ---------------------------------------------------------------------------
// Decoder properties
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(cases(512))]

    /// Every valid frame stream decodes back to exactly what was encoded, for
    /// both sender roles, any RSV bits an extension allowed, and any length
    /// form when non-minimal lengths are tolerated.
    #[test]
    fn valid_frames_round_trip(config in config(false), specs in valid_stream()) {
        let frames = frames_for(&config, &specs);
        let bytes = encode_all(&frames);
        let mut expected = Vec::new();
        for f in &frames {
            expected.push(Event::Header(f.header));
            if !f.payload.is_empty() {
                expected.push(Event::Payload(f.payload.clone()));
            }
            expected.push(Event::End);
        }
        let got = run_whole(config, &bytes);
        prop_assert_eq!(got.error, None);
        prop_assert_eq!(got.consumed, Some(bytes.len()));
        prop_assert!(got.idle, "decoder not idle after whole messages");
        // Compare headers and sizes first: a 70 KiB payload diff is unreadable.
        let shape = |e: &Vec<Event>| e.iter().map(|e| match e {
            Event::Payload(p) => Event::Payload(p.len().to_be_bytes().to_vec()),
            other => other.clone(),
        }).collect::<Vec<_>>();
        prop_assert_eq!(shape(&got.events), shape(&expected));
        prop_assert!(got.events == expected, "payload bytes differ");
    }

    /// The decoder yields the same events, the same error and consumes the
    /// same bytes however the input is split, including one byte at a time.
    #[test]
    fn chunking_does_not_matter(
        config in prop_oneof![config(true), config(false)],
        bytes in hostile_bytes(),
        chunk_lens in vec(1usize..40, 0..30),
    ) {
        let whole = run_whole(config, &bytes);
        let chunked = run_chunked(config, &bytes, &chunk_lens);
        prop_assert_eq!(&chunked, &whole);
        let bytewise = run_bytewise(config, &bytes);
        prop_assert_eq!(&bytewise, &whole);
    }

    /// On any bytes, for either role, the decoder does not panic and never
    /// yields anything a strict endpoint must reject: every header obeys the
    /// role, RSV, opcode, control-frame and fragmentation rules, and no frame
    /// or message exceeds the caps, whatever the length fields claim.
    #[test]
    fn hostile_input_is_bounded(config in config(true), bytes in hostile_bytes()) {
        let out = run_whole(config, &bytes);
        let mut current: Option<FrameHeader> = None;
        let mut frame_bytes = 0u64;
        let mut message: Option<u64> = None; // bytes so far of an open message
        for event in &out.events {
            match event {
                Event::Header(h) => {
                    prop_assert!(current.is_none(), "header inside a frame");
                    prop_assert_eq!(h.mask.is_some(), config.sender == Role::Client);
                    prop_assert_eq!(h.rsv & !config.allowed_rsv, 0);
                    prop_assert!(h.payload_len <= config.max_frame_payload);
                    if h.opcode.is_reserved() {
                        // Opaque frames, only when the configuration lets them through.
                        prop_assert!(config.allow_reserved_opcodes);
                    } else if h.opcode.is_control() {
                        prop_assert!(h.fin && h.payload_len <= 125, "{:?}", h);
                    } else {
                        let so_far = match (h.opcode == Opcode::CONTINUATION, message) {
                            (true, Some(n)) => n,
                            (true, None) => { prop_assert!(false, "continuation outside a message"); 0 }
                            (false, Some(_)) => { prop_assert!(false, "data frame inside a message"); 0 }
                            (false, None) => 0,
                        };
                        let total = so_far + h.payload_len;
                        prop_assert!(total <= config.max_message_payload);
                        message = (!h.fin).then_some(total);
                    }
                    current = Some(*h);
                    frame_bytes = 0;
                }
                Event::Payload(p) => {
                    let h = current.expect("payload outside a frame");
                    frame_bytes += p.len() as u64;
                    prop_assert!(frame_bytes <= h.payload_len);
                    prop_assert!(frame_bytes <= config.max_frame_payload);
                }
                Event::End => {
                    let h = current.take().expect("end outside a frame");
                    prop_assert_eq!(frame_bytes, h.payload_len);
                }
            }
        }
        if out.error.is_none() {
            prop_assert_eq!(out.consumed, Some(bytes.len()));
        }
    }
}

// ---------------------------------------------------------------------------
// UTF-8
// ---------------------------------------------------------------------------

/// Can `s` be extended to valid UTF-8? Brute force, independent of the
/// validator: any valid string stays valid after it, so only the last (at
/// most 3-byte) incomplete code point matters, and each position of a
/// multi-byte sequence accepts a range whose bounds are among 80, 8F, 90, 9F,
/// A0, BF (Unicode Table 3-7). So trying every completion of up to 3 bytes
/// from that set decides it.
fn completable(s: &[u8]) -> bool {
    const PROBES: [u8; 6] = [0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF];
    let mut buf = s.to_vec();
    fn search(buf: &mut Vec<u8>, depth: usize) -> bool {
        if std::str::from_utf8(buf).is_ok() {
            return true;
        }
        if depth == 3 {
            return false;
        }
        for p in PROBES {
            buf.push(p);
            let ok = search(buf, depth + 1);
            buf.pop();
            if ok {
                return true;
            }
        }
        false
    }
    // Only the tail after the last valid prefix can need completing.
    let start = match std::str::from_utf8(s) {
        Ok(_) => return true,
        Err(e) => e.valid_up_to(),
    };
    if s.len() - start > 3 {
        return false;
    }
    buf.drain(..start);
    search(&mut buf, 0)
}

/// Feeds `input` split at `cuts` (sorted positions) and finishes.
fn validate_split(input: &[u8], cuts: &[usize]) -> (Result<(), Utf8Error>, Utf8Validator) {
    let mut v = Utf8Validator::new();
    let mut start = 0;
    let mut result = Ok(());
    for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
        let cut = cut.clamp(start, input.len());
        let r = v.feed(&input[start..cut]);
        if result.is_ok() {
            result = r;
        } else {
            // Once failed, the validator stays failed with the same error.
            assert_eq!(r, result);
        }
        start = cut;
    }
    if result.is_ok() {
        result = v.finish();
    }
    (result, v)
}

/// Checks one validation result against std and the brute-force oracle.
fn check_utf8(input: &[u8], result: Result<(), Utf8Error>) -> Result<(), TestCaseError> {
    match (std::str::from_utf8(input), result) {
        (Ok(_), Ok(())) => {}
        (Err(e), Err(Utf8Error::Incomplete { offset })) => {
            prop_assert_eq!(e.error_len(), None, "std says invalid, not incomplete");
            prop_assert_eq!(offset, e.valid_up_to() as u64);
            prop_assert!(completable(input));
        }
        (Err(e), Err(Utf8Error::Invalid { offset })) => {
            prop_assert!(e.error_len().is_some(), "std says incomplete, not invalid");
            let offset = offset as usize;
            prop_assert!(offset >= e.valid_up_to());
            prop_assert!(offset < input.len());
            // Fail-fast: everything before the offset could still have become
            // valid; with the offset byte, nothing can.
            prop_assert!(completable(&input[..offset]), "failed too early at {}", offset);
            prop_assert!(!completable(&input[..=offset]), "failed too late at {}", offset);
        }
        (std_result, ours) => {
            prop_assert!(false, "std {:?} vs ours {:?}", std_result, ours);
        }
    }
    Ok(())
}

/// Bytes around the edges of UTF-8: lead bytes, tails, the overlong,
/// surrogate and above-U+10FFFF boundaries.
fn utf8ish() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        3 => any::<char>().prop_map(|c| c.to_string().into_bytes()),
        1 => select(vec![
            0x00u8, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1,
            0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xF7, 0xF8, 0xFE, 0xFF,
        ])
        .prop_map(|b| vec![b]),
        // A valid multi-byte character cut short.
        1 => (any::<char>(), any::<prop::sample::Index>()).prop_map(|(c, i)| {
            let b = c.to_string().into_bytes();
            b[..i.index(b.len())].to_vec()
        }),
    ];
    vec(piece, 0..24).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(cases(1024))]

    /// The incremental validator agrees with std at every split point, and
    /// its failure offset is the earliest byte that makes completion
    /// impossible.
    #[test]
    fn utf8_matches_std_at_every_split(
        input in prop_oneof![vec(any::<u8>(), 0..40), utf8ish()],
        extra_cuts in vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let (whole, v) = validate_split(&input, &[]);
        check_utf8(&input, whole)?;
        prop_assert_eq!(v.is_boundary(), std::str::from_utf8(&input).is_ok());
        if whole.is_ok() {
            prop_assert_eq!(v.bytes_fed(), input.len() as u64);
        }
        prop_assert_eq!(wsconform_wire::utf8::validate(&input), whole);
        for cut in 0..=input.len() {
            let (split, _) = validate_split(&input, &[cut]);
            prop_assert_eq!(split, whole, "split at {}", cut);
        }
        if !input.is_empty() {
            let mut cuts: Vec<usize> = extra_cuts.iter().map(|i| i.index(input.len() + 1)).collect();
            cuts.sort_unstable();
            let (split, _) = validate_split(&input, &cuts);
            prop_assert_eq!(split, whole, "cuts {:?}", cuts);
            let bytewise: Vec<usize> = (1..input.len()).collect();
            prop_assert_eq!(validate_split(&input, &bytewise).0, whole);
        }
    }
}

#[test]
fn completable_oracle_sanity() {
    assert!(completable(b""));
    assert!(completable(b"\xE0"));
    assert!(completable(b"\xE0\xA0"));
    assert!(!completable(b"\xE0\x80"));
    assert!(completable(b"\xF4\x8F\xBF"));
    assert!(!completable(b"\xF4\x90"));
    assert!(!completable(b"\xED\xA0"));
    assert!(!completable(b"\xC0"));
    assert!(!completable(b"\x80"));
}

// ---------------------------------------------------------------------------
// Masking
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn mask_is_an_involution_and_splits_freely(
        data in vec(any::<u8>(), 0..200),
        key in any::<[u8; 4]>(),
        offset in prop_oneof![0u64..16, any::<u64>()],
        cuts in vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let mut whole = data.clone();
        apply_mask(&mut whole, key, offset);
        // Against the definition in RFC 6455 §5.3.
        for (i, (&m, &d)) in whole.iter().zip(&data).enumerate() {
            let j = (offset.wrapping_add(i as u64) % 4) as usize;
            // offset + i may wrap only for offsets near u64::MAX; 2^64 is a
            // multiple of 4 so the key index is still right.
            prop_assert_eq!(m, d ^ key[j], "byte {}", i);
        }
        let mut twice = whole.clone();
        apply_mask(&mut twice, key, offset);
        prop_assert_eq!(&twice, &data);

        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(data.len() + 1)).collect();
        cuts.sort_unstable();
        let mut pieces = data.clone();
        let mut start = 0;
        for cut in cuts.into_iter().chain(std::iter::once(data.len())) {
            apply_mask(&mut pieces[start..cut], key, offset.wrapping_add(start as u64));
            start = cut;
        }
        prop_assert_eq!(pieces, whole);
    }
}

// ---------------------------------------------------------------------------
// Handshake
// ---------------------------------------------------------------------------

/// RFC 7230 `token`.
fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,16}"
}

/// A header value httparse keeps as written: visible ASCII and obs-text,
/// inner spaces and tabs, no leading or trailing whitespace.
fn header_value() -> impl Strategy<Value = Vec<u8>> {
    let visible = prop_oneof![4 => 0x21u8..=0x7E, 1 => 0x80u8..=0xFF];
    let inner = prop_oneof![6 => visible.clone(), 1 => Just(b' '), 1 => Just(b'\t')];
    prop_oneof![
        1 => Just(Vec::new()),
        8 => (visible.clone(), vec(inner, 0..30), visible).prop_map(|(a, mid, z)| {
            let mut v = vec![a];
            v.extend(mid);
            v.push(z);
            v
        }),
    ]
}

fn extra_headers() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    vec((token(), header_value()), 0..20)
}

/// A request target: `/` then URI characters (no spaces, no controls).
fn target() -> impl Strategy<Value = String> {
    "/[A-Za-z0-9._~!$&'()*+,;=:@/?%-]{0,40}"
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn request_round_trips(
        host in "[a-z0-9.-]{1,20}(:[0-9]{1,5})?",
        target in target(),
        nonce in any::<[u8; 16]>(),
        minor in 0u8..=1,
        extra in extra_headers(),
    ) {
        let key = handshake::key_from_nonce(nonce);
        let mut req = Request::websocket(&host, &target, &key);
        req.minor_version = minor;
        for (name, value) in &extra {
            req.headers.push(name, value.clone());
        }
        let bytes = req.to_bytes();
        let (parsed, n) = Request::parse(&bytes).expect("parses").expect("complete");
        prop_assert_eq!(n, bytes.len());
        prop_assert_eq!(&parsed, &req);
        // Every strict prefix is incomplete, not an error.
        for cut in [0, 1, bytes.len() / 2, bytes.len() - 1] {
            prop_assert_eq!(Request::parse(&bytes[..cut]), Ok(None));
        }
        // Bytes after the head (the first frames) are not consumed.
        let mut more = bytes.clone();
        more.extend_from_slice(b"\x81\x85\x01\x02\x03\x04hello");
        prop_assert_eq!(Request::parse(&more).expect("parses").expect("complete").1, bytes.len());
        // Extra headers that do not collide with the handshake's keep it valid.
        let handshake_names = ["host", "upgrade", "connection", "sec-websocket-key", "sec-websocket-version", "origin"];
        if minor == 1 && extra.iter().all(|(name, _)| !handshake_names.contains(&name.to_ascii_lowercase().as_str())) {
            let offer = handshake::validate_request(&parsed).expect("valid");
            prop_assert_eq!(offer.key, key);
        }
    }

    #[test]
    fn response_round_trips(
        key in "[A-Za-z0-9+/]{22}==",
        status in 0u16..=999,
        reason in "[ -~]{0,30}".prop_map(|s| s.trim().to_string()),
        minor in 0u8..=1,
        extra in extra_headers(),
    ) {
        let mut resp = Response::switching_protocols(key.as_bytes());
        let accept_ok = status == 101;
        resp.status = status;
        resp.reason = reason;
        resp.minor_version = minor;
        for (name, value) in &extra {
            resp.headers.push(name, value.clone());
        }
        let bytes = resp.to_bytes();
        let (parsed, n) = Response::parse(&bytes).expect("parses").expect("complete");
        prop_assert_eq!(n, bytes.len());
        prop_assert_eq!(&parsed, &resp);
        prop_assert_eq!(Response::parse(&bytes[..bytes.len() - 1]), Ok(None));
        let handshake_names = ["upgrade", "connection", "sec-websocket-accept", "sec-websocket-protocol", "sec-websocket-extensions"];
        let clean = extra.iter().all(|(name, _)| !handshake_names.contains(&name.to_ascii_lowercase().as_str()));
        let validated = handshake::validate_response(&parsed, &key, &[], &[]);
        // The version is checked first (HTTP/1.1 only, RFC 6455 §4.2.2), then
        // the status.
        if minor != 1 {
            prop_assert_eq!(validated, Err(handshake::HandshakeError::HttpVersion(minor)));
        } else if !accept_ok {
            prop_assert_eq!(validated, Err(handshake::HandshakeError::Status(status)));
        } else if clean {
            prop_assert!(validated.is_ok(), "{:?}", validated);
        }
    }

    /// Parsing and validating never panic, on random bytes or on a valid
    /// head with bytes flipped; a parse never claims more bytes than given.
    #[test]
    fn handshake_parse_never_panics(
        bytes in prop_oneof![
            vec(any::<u8>(), 0..200),
            (vec(any::<prop::sample::Index>(), 1..4), any::<u8>(), any::<bool>()).prop_map(|(at, b, resp)| {
                let mut v = if resp {
                    Response::switching_protocols(b"dGhlIHNhbXBsZSBub25jZQ==").to_bytes()
                } else {
                    Request::websocket("h", "/", "dGhlIHNhbXBsZSBub25jZQ==").to_bytes()
                };
                for i in at {
                    let i = i.index(v.len());
                    v[i] = b;
                }
                v
            }),
        ],
    ) {
        if let Ok(Some((req, n))) = Request::parse(&bytes) {
            prop_assert!(n <= bytes.len());
            let _ = handshake::validate_request(&req);
        }
        if let Ok(Some((resp, n))) = Response::parse(&bytes) {
            prop_assert!(n <= bytes.len());
            let _ = handshake::validate_response(&resp, "dGhlIHNhbXBsZSBub25jZQ==", &["chat"], &["x"]);
        }
    }
}

// ---------------------------------------------------------------------------
// Close payloads
// ---------------------------------------------------------------------------

fn sendable_code() -> impl Strategy<Value = CloseCode> {
    prop_oneof![1000u16..=1003, 1007u16..=1014, 3000u16..=4999].prop_map(CloseCode)
}

/// A UTF-8 reason of at most 123 bytes (125 minus the code).
fn reason() -> impl Strategy<Value = String> {
    any::<String>().prop_map(|s| {
        let mut end = s.len().min(123);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s[..end].to_string()
    })
}

proptest! {
    #![proptest_config(cases(512))]

    #[test]
    fn close_payload_round_trips(code in sendable_code(), reason in reason()) {
        prop_assert!(code.is_sendable());
        let p = ClosePayload::new(code, reason.clone());
        let bytes = p.encode();
        prop_assert!(bytes.len() <= 125);
        prop_assert_eq!(ClosePayload::parse(&bytes), Ok(p.clone()));
        prop_assert_eq!(p.reason_str(), Some(reason.as_str()));
    }

    /// Any payload parses or fails without panicking; what parses encodes
    /// back to the same bytes; the error is the one the rules predict.
    #[test]
    fn close_payload_parse_is_total(
        bytes in prop_oneof![
            vec(any::<u8>(), 0..130),
            (any::<u16>(), vec(any::<u8>(), 0..10)).prop_map(|(c, r)| {
                let mut v = c.to_be_bytes().to_vec();
                v.extend(r);
                v
            }),
        ],
    ) {
        match ClosePayload::parse(&bytes) {
            Ok(p) => {
                prop_assert_eq!(p.encode(), bytes.clone());
                if let Some(code) = p.code {
                    prop_assert!(code.is_sendable());
                    prop_assert!(matches!(
                        code.class(),
                        CloseClass::Protocol | CloseClass::Registered | CloseClass::Library | CloseClass::Private
                    ));
                }
            }
            Err(ClosePayloadError::OneByte) => prop_assert_eq!(bytes.len(), 1),
            Err(ClosePayloadError::TooLong(n)) => {
                prop_assert_eq!(n, bytes.len());
                prop_assert!(n > 125);
            }
            Err(ClosePayloadError::CodeNotSendable(code)) => {
                prop_assert_eq!(code.0, u16::from_be_bytes([bytes[0], bytes[1]]));
                prop_assert!(!code.is_sendable());
            }
            Err(ClosePayloadError::InvalidReason(_)) => {
                prop_assert!(std::str::from_utf8(&bytes[2..]).is_err());
            }
        }
    }
}
