//! The wsconform case catalog.
//!
//! A case is a value ([`Case`]): id, description, RFC reference, the steps the
//! engine performs and the outcomes that count as OK / NON-STRICT / FAILED.
//! Families are generated from parameter tables, one module per RFC area
//! under [`families`]; ids and behaviour follow Autobahn|Testsuite so results
//! can be compared case for case.

mod build;
pub mod corpus;
pub mod families;
pub mod model;
pub mod payload;
pub mod select;

pub use corpus::Corpus;
pub use model::{
    bomb_frames, message_frames, Behavior, BehaviorClose, Case, ClientOffer, Deflate, DeflateAccept,
    DeflateOffer, Event, ExpectedClose, FrameSpec, Handshake, HandshakeExpect, HeaderEdit, Judge, Masking,
    RequestEdits, Requirement, ResponseEdits, ResponseRules, RfcRef, Step, Write,
};
pub use payload::{Bytes, Payload};
pub use select::{select, SelectError, Selection, Shard};

/// Every case, in id order.
pub fn catalog() -> Vec<Case> {
    let mut all: Vec<Case> = [
        families::framing::cases(),
        families::ping_pong::cases(),
        families::reserved_bits::cases(),
        families::opcodes::cases(),
        families::fragmentation::cases(),
        families::utf8::cases(),
        families::close::cases(),
        families::limits::cases(),
        families::misc::cases(),
        families::handshake::cases(),
        families::masking::cases(),
        families::deflate::cases(),
        families::pmd::cases(),
    ]
    .concat();
    all.sort_by_key(|c| id_key(&c.id));
    all
}

/// Sort key for dotted numeric ids (`6.10.2` after `6.9.4`); non-numeric
/// components sort after numeric ones, by text.
pub fn id_key(id: &str) -> Vec<(u8, u64, String)> {
    id.split('.')
        .map(|part| match part.parse::<u64>() {
            Ok(n) => (0, n, String::new()),
            Err(_) => (1, 0, part.to_string()),
        })
        .collect()
}

#[cfg(test)]
mod tests;
