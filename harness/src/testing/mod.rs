//! The two roles: testing a server (the harness connects as a client) and
//! testing a client (the harness listens as a server).

pub mod browser_page;
pub mod client;
pub mod copies;
pub mod server;
