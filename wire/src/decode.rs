//! The incremental, validating frame decoder (RFC 6455 §5).
//!
//! Sans-IO: the caller owns the read buffer and hands the decoder whatever
//! bytes it has, in any chunking. The decoder yields a frame header as soon as
//! it is complete, then the payload in the pieces that arrive (unmasked in
//! place), then the end of the frame. It never buffers payload and never
//! allocates, so a peer that declares a 2^63-byte frame costs nothing but the
//! configured cap. Violations are typed and cite the RFC.

use crate::frame::{FrameHeader, LengthForm, MAX_HEADER_LEN};
use crate::mask::apply_mask;
use crate::opcode::Opcode;
use crate::Role;

/// What the decoder checks beyond the fixed rules of RFC 6455 §5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecoderConfig {
    /// The role of the endpoint that *sent* the bytes being decoded.
    pub sender: Role,
    /// RSV bits an extension negotiated (e.g. RSV1 for permessage-deflate);
    /// any other set bit is a violation (RFC 6455 §5.2).
    pub allowed_rsv: u8,
    /// Largest frame payload accepted.
    pub max_frame_payload: u64,
    /// Largest message (sum of a fragmented message's payloads) accepted.
    pub max_message_payload: u64,
    /// Treat a length not written in its minimal form as a violation
    /// (RFC 6455 §5.2 says MUST; many implementations accept it anyway).
    pub reject_non_minimal_length: bool,
    /// Pass frames with reserved opcodes through as opaque frames instead of
    /// failing (for tools that relay or rewrite traffic, never for judging).
    pub allow_reserved_opcodes: bool,
}

impl DecoderConfig {
    /// Strict RFC 6455 decoding of frames sent by `sender`, with 64 MiB caps.
    pub fn strict(sender: Role) -> DecoderConfig {
        DecoderConfig {
            sender,
            allowed_rsv: 0,
            max_frame_payload: 64 << 20,
            max_message_payload: 64 << 20,
            reject_non_minimal_length: true,
            allow_reserved_opcodes: false,
        }
    }
}

/// A protocol violation found while decoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    #[error("reserved bits {0:#05b} set with no extension negotiated that defines them (RFC 6455 §5.2)")]
    ReservedBits(u8),
    #[error("{0} is reserved (RFC 6455 §5.2)")]
    ReservedOpcode(Opcode),
    #[error("client frame is not masked (RFC 6455 §5.1: a client MUST mask all frames)")]
    UnmaskedClientFrame,
    #[error("server frame is masked (RFC 6455 §5.1: a server MUST NOT mask)")]
    MaskedServerFrame,
    #[error(
        "{opcode} frame with a {len}-byte payload (RFC 6455 §5.5: control frames carry at most 125 bytes)"
    )]
    ControlFrameTooLong { opcode: Opcode, len: u64 },
    #[error("fragmented {0} frame (RFC 6455 §5.5: control frames MUST NOT be fragmented)")]
    FragmentedControlFrame(Opcode),
    #[error("64-bit payload length with the most significant bit set (RFC 6455 §5.2)")]
    LengthMsbSet,
    #[error("payload length {len} not in its minimal encoding (RFC 6455 §5.2)")]
    NonMinimalLength { len: u64 },
    #[error("continuation frame with no message to continue (RFC 6455 §5.4)")]
    ContinuationWithoutMessage,
    #[error("new {0} frame inside a fragmented message (RFC 6455 §5.4)")]
    DataFrameInsideMessage(Opcode),
    #[error("frame payload of {len} bytes exceeds the cap of {max} (RFC 6455 §10.4)")]
    FrameTooLarge { len: u64, max: u64 },
    #[error("message of at least {len} bytes exceeds the cap of {max} (RFC 6455 §10.4)")]
    MessageTooLarge { len: u64, max: u64 },
}

impl Violation {
    /// The RFC section the violated rule is in.
    pub fn rfc_section(&self) -> &'static str {
        match self {
            Violation::UnmaskedClientFrame | Violation::MaskedServerFrame => "RFC 6455 §5.1",
            Violation::ReservedBits(_)
            | Violation::ReservedOpcode(_)
            | Violation::LengthMsbSet
            | Violation::NonMinimalLength { .. } => "RFC 6455 §5.2",
            Violation::ContinuationWithoutMessage | Violation::DataFrameInsideMessage(_) => "RFC 6455 §5.4",
            Violation::ControlFrameTooLong { .. } | Violation::FragmentedControlFrame(_) => "RFC 6455 §5.5",
            Violation::FrameTooLarge { .. } | Violation::MessageTooLarge { .. } => "RFC 6455 §10.4",
        }
    }

    /// The close code an endpoint fails the connection with (RFC 6455 §7.4.1):
    /// 1009 for size caps, 1002 for everything else.
    pub fn close_code(&self) -> crate::CloseCode {
        match self {
            Violation::FrameTooLarge { .. } | Violation::MessageTooLarge { .. } => {
                crate::CloseCode::MESSAGE_TOO_BIG
            }
            _ => crate::CloseCode::PROTOCOL_ERROR,
        }
    }
}

/// One step of decoding.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// A complete, validated frame header; payload follows.
    Header(FrameHeader),
    /// The next piece of the current frame's payload, already unmasked.
    Payload(&'a [u8]),
    /// The current frame's payload is complete.
    FrameEnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Header,
    Payload,
    End,
}

/// The incremental decoder. One per direction of a connection.
#[derive(Debug, Clone)]
pub struct Decoder {
    config: DecoderConfig,
    state: State,
    header_buf: [u8; MAX_HEADER_LEN],
    header_have: usize,
    current: FrameHeader,
    payload_seen: u64,
    /// Opcode of the fragmented message in progress (RFC 6455 §5.4).
    message: Option<Opcode>,
    message_len: u64,
}

impl Decoder {
    pub fn new(config: DecoderConfig) -> Decoder {
        Decoder {
            config,
            state: State::Header,
            header_buf: [0; MAX_HEADER_LEN],
            header_have: 0,
            current: FrameHeader::new(Opcode::CONTINUATION, 0),
            payload_seen: 0,
            message: None,
            message_len: 0,
        }
    }

    pub fn config(&self) -> &DecoderConfig {
        &self.config
    }

    /// Lets a negotiated extension change the RSV bits that are allowed.
    pub fn set_allowed_rsv(&mut self, rsv: u8) {
        self.config.allowed_rsv = rsv;
    }

    /// True between frames and outside a fragmented message.
    pub fn is_idle(&self) -> bool {
        self.state == State::Header && self.header_have == 0 && self.message.is_none()
    }

    /// The opcode of the data message in progress, if a fragmented one is open.
    pub fn message_in_progress(&self) -> Option<Opcode> {
        self.message
    }

    /// Decodes from `input`, returning the number of bytes consumed and at
    /// most one item. `(0, None)` means more input is needed. Payload bytes
    /// are unmasked in place inside `input`.
    pub fn decode<'a>(&mut self, input: &'a mut [u8]) -> Result<(usize, Option<Decoded<'a>>), Violation> {
        match self.state {
            State::Header => self.decode_header(input),
            State::Payload => {
                let remaining = self.current.payload_len - self.payload_seen;
                let take = remaining.min(input.len() as u64) as usize;
                if take == 0 {
                    return Ok((0, None));
                }
                let chunk = &mut input[..take];
                if let Some(key) = self.current.mask {
                    apply_mask(chunk, key, self.payload_seen);
                }
                self.payload_seen += take as u64;
                if self.payload_seen == self.current.payload_len {
                    self.state = State::End;
                }
                Ok((take, Some(Decoded::Payload(chunk))))
            }
            State::End => {
                self.state = State::Header;
                self.header_have = 0;
                Ok((0, Some(Decoded::FrameEnd)))
            }
        }
    }

    fn decode_header<'a>(&mut self, input: &'a mut [u8]) -> Result<(usize, Option<Decoded<'a>>), Violation> {
        let mut consumed = 0;
        loop {
            let needed = self.header_needed();
            if self.header_have == needed {
                break;
            }
            let Some(&byte) = input.get(consumed) else {
                return Ok((consumed, None));
            };
            self.header_buf[self.header_have] = byte;
            self.header_have += 1;
            consumed += 1;
            match self.header_have {
                1 => self.check_first_byte()?,
                2 => self.check_second_byte()?,
                _ => {}
            }
        }
        let header = self.finish_header()?;
        self.current = header;
        self.payload_seen = 0;
        self.state = if header.payload_len == 0 {
            State::End
        } else {
            State::Payload
        };
        Ok((consumed, Some(Decoded::Header(header))))
    }

    /// Header bytes needed so far: 2 until the second byte says how many more.
    fn header_needed(&self) -> usize {
        if self.header_have < 2 {
            return 2;
        }
        let b1 = self.header_buf[1];
        let len_bytes = match b1 & 0x7F {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        2 + len_bytes + if b1 & 0x80 != 0 { 4 } else { 0 }
    }

    /// Checks everything the first byte decides, so a peer that sends one bad
    /// byte and stalls is still caught at once.
    fn check_first_byte(&self) -> Result<(), Violation> {
        let b0 = self.header_buf[0];
        let fin = b0 & 0x80 != 0;
        let rsv = (b0 >> 4) & 0b111;
        let opcode = Opcode(b0 & 0x0F);
        if rsv & !self.config.allowed_rsv != 0 {
            return Err(Violation::ReservedBits(rsv));
        }
        if opcode.is_reserved() {
            if self.config.allow_reserved_opcodes {
                return Ok(());
            }
            return Err(Violation::ReservedOpcode(opcode));
        }
        if opcode.is_control() {
            if !fin {
                return Err(Violation::FragmentedControlFrame(opcode));
            }
        } else if opcode == Opcode::CONTINUATION {
            if self.message.is_none() {
                return Err(Violation::ContinuationWithoutMessage);
            }
        } else if self.message.is_some() {
            return Err(Violation::DataFrameInsideMessage(opcode));
        }
        Ok(())
    }

    fn check_second_byte(&self) -> Result<(), Violation> {
        let b1 = self.header_buf[1];
        let masked = b1 & 0x80 != 0;
        match (self.config.sender, masked) {
            (Role::Client, false) => return Err(Violation::UnmaskedClientFrame),
            (Role::Server, true) => return Err(Violation::MaskedServerFrame),
            _ => {}
        }
        let opcode = Opcode(self.header_buf[0] & 0x0F);
        let marker = u64::from(b1 & 0x7F);
        if opcode.is_control() && marker > 125 {
            // The extended length is at least 126 if minimal, and a control
            // frame may not use the extended forms at all.
            return Err(Violation::ControlFrameTooLong { opcode, len: marker });
        }
        Ok(())
    }

    fn finish_header(&mut self) -> Result<FrameHeader, Violation> {
        let b0 = self.header_buf[0];
        let b1 = self.header_buf[1];
        let (payload_len, form, mut at) = match b1 & 0x7F {
            126 => (
                u64::from(u16::from_be_bytes([self.header_buf[2], self.header_buf[3]])),
                LengthForm::Extended16,
                4,
            ),
            127 => {
                let mut be = [0u8; 8];
                be.copy_from_slice(&self.header_buf[2..10]);
                (u64::from_be_bytes(be), LengthForm::Extended64, 10)
            }
            n => (u64::from(n), LengthForm::Minimal, 2),
        };
        if payload_len >> 63 != 0 {
            return Err(Violation::LengthMsbSet);
        }
        if self.config.reject_non_minimal_length && LengthForm::minimal_for(payload_len) != form {
            return Err(Violation::NonMinimalLength { len: payload_len });
        }
        let mask = if b1 & 0x80 != 0 {
            let mut key = [0u8; 4];
            key.copy_from_slice(&self.header_buf[at..at + 4]);
            at += 4;
            Some(key)
        } else {
            None
        };
        debug_assert_eq!(at, self.header_have);
        let header = FrameHeader {
            fin: b0 & 0x80 != 0,
            rsv: (b0 >> 4) & 0b111,
            opcode: Opcode(b0 & 0x0F),
            mask,
            payload_len,
        };
        if header.payload_len > self.config.max_frame_payload {
            return Err(Violation::FrameTooLarge {
                len: header.payload_len,
                max: self.config.max_frame_payload,
            });
        }
        if !header.opcode.is_control() && !header.opcode.is_reserved() {
            let so_far = if header.opcode == Opcode::CONTINUATION {
                self.message_len
            } else {
                0
            };
            let total = so_far.saturating_add(header.payload_len);
            if total > self.config.max_message_payload {
                return Err(Violation::MessageTooLarge {
                    len: total,
                    max: self.config.max_message_payload,
                });
            }
            self.message_len = total;
            self.message = if header.fin {
                None
            } else {
                Some(self.message.unwrap_or(header.opcode))
            };
            if header.fin {
                self.message_len = 0;
            }
        }
        Ok(header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Frame;

    /// Decodes a whole buffer into (headers, payload per frame).
    fn decode_all(config: DecoderConfig, bytes: &[u8]) -> Result<Vec<(FrameHeader, Vec<u8>)>, Violation> {
        let mut d = Decoder::new(config);
        let mut buf = bytes.to_vec();
        let mut pos = 0;
        let mut out: Vec<(FrameHeader, Vec<u8>)> = Vec::new();
        loop {
            let (n, item) = d.decode(&mut buf[pos..])?;
            pos += n;
            match item {
                Some(Decoded::Header(h)) => out.push((h, Vec::new())),
                Some(Decoded::Payload(p)) => out.last_mut().expect("header first").1.extend_from_slice(p),
                Some(Decoded::FrameEnd) => {}
                None => return Ok(out),
            }
        }
    }

    fn from_client() -> DecoderConfig {
        DecoderConfig::strict(Role::Client)
    }

    fn from_server() -> DecoderConfig {
        DecoderConfig::strict(Role::Server)
    }

    #[test]
    fn decodes_masked_client_frame() {
        let bytes = Frame::new(Opcode::TEXT, "Hello")
            .mask(Some([1, 2, 3, 4]))
            .encode();
        let frames = decode_all(from_client(), &bytes).expect("valid");
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].1, b"Hello");
    }

    #[test]
    fn violations() {
        let key = Some([9, 9, 9, 9]);
        let cases: Vec<(Vec<u8>, Violation)> = vec![
            (
                Frame::new(Opcode::TEXT, "x").rsv(1).mask(key).encode(),
                Violation::ReservedBits(1),
            ),
            (
                Frame::new(Opcode(3), "").mask(key).encode(),
                Violation::ReservedOpcode(Opcode(3)),
            ),
            (
                Frame::new(Opcode::TEXT, "x").encode(),
                Violation::UnmaskedClientFrame,
            ),
            (
                Frame::new(Opcode::PING, vec![0; 126]).mask(key).encode(),
                Violation::ControlFrameTooLong {
                    opcode: Opcode::PING,
                    len: 126,
                },
            ),
            (
                Frame::new(Opcode::PING, "a").fin(false).mask(key).encode(),
                Violation::FragmentedControlFrame(Opcode::PING),
            ),
            (
                Frame::new(Opcode::CONTINUATION, "a").mask(key).encode(),
                Violation::ContinuationWithoutMessage,
            ),
            (
                Frame::new(Opcode::TEXT, "a")
                    .length_form(LengthForm::Extended16)
                    .mask(key)
                    .encode(),
                Violation::NonMinimalLength { len: 1 },
            ),
            (
                vec![0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4],
                Violation::LengthMsbSet,
            ),
        ];
        for (bytes, want) in cases {
            assert_eq!(decode_all(from_client(), &bytes), Err(want.clone()), "{want}");
        }
        let masked = Frame::new(Opcode::TEXT, "x").mask(key).encode();
        assert_eq!(
            decode_all(from_server(), &masked),
            Err(Violation::MaskedServerFrame)
        );
    }

    #[test]
    fn fragmentation_rules() {
        let mut bytes = Frame::new(Opcode::TEXT, "a").fin(false).encode();
        bytes.extend(Frame::new(Opcode::PING, "p").encode());
        bytes.extend(Frame::new(Opcode::CONTINUATION, "b").encode());
        let frames = decode_all(from_server(), &bytes).expect("valid");
        assert_eq!(frames.len(), 3);
        let mut bad = Frame::new(Opcode::TEXT, "a").fin(false).encode();
        bad.extend(Frame::new(Opcode::TEXT, "b").encode());
        assert_eq!(
            decode_all(from_server(), &bad),
            Err(Violation::DataFrameInsideMessage(Opcode::TEXT))
        );
    }

    #[test]
    fn caps_hold_whatever_the_length_field_says() {
        let mut config = from_server();
        config.max_frame_payload = 1000;
        let liar = Frame::new(Opcode::BINARY, "").declared_len(1 << 40).encode();
        assert_eq!(
            decode_all(config, &liar),
            Err(Violation::FrameTooLarge {
                len: 1 << 40,
                max: 1000
            })
        );
        config.max_message_payload = 1500;
        let mut two = Frame::new(Opcode::BINARY, vec![0; 1000]).fin(false).encode();
        two.extend(Frame::new(Opcode::CONTINUATION, vec![0; 1000]).encode());
        assert_eq!(
            decode_all(config, &two),
            Err(Violation::MessageTooLarge { len: 2000, max: 1500 })
        );
    }

    #[test]
    fn first_byte_violation_needs_no_second_byte() {
        let mut d = Decoder::new(from_server());
        assert_eq!(d.decode(&mut [0xC1]), Err(Violation::ReservedBits(0b100)));
    }

    #[test]
    fn allowed_rsv_is_accepted() {
        let mut config = from_server();
        config.allowed_rsv = crate::frame::RSV1;
        let bytes = Frame::new(Opcode::TEXT, "x").rsv(crate::frame::RSV1).encode();
        assert!(decode_all(config, &bytes).is_ok());
    }
}
