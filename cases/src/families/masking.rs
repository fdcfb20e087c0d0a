//! `mask.*`: the masking rules of RFC 6455 §5.1, which no Autobahn case
//! tests. "A server MUST close the connection upon receiving a frame that is
//! not masked" and "a client MUST close a connection if it detects a masked
//! frame"; either "MAY use the status code 1002". So the peer must fail the
//! connection, 1002 expected as for every protocol error Autobahn checks
//! (another code is WRONG CODE). A zero masking key is a mask like any
//! other (§5.3) and must be accepted.

use wsconform_wire::{Opcode, Role};

use crate::build::{binary, case, cont, got_text, ping, rfc, text};
use crate::model::{Case, FrameSpec, Masking, Requirement};
use crate::payload::Payload;

const HELLO: &str = "Hello, world!";
const KEY: Masking = Masking::Key([0x37, 0xfa, 0x21, 0x3d]);

/// A close frame with code 1000, sent as a plain frame (not the harness's
/// own closing handshake): the peer must still notice its masking.
fn close_1000() -> FrameSpec {
    FrameSpec::new(Opcode::CLOSE, Payload::bytes(1000u16.to_be_bytes()))
}

/// A case in which the peer must fail the connection after `frames`.
fn must_fail(id: &str, peer: Role, description: &str, frames: Vec<FrameSpec>) -> Case {
    let rule = match peer {
        Role::Server => "A server MUST close the connection upon receiving a frame that is not masked.",
        Role::Client => "A client MUST close a connection if it detects a masked frame.",
    };
    frames
        .into_iter()
        .fold(
            case(id, description, rfc("RFC 6455 §5.1", Requirement::Must)),
            Case::send,
        )
        .for_peer(peer)
        .expect(format!(
            "The connection is failed immediately (1002), no echo: \"{rule}\""
        ))
        .kill_after(1000)
        .peer_fails(1002)
}

pub fn cases() -> Vec<Case> {
    let unmasked = |f: FrameSpec| f.masking(Masking::Unmasked);
    let masked = |f: FrameSpec| f.masking(KEY);
    vec![
        must_fail(
            "mask.server.unmasked-text",
            Role::Server,
            "Send a text message without a mask.",
            vec![unmasked(text(HELLO))],
        ),
        must_fail(
            "mask.server.unmasked-binary",
            Role::Server,
            "Send a binary message without a mask.",
            vec![unmasked(binary(b"\x00\xff\xfe\x01"))],
        ),
        must_fail(
            "mask.server.unmasked-fragment",
            Role::Server,
            "Send a text message in two fragments, the first masked, the second (continuation) not.",
            vec![text("fragment1").fin(false), unmasked(cont("fragment2"))],
        ),
        must_fail(
            "mask.server.unmasked-ping",
            Role::Server,
            "Send a ping without a mask.",
            vec![unmasked(ping(b"ping payload"))],
        ),
        must_fail(
            "mask.server.unmasked-close",
            Role::Server,
            "Send a close frame (1000) without a mask.",
            vec![unmasked(close_1000())],
        ),
        case(
            "mask.server.zero-key",
            "Send a text message masked with the all-zero key.",
            rfc("RFC 6455 §5.3", Requirement::Must),
        )
        .for_peer(Role::Server)
        .expect("Echo of the message, then a clean close with normal code: a zero key is a valid mask.")
        .send(text(HELLO).masking(Masking::Key([0; 4])))
        .kill_after(1000)
        .ok(vec![got_text(HELLO)]),
        must_fail(
            "mask.client.masked-text",
            Role::Client,
            "Send a masked text message to the client.",
            vec![masked(text(HELLO))],
        ),
        must_fail(
            "mask.client.masked-ping",
            Role::Client,
            "Send a masked ping to the client.",
            vec![masked(ping(b"ping payload"))],
        ),
        must_fail(
            "mask.client.masked-close",
            Role::Client,
            "Send a masked close frame (1000) to the client.",
            vec![masked(close_1000())],
        ),
    ]
}
