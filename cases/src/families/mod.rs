//! One module per RFC area; each returns its cases in id order.

pub mod close;
pub mod deflate;
pub mod fragmentation;
pub mod framing;
pub mod handshake;
pub mod limits;
pub mod masking;
pub mod misc;
pub mod opcodes;
pub mod ping_pong;
pub mod pmd;
pub mod reserved_bits;
pub mod utf8;
