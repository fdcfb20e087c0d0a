//! wsconform's harness: the engine that interprets catalog cases over a
//! connection, the two roles, the reference peers, and report writers. The
//! `wsconform` binary (`main.rs`) is a thin command line over this library.

pub mod baseline;
pub mod browser;
pub mod budget;
pub mod delivery;
pub mod engine;
pub mod fuzz;
pub mod gate;
pub mod record;
pub mod reference;
pub mod report;
pub mod runner;
pub mod server_handshake;
pub mod session;
pub mod spec;
pub mod testing;
pub mod transport;
pub mod verdict;
