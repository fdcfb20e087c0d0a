//! The bytes of the WebSocket protocol (RFC 6455), with no I/O.
//!
//! This crate can *write* any frame, including frames a conformant endpoint
//! must never send (reserved bits and opcodes, wrong masking, lying lengths),
//! because a conformance harness has to send them. It *reads* strictly: the
//! [`Decoder`] validates every frame against the sender's role and reports
//! typed, RFC-cited [`Violation`]s, and is bounded in memory however the peer
//! lies about lengths.
//!
//! Modules, one concept each:
//! - [`opcode`]: the open `Opcode(u8)` newtype.
//! - [`frame`]: frame headers and the encoder.
//! - [`mask`]: the client-to-server masking transform.
//! - [`decode`]: the incremental, validating decoder.
//! - [`utf8`]: incremental UTF-8 validation with the fail-fast offset.
//! - [`close`]: close codes and close frame payloads.
//! - [`handshake`]: the opening handshake, built and parsed.
//! - [`deflate`]: permessage-deflate (RFC 7692): negotiation and the codec.

pub mod close;
pub mod decode;
pub mod deflate;
pub mod frame;
pub mod handshake;
pub mod mask;
pub mod opcode;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod utf8;

pub use close::{CloseClass, CloseCode, ClosePayload, ClosePayloadError};
pub use decode::{Decoded, Decoder, DecoderConfig, Violation};
pub use deflate::{
    Compressor, Decompressor, InflateError, NegotiationError, Offer as DeflateOffer, Params as DeflateParams,
    Response as DeflateResponse, WindowBits,
};
pub use frame::{Frame, FrameHeader, LengthForm};
pub use mask::apply_mask;
pub use opcode::Opcode;
pub use utf8::{Utf8Error, Utf8Validator};

/// Which end of a WebSocket connection an endpoint is.
///
/// RFC 6455 §5.1: a client masks every frame it sends, a server masks none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Client,
    Server,
}

impl Role {
    /// The other end of the connection.
    pub fn peer(self) -> Role {
        match self {
            Role::Client => Role::Server,
            Role::Server => Role::Client,
        }
    }
}
