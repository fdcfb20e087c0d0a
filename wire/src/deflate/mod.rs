//! permessage-deflate (RFC 7692), sans-IO: the extension header, the
//! negotiation of its parameters, and the per-message codec.
//!
//! - [`header`]: `Sec-WebSocket-Extensions` values parsed into elements with
//!   parameters and written back (RFC 6455 §9.1, RFC 7692 §5).
//! - [`negotiate`]: offers, responses, every parameter rule of RFC 7692 §7.1
//!   as a typed error, a server's accept policy (Autobahn's rules) and the
//!   client's check of a response.
//! - [`codec`]: [`Compressor`] and [`Decompressor`] (RFC 7692 §7.2), with
//!   context takeover per direction, 8–15-bit windows and a hard cap on
//!   each inflated message.
//!
//! Not here: RSV1 on frames (RFC 7692 §6: the first frame of a compressed
//! message only) is the framing layer's, and the check that a peer's
//! back-references stay inside the negotiated window is not done yet (see
//! [`codec`]).

pub mod codec;
pub mod header;
pub mod negotiate;

pub use codec::{CompressError, Compressor, Decompressor, InflateError, TAIL};
pub use header::{
    encode_extensions, parse_extension_headers, parse_extensions, Extension, ExtensionParam, ExtensionsError,
};
pub use negotiate::{
    choose, validate_response_headers, AcceptPolicy, DirectionParams, NegotiationError, Offer, Params,
    Response, WindowBits, EXTENSION_NAME,
};
