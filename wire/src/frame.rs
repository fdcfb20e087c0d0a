//! Frame headers and the frame encoder (RFC 6455 §5.2).
//!
//! The encoder writes exactly what it is told, valid or not: any FIN/RSV/opcode
//! combination, a mask or none, a length encoded minimally or in a longer form,
//! and a declared length that differs from the payload that follows.

use crate::mask::apply_mask;
use crate::opcode::Opcode;

/// Bit values of the three reserved bits inside [`FrameHeader::rsv`], using the
/// same 3-bit numbering as Autobahn's wire logs (`rsv = 4` is RSV1).
pub const RSV1: u8 = 0b100;
pub const RSV2: u8 = 0b010;
pub const RSV3: u8 = 0b001;

/// A decoded or to-be-encoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct FrameHeader {
    pub fin: bool,
    /// RSV1..RSV3 as a 3-bit number (bit 2 = RSV1).
    pub rsv: u8,
    pub opcode: Opcode,
    /// The masking key, present exactly when the MASK bit is set (RFC 6455 §5.3).
    pub mask: Option<[u8; 4]>,
    /// The payload length as written in (or read from) the header.
    pub payload_len: u64,
}

/// How the payload length is written (RFC 6455 §5.2 "Payload length").
///
/// `Minimal` is the only form the RFC allows ("the minimal number of bytes MUST
/// be used"); the others exist so the harness can test how peers treat
/// non-minimal encodings. A form too short for the length falls back to the
/// next larger one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(rename_all = "snake_case")]
pub enum LengthForm {
    #[default]
    Minimal,
    /// 126 marker + 16-bit length.
    Extended16,
    /// 127 marker + 64-bit length.
    Extended64,
}

impl LengthForm {
    /// The form actually used for `len`.
    pub fn resolve(self, len: u64) -> LengthForm {
        match self {
            LengthForm::Minimal if len < 126 => LengthForm::Minimal,
            LengthForm::Minimal | LengthForm::Extended16 if len <= 0xFFFF => LengthForm::Extended16,
            _ => LengthForm::Extended64,
        }
    }

    /// The length form a conformant encoder would use for `len`.
    pub fn minimal_for(len: u64) -> LengthForm {
        LengthForm::Minimal.resolve(len)
    }
}

/// The largest header: 2 bytes + 8 bytes of length + 4 bytes of mask.
pub const MAX_HEADER_LEN: usize = 14;

impl FrameHeader {
    /// A FIN frame with no reserved bits, unmasked.
    pub fn new(opcode: Opcode, payload_len: u64) -> FrameHeader {
        FrameHeader {
            fin: true,
            rsv: 0,
            opcode,
            mask: None,
            payload_len,
        }
    }

    /// Appends the header bytes to `out` using `form` for the length.
    pub fn encode(&self, form: LengthForm, out: &mut Vec<u8>) {
        let b0 = (u8::from(self.fin) << 7) | ((self.rsv & 0b111) << 4) | (self.opcode.0 & 0x0F);
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        out.push(b0);
        match form.resolve(self.payload_len) {
            LengthForm::Minimal => out.push(mask_bit | self.payload_len as u8),
            LengthForm::Extended16 => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(self.payload_len as u16).to_be_bytes());
            }
            LengthForm::Extended64 => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&self.payload_len.to_be_bytes());
            }
        }
        if let Some(key) = self.mask {
            out.extend_from_slice(&key);
        }
    }

    /// The number of header bytes `encode` writes.
    pub fn encoded_len(&self, form: LengthForm) -> usize {
        let len = match form.resolve(self.payload_len) {
            LengthForm::Minimal => 2,
            LengthForm::Extended16 => 4,
            LengthForm::Extended64 => 10,
        };
        len + if self.mask.is_some() { 4 } else { 0 }
    }
}

/// A whole frame to encode: a header, the payload bytes that follow it, and
/// how to write the length. The header's `payload_len` may differ from
/// `payload.len()` on purpose (a lying length); [`Frame::new`] keeps them equal.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Frame {
    pub header: FrameHeader,
    pub payload: Vec<u8>,
    pub length_form: LengthForm,
}

impl Frame {
    /// A valid, unmasked FIN frame carrying `payload`.
    pub fn new(opcode: Opcode, payload: impl Into<Vec<u8>>) -> Frame {
        let payload = payload.into();
        Frame {
            header: FrameHeader::new(opcode, payload.len() as u64),
            payload,
            length_form: LengthForm::Minimal,
        }
    }

    pub fn fin(mut self, fin: bool) -> Frame {
        self.header.fin = fin;
        self
    }

    pub fn rsv(mut self, rsv: u8) -> Frame {
        self.header.rsv = rsv;
        self
    }

    pub fn mask(mut self, key: Option<[u8; 4]>) -> Frame {
        self.header.mask = key;
        self
    }

    pub fn length_form(mut self, form: LengthForm) -> Frame {
        self.length_form = form;
        self
    }

    /// Writes `len` into the header whatever the payload's real size.
    pub fn declared_len(mut self, len: u64) -> Frame {
        self.header.payload_len = len;
        self
    }

    /// The frame's bytes: header, then the payload masked with the header's key.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.header.encoded_len(self.length_form) + self.payload.len());
        self.encode_into(&mut out);
        out
    }

    /// Appends the frame's bytes to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        self.header.encode(self.length_form, out);
        let start = out.len();
        out.extend_from_slice(&self.payload);
        if let Some(key) = self.header.mask {
            apply_mask(&mut out[start..], key, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_examples() {
        // RFC 6455 §5.7.
        assert_eq!(Frame::new(Opcode::TEXT, "Hello").encode(), b"\x81\x05Hello");
        let masked = Frame::new(Opcode::TEXT, "Hello").mask(Some([0x37, 0xfa, 0x21, 0x3d]));
        assert_eq!(
            masked.encode(),
            [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
        );
        let first = Frame::new(Opcode::TEXT, "Hel").fin(false).encode();
        assert_eq!(first, [0x01, 0x03, 0x48, 0x65, 0x6c]);
        let big = Frame::new(Opcode::BINARY, vec![0u8; 256]).encode();
        assert_eq!(&big[..4], [0x82, 0x7E, 0x01, 0x00]);
        let huge = Frame::new(Opcode::BINARY, vec![0u8; 65536]).encode();
        assert_eq!(&huge[..10], [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]);
    }

    #[test]
    fn invalid_frames_are_written_as_told() {
        let f = Frame::new(Opcode(5), "x").rsv(RSV1 | RSV3).fin(false);
        assert_eq!(f.encode(), [0x55, 0x01, b'x']);
        let long_form = Frame::new(Opcode::PING, "ab").length_form(LengthForm::Extended64);
        assert_eq!(
            long_form.encode(),
            [0x89, 0x7F, 0, 0, 0, 0, 0, 0, 0, 2, b'a', b'b']
        );
        let liar = Frame::new(Opcode::TEXT, "abc").declared_len(21);
        assert_eq!(liar.encode(), [0x81, 21, b'a', b'b', b'c']);
        let short16 = Frame::new(Opcode::TEXT, "a").length_form(LengthForm::Extended16);
        assert_eq!(short16.encode(), [0x81, 0x7E, 0, 1, b'a']);
    }

    #[test]
    fn form_falls_back_when_too_short() {
        assert_eq!(LengthForm::Extended16.resolve(70_000), LengthForm::Extended64);
        assert_eq!(LengthForm::minimal_for(125), LengthForm::Minimal);
        assert_eq!(LengthForm::minimal_for(126), LengthForm::Extended16);
        assert_eq!(LengthForm::minimal_for(65536), LengthForm::Extended64);
    }
}
