//! The built-in reference peers, on tokio-tungstenite: the embedded default
//! target, and — with misbehaviour knobs — the proof that cases can fail.

pub mod client;
pub mod deflate;
pub mod knobs;
pub mod server;

pub use knobs::{Knob, Knobs};
pub use server::ReferenceServer;
