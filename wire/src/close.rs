//! Close codes and close frame payloads (RFC 6455 §5.5.1, §7.4, IANA
//! "WebSocket Close Code Number Registry").

use std::fmt;

use crate::utf8::{self, Utf8Error};

/// A close status code. Open: any `u16` is kept, so codes that must never be
/// sent (0, 1005, 5000, ...) can be sent by the harness and reported as read.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct CloseCode(pub u16);

impl CloseCode {
    pub const NORMAL: CloseCode = CloseCode(1000);
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    pub const RESERVED: CloseCode = CloseCode(1004);
    pub const NO_STATUS_RECEIVED: CloseCode = CloseCode(1005);
    pub const ABNORMAL_CLOSURE: CloseCode = CloseCode(1006);
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    pub const SERVICE_RESTART: CloseCode = CloseCode(1012);
    pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);
    pub const BAD_GATEWAY: CloseCode = CloseCode(1014);
    pub const TLS_HANDSHAKE: CloseCode = CloseCode(1015);

    /// Where the code falls in RFC 6455 §7.4 and the IANA registry.
    pub fn class(self) -> CloseClass {
        match self.0 {
            0..=999 => CloseClass::Unused,
            1000..=1003 | 1007..=1011 => CloseClass::Protocol,
            1012..=1014 => CloseClass::Registered,
            1004 | 1005 | 1006 | 1015 => CloseClass::NotOnWire,
            1016..=2999 => CloseClass::Unassigned,
            3000..=3999 => CloseClass::Library,
            4000..=4999 => CloseClass::Private,
            5000..=u16::MAX => CloseClass::Unused,
        }
    }

    /// May an endpoint put this code in a close frame? Only defined and
    /// registered codes and the 3000–4999 ranges qualify; a peer that
    /// receives any other code fails the connection with 1002.
    pub fn is_sendable(self) -> bool {
        matches!(
            self.class(),
            CloseClass::Protocol | CloseClass::Registered | CloseClass::Library | CloseClass::Private
        )
    }

    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            1000 => "normal closure",
            1001 => "going away",
            1002 => "protocol error",
            1003 => "unsupported data",
            1004 => "reserved",
            1005 => "no status received",
            1006 => "abnormal closure",
            1007 => "invalid frame payload data",
            1008 => "policy violation",
            1009 => "message too big",
            1010 => "mandatory extension",
            1011 => "internal error",
            1012 => "service restart",
            1013 => "try again later",
            1014 => "bad gateway",
            1015 => "TLS handshake",
            _ => return None,
        })
    }
}

impl fmt::Debug for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{} ({name})", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// The classes of close codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CloseClass {
    /// 0–999 and ≥ 5000: never used (RFC 6455 §7.4.2).
    Unused,
    /// 1000–1003 and 1007–1011, defined by RFC 6455 §7.4.1.
    Protocol,
    /// 1012–1014, added to the IANA registry after RFC 6455.
    Registered,
    /// 1004 (reserved), 1005, 1006 and 1015: MUST NOT be set in a close frame.
    NotOnWire,
    /// 1016–2999: reserved for future revisions of the protocol.
    Unassigned,
    /// 3000–3999: for libraries and frameworks, registered with IANA.
    Library,
    /// 4000–4999: private use.
    Private,
}

/// The payload of a close frame (RFC 6455 §5.5.1): empty, or a 2-byte code
/// followed by a UTF-8 reason.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct ClosePayload {
    pub code: Option<CloseCode>,
    /// The reason bytes as they are on the wire (not necessarily UTF-8 when
    /// the harness builds an invalid one).
    pub reason: Vec<u8>,
}

/// Why a received close payload is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClosePayloadError {
    #[error("close payload of 1 byte (RFC 6455 §5.5.1: a body starts with a 2-byte code)")]
    OneByte,
    #[error("close payload of {0} bytes (RFC 6455 §5.5: control payloads are at most 125 bytes)")]
    TooLong(usize),
    #[error("close code {0} may not be sent (RFC 6455 §7.4)")]
    CodeNotSendable(CloseCode),
    #[error("close reason is not valid UTF-8 (RFC 6455 §5.5.1): {0}")]
    InvalidReason(Utf8Error),
}

impl ClosePayloadError {
    /// The code to fail the connection with: 1007 for a bad reason, else 1002.
    pub fn close_code(&self) -> CloseCode {
        match self {
            ClosePayloadError::InvalidReason(_) => CloseCode::INVALID_PAYLOAD,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

impl ClosePayload {
    pub fn empty() -> ClosePayload {
        ClosePayload::default()
    }

    pub fn new(code: CloseCode, reason: impl Into<Vec<u8>>) -> ClosePayload {
        ClosePayload {
            code: Some(code),
            reason: reason.into(),
        }
    }

    /// Parses and validates a received payload strictly.
    pub fn parse(payload: &[u8]) -> Result<ClosePayload, ClosePayloadError> {
        match payload.len() {
            0 => return Ok(ClosePayload::empty()),
            1 => return Err(ClosePayloadError::OneByte),
            n if n > 125 => return Err(ClosePayloadError::TooLong(n)),
            _ => {}
        }
        let code = CloseCode(u16::from_be_bytes([payload[0], payload[1]]));
        if !code.is_sendable() {
            return Err(ClosePayloadError::CodeNotSendable(code));
        }
        let reason = &payload[2..];
        utf8::validate(reason).map_err(ClosePayloadError::InvalidReason)?;
        Ok(ClosePayload::new(code, reason))
    }

    /// The payload bytes; with no code, the reason is dropped (RFC 6455
    /// §5.5.1 allows a reason only after a code).
    pub fn encode(&self) -> Vec<u8> {
        match self.code {
            None => Vec::new(),
            Some(code) => {
                let mut out = Vec::with_capacity(2 + self.reason.len());
                out.extend_from_slice(&code.0.to_be_bytes());
                out.extend_from_slice(&self.reason);
                out
            }
        }
    }

    /// The reason as text, if it is UTF-8.
    pub fn reason_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.reason).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_match_the_registry() {
        assert_eq!(CloseCode(999).class(), CloseClass::Unused);
        assert_eq!(CloseCode(1004).class(), CloseClass::NotOnWire);
        assert_eq!(CloseCode(1013).class(), CloseClass::Registered);
        assert_eq!(CloseCode(2999).class(), CloseClass::Unassigned);
        assert_eq!(CloseCode(3000).class(), CloseClass::Library);
        assert_eq!(CloseCode(4999).class(), CloseClass::Private);
        assert_eq!(CloseCode(5000).class(), CloseClass::Unused);
        // Autobahn 7.7.x send these; all must be accepted.
        for code in [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
        ] {
            assert!(CloseCode(code).is_sendable(), "{code}");
        }
        // Autobahn 7.9.x send these; all must be refused.
        for code in [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999] {
            assert!(!CloseCode(code).is_sendable(), "{code}");
        }
    }

    #[test]
    fn parse_payloads() {
        assert_eq!(ClosePayload::parse(b""), Ok(ClosePayload::empty()));
        assert_eq!(ClosePayload::parse(b"a"), Err(ClosePayloadError::OneByte));
        assert_eq!(
            ClosePayload::parse(b"\x03\xe8Hello World!"),
            Ok(ClosePayload::new(CloseCode::NORMAL, "Hello World!"))
        );
        assert_eq!(
            ClosePayload::parse(b"\x03\xed"),
            Err(ClosePayloadError::CodeNotSendable(CloseCode::NO_STATUS_RECEIVED))
        );
        let bad = ClosePayload::new(CloseCode::NORMAL, b"\xce\xba\xed\xa0\x80".to_vec()).encode();
        let err = ClosePayload::parse(&bad).expect_err("invalid reason");
        assert_eq!(err.close_code(), CloseCode::INVALID_PAYLOAD);
        assert_eq!(
            ClosePayload::parse(&[b'*'; 126]),
            Err(ClosePayloadError::TooLong(126))
        );
    }

    #[test]
    fn encode_round_trips() {
        let p = ClosePayload::new(CloseCode(4000), "bye");
        assert_eq!(ClosePayload::parse(&p.encode()), Ok(p));
        assert_eq!(ClosePayload::empty().encode(), Vec::<u8>::new());
    }
}
