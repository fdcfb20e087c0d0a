//! permessage-deflate (RFC 7692), sans-IO: the extension header, the
//! negotiation of its parameters, and the per-message codec.
//!
//! - [`header`]: `Sec-WebSocket-Extensions` values parsed into elements with
//!   parameters and written back (RFC 6455 §9.1, RFC 7692 §5).
//! - [`negotiate`]: offers, responses, every parameter rule of RFC 7692 §7.1
//!   as a typed error, a server's accept policy (Autobahn's rules) and the
//!   client's check of a response.
//! - [`codec`]: [`Compressor`] and [`Decompressor`] (RFC 7692 §7.2), with
//!   context takeover per direction, 8–15-bit windows, a hard cap on
//!   each inflated message, and the peer's back-references checked against
//!   its window.
//! - [`bomb`]: a message that inflates about 1032:1 to zero bytes, built
//!   by hand, for the cases that check a peer limits what it inflates.
//! - [`window`]: that check, a streaming walk over the DEFLATE tokens
//!   (RFC 1951 §3.2) that keeps counts, not output.
//!
//! Not here: RSV1 on frames (RFC 7692 §6: the first frame of a compressed
//! message only) is the framing layer's.

pub mod bomb;
pub mod codec;
pub mod header;
pub mod negotiate;
pub mod window;

pub use bomb::{bomb, Bomb};
pub use codec::{CompressError, Compressor, Decompressor, InflateError, TAIL};
pub use header::{
    encode_extensions, parse_extension_headers, parse_extensions, Extension, ExtensionParam, ExtensionsError,
};
pub use negotiate::{
    accept_response_headers, choose, validate_response_headers, AcceptPolicy, DirectionParams,
    NegotiationError, Offer, Params, Response, WindowBits, EXTENSION_NAME,
};
