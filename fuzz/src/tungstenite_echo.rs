//! tungstenite's full `WebSocket` (0.26) as an echo peer, driven in memory
//! by generated scripts and judged by the RFC oracle: the in-process
//! counterpart of `wsconform fuzz`, and the example the README's "Fuzzing
//! your own implementation" shows. Swap the two tungstenite lines for your
//! own crate's and the rest stays.

use std::io::{ErrorKind, Read, Write};

use tungstenite::{protocol::Role as TRole, Error, Message, WebSocket};
use wsconform_oracle::memory::{script_from_bytes, Pumped, Session};
use wsconform_wire::Role;

/// One script from the fuzzer's bytes against tungstenite in `role`; a
/// reaction RFC 6455 does not allow panics with its class and the script.
pub fn run(data: &[u8], role: Role) {
    let steps = script_from_bytes(data);
    let session = Session::new(steps.clone(), role);
    let trole = match role {
        Role::Server => TRole::Server,
        Role::Client => TRole::Client,
    };
    let mut ws = WebSocket::from_raw_socket(session.stream(), trole, None);
    // NON-STRICT reactions (a late UTF-8 check) are allowed.
    if let Some(finding) = session.judge(|| echo(&mut ws)).filter(|f| !f.class.is_non_strict()) {
        panic!("{finding}\nscript: {steps:?}");
    }
}

/// What an echo server or client does: send every message back; pings,
/// pongs and the closing handshake are tungstenite's own business. It
/// gives the connection up on any error, as an application would.
fn echo<S: Read + Write>(ws: &mut WebSocket<S>) -> Pumped {
    loop {
        match ws.read() {
            Ok(m @ (Message::Text(_) | Message::Binary(_))) => {
                if ws.send(m).is_err() {
                    return Pumped::Ended;
                }
            }
            Ok(_) => {}
            Err(Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => return Pumped::Blocked,
            Err(_) => return Pumped::Ended,
        }
    }
}
