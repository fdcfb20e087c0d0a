//! Differential: our decoder against tungstenite's frame header parser
//! (`tungstenite::protocol::frame::FrameHeader::parse`, 0.26) on the same
//! bytes, frame after frame. They must agree on every header field (FIN,
//! RSV1-3, opcode, mask key, payload length), on the header's length in bytes,
//! on "incomplete", and on rejecting reserved opcodes.
//!
//! Our decoder is configured to be as lenient as tungstenite's header parser
//! where that is a setting:
//! - all RSV bits allowed (tungstenite leaves RSV to its extension layer);
//! - non-minimal length encodings allowed (tungstenite accepts them);
//! - caps at u64::MAX (tungstenite checks sizes after the header);
//! - the sender role taken from the first frame's MASK bit (tungstenite's
//!   header parser accepts masked and unmasked frames alike; the brief's
//!   "server role" is the unmasked case).
//!
//! Deliberate differences, where the comparison stops (tungstenite's header
//! parser does not check these; its protocol layer or nobody does later):
//! - MASK bit not matching the role of the first frame (RFC 6455 §5.1);
//! - control frame with a length over 125 or without FIN (§5.5);
//! - continuation with no message, new data frame inside a message (§5.4):
//!   fragmentation is state tungstenite keeps above the header parser;
//! - 64-bit length with the most significant bit set (§5.2): tungstenite
//!   returns the length and fails later on its size limit;
//! - fail-fast: we reject a reserved opcode from the first byte, while
//!   tungstenite still answers "incomplete" until the whole header is there.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use tungstenite::error::{Error, ProtocolError};
use tungstenite::protocol::frame::FrameHeader as TFrameHeader;
use wsconform_wire::{Decoded, Decoder, DecoderConfig, Role, Violation};

fuzz_target!(|data: &[u8]| {
    let first_masked = data.get(1).is_some_and(|b| b & 0x80 != 0);
    let config = DecoderConfig {
        sender: if first_masked { Role::Client } else { Role::Server },
        allowed_rsv: 0b111,
        max_frame_payload: u64::MAX,
        max_message_payload: u64::MAX,
        reject_non_minimal_length: false,
        allow_reserved_opcodes: false,
    };
    let mut decoder = Decoder::new(config);
    let mut ours_buf = data.to_vec();
    let mut pos = 0usize;
    loop {
        let mut cursor = Cursor::new(&data[pos..]);
        let theirs = TFrameHeader::parse(&mut cursor);
        let ours = decoder.decode(&mut ours_buf[pos..]);
        let (n, header) = match (ours, theirs) {
            (Err(Violation::ReservedOpcode(op)), theirs) => {
                match theirs {
                    Ok(None) => {} // we fail fast, they wait for the header
                    Err(Error::Protocol(ProtocolError::InvalidOpcode(o))) => assert_eq!(o, op.0),
                    other => panic!("we reject {op}, tungstenite gives {other:?}"),
                }
                return;
            }
            (
                Err(
                    Violation::MaskedServerFrame
                    | Violation::UnmaskedClientFrame
                    | Violation::ControlFrameTooLong { .. }
                    | Violation::FragmentedControlFrame(_)
                    | Violation::ContinuationWithoutMessage
                    | Violation::DataFrameInsideMessage(_)
                    | Violation::LengthMsbSet,
                ),
                _,
            ) => return, // deliberate differences, see above
            (Err(v), theirs) => panic!("unexpected violation {v:?} (tungstenite: {theirs:?})"),
            (Ok((n, None)), theirs) => {
                assert_eq!(n, data.len() - pos, "incomplete header not fully consumed");
                assert!(
                    matches!(theirs, Ok(None)),
                    "we need more bytes, tungstenite gives {theirs:?}"
                );
                return;
            }
            (Ok((n, Some(Decoded::Header(h)))), Ok(Some((th, len)))) => {
                assert_eq!(h.fin, th.is_final, "FIN");
                assert_eq!(h.rsv & 0b100 != 0, th.rsv1, "RSV1");
                assert_eq!(h.rsv & 0b010 != 0, th.rsv2, "RSV2");
                assert_eq!(h.rsv & 0b001 != 0, th.rsv3, "RSV3");
                assert_eq!(h.opcode.0, u8::from(th.opcode), "opcode");
                assert_eq!(h.mask, th.mask, "mask key");
                assert_eq!(h.payload_len, len, "payload length");
                assert_eq!(n as u64, cursor.position(), "header length");
                (n, h)
            }
            (Ok((_, Some(Decoded::Header(h)))), theirs) => {
                panic!("we decode {h:?}, tungstenite gives {theirs:?}")
            }
            (Ok((_, Some(other))), _) => panic!("{other:?} where a header was due"),
        };
        pos += n;
        // Skip the payload in both; stop if it is not all there.
        if header.payload_len > (data.len() - pos) as u64 {
            return;
        }
        loop {
            match decoder.decode(&mut ours_buf[pos..]) {
                Ok((n, Some(Decoded::Payload(_)))) => pos += n,
                Ok((0, Some(Decoded::FrameEnd))) => break,
                other => panic!("{other:?} inside a complete payload"),
            }
        }
    }
});
