//! Close frame payloads: `ClosePayload::parse` must not panic, whatever it
//! accepts must encode back to the same bytes, and each error must be the one
//! the rules of RFC 6455 §5.5.1 and §7.4 predict.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsconform_wire::{ClosePayload, ClosePayloadError};

fuzz_target!(|data: &[u8]| {
    match ClosePayload::parse(data) {
        Ok(p) => {
            assert_eq!(p.encode(), data);
            assert!(data.len() <= 125);
            assert!(p.code.is_none_or(|c| c.is_sendable()));
            assert!(p.reason_str().is_some());
        }
        Err(ClosePayloadError::OneByte) => assert_eq!(data.len(), 1),
        Err(ClosePayloadError::TooLong(n)) => assert!(n == data.len() && n > 125),
        Err(ClosePayloadError::CodeNotSendable(code)) => {
            assert_eq!(code.0, u16::from_be_bytes([data[0], data[1]]));
            assert!(!code.is_sendable());
        }
        Err(ClosePayloadError::InvalidReason(_)) => {
            assert!(std::str::from_utf8(&data[2..]).is_err());
        }
    }
});
