//! `pmd.*`: the permessage-deflate rules (RFC 7692) that Autobahn's 12.x and
//! 13.x never break. Those send valid offers and valid compressed messages
//! only; these send what a peer must refuse (a bad negotiation, RSV1 where it
//! means nothing) and valid forms 12.x/13.x never use (an empty final
//! fragment, a DEFLATE block with BFINAL set), and check that a server
//! answers offers by the rules.
//!
//! What each rule means per role:
//! - The negotiation is asymmetric: the client offers, the server answers.
//!   Testing a server (`pmd.server.*`) the harness sends offers and judges
//!   the response (RFC 7692 §5: the server MUST decline an offer with an
//!   invalid value; its response may hold only what §7.1 allows). Testing a
//!   client (`pmd.client.*`) the harness sends a bad response and the client
//!   MUST fail the connection (§5), or a valid one it must accept.
//! - `client_max_window_bits` in a response to an offer without it
//!   (§7.1.2.2) is a server-only case: a client case would need a client
//!   whose offer lacks the parameter, and Node `ws`, Python `websockets` and
//!   the reference client all send it.
//! - A response that omits `client_max_window_bits` (the client then may use
//!   up to 15 bits, §7.1.2.2) is a client-only case: testing servers, the
//!   harness is that client, and 12.x/13.x already send 15-bit streams.
//! - Frame rules (RSV1, §6.1; the forms of §7.2.3) apply to both roles.
//! - The window rules (the sender's window size, §7.1.2, and no context
//!   takeover, §7.1.1) bind the sender, so in each role they are checked
//!   on the peer's echoes, whose back-references the harness's inflater
//!   walks (`wire` `Decompressor`).
//!
//! - A decompression bomb (`decompression-bomb`) applies to both roles: a
//!   message of 254 KiB that inflates to 256 MiB of zeros, which the peer
//!   must refuse, 1009 "message too big" (RFC 6455 §7.4.1), rather than
//!   hold (§10.4: an implementation "MUST protect" itself against exceeding
//!   its limits and "SHOULD impose a limit" on the message size after
//!   reassembly; a compressed message is reassembled by inflating it, RFC
//!   7692 §7.2.2). Why 256 MiB: Autobahn's 9.x expects a peer to handle
//!   messages of 16 MiB (9.1.6, 9.2.6), so no limit may be below that; the
//!   default limits of common libraries are 1 MiB (Python `websockets`), 64
//!   MiB (tungstenite) and 100 MiB (Node `ws`); 256 MiB is 16 times the
//!   first and past all of them, while its compressed form (the most
//!   DEFLATE expands, 1032:1, `wire` `deflate::bomb`) stays a quarter MiB
//!   on the wire, and a peer without a limit inflates it in well under a
//!   second (1 GiB would be 1 MiB to send and stress the machine running a
//!   broken peer, for no finding 256 MiB misses). Verdicts (`Judge::TooBig`,
//!   `verdict.rs`): 1009 before any data frame is OK; 1008 (policy, "when
//!   there is no other more suitable status code (e.g., 1003 or 1009)") or
//!   1011 (unexpected condition) is NON-STRICT: the peer protected itself
//!   but says less than it should; so is a dropped connection without a
//!   close frame, which may also be a peer that died inflating (the harness
//!   cannot tell the two apart). FAILED: any data frame back (the peer
//!   inflated the message and echoes it; the harness only counts and hashes
//!   the echo, and fails it with its own 1009 at its 64 MiB cap), another
//!   code (1002, 1007: the message is valid, so they misreport it), or no
//!   answer within 10 s (a peer still inflating, or one that swallowed the
//!   message). The bomb is sent as binary (zeros are no text), after
//!   Autobahn's default offer and accept rule.
//!
//! The frame and negotiation cases' messages are short (under 256 bytes),
//! compressed once here with a fresh window: such a message is valid
//! whatever window the receiver keeps and whatever window size was
//! negotiated, so the steps stay plain data. The window cases' messages are
//! compressed by the engine with the negotiated parameters (as 12.x/13.x).
//! When the case negotiates permessage-deflate and the peer declines it,
//! the case is UNIMPLEMENTED (RFC 7692 is optional), as 12.x/13.x are.

use wsconform_wire::deflate::{Compressor, DirectionParams, WindowBits, TAIL};
use wsconform_wire::{CloseCode, Opcode, Role};

use crate::build::{case, got_text, rfc};
use crate::model::{
    Case, ClientOffer, Deflate, DeflateAccept, DeflateOffer, ExpectedClose, FrameSpec, Handshake,
    HandshakeExpect, HeaderEdit, Judge, RequestEdits, Requirement, ResponseEdits, ResponseRules, Step,
};
use crate::payload::Payload;
use crate::Corpus;

/// The message the frame cases send (under 256 bytes: see the module doc).
const HELLO: &str = "Hello, permessage-deflate! Hello, permessage-deflate! Hello again.";
/// RSV1, the "Per-Message Compressed" bit (RFC 7692 §6), in `FrameSpec::rsv`.
const RSV1: u8 = 0b100;

/// `message` as one compressed message: DEFLATE blocks ending in a sync
/// flush, its `00 00 ff ff` removed (RFC 7692 §7.2.1).
fn compressed(message: &str) -> Vec<u8> {
    Compressor::new(DirectionParams::default(), 6)
        .compress(message.as_bytes())
        .expect("zlib compresses a constant")
}

/// `message` as one DEFLATE stream ending in a block with BFINAL set
/// (RFC 7692 §7.2.3.4), nothing removed.
fn compressed_final(message: &str) -> Vec<u8> {
    Compressor::new(DirectionParams::default(), 6)
        .compress_final(message.as_bytes())
        .expect("zlib compresses a constant")
}

fn frame(opcode: Opcode, fin: bool, rsv: u8, payload: Vec<u8>) -> FrameSpec {
    FrameSpec::new(opcode, Payload::bytes(payload)).fin(fin).rsv(rsv)
}

/// Autobahn's default offer and accept rule (12.x): what the frame cases
/// negotiate.
fn default_deflate() -> Deflate {
    Deflate {
        offers: vec![DeflateOffer {
            server_no_context_takeover: false,
            server_max_window_bits: None,
            client: ClientOffer::Autobahns,
        }],
        accept: vec![DeflateAccept {
            client_no_context_takeover: false,
            client_max_window_bits: None,
        }],
        response: ResponseRules::AnswersAnOffer,
    }
}

/// What the peer must do with a frame case's frames.
#[derive(Clone, Copy)]
enum Expect {
    /// Fail the connection, 1002 expected (RFC 6455 §5.2: RSV bits no
    /// negotiated extension gives a meaning "MUST _Fail the WebSocket
    /// Connection_"), no echo.
    Fail,
    /// Echo each message, then close cleanly.
    Echo(usize),
}

/// One frame rule: id suffix, RFC section, description, frames, whether
/// permessage-deflate is negotiated, what the peer must do.
struct FrameRule {
    id: &'static str,
    section: &'static str,
    description: &'static str,
    frames: Vec<FrameSpec>,
    negotiated: bool,
    expect: Expect,
}

fn frame_rules() -> Vec<FrameRule> {
    let hello = compressed(HELLO);
    let (head, tail) = hello.split_at(hello.len() / 2);
    let whole = [hello.as_slice(), &TAIL].concat();
    vec![
        FrameRule {
            id: "rsv1-continuation",
            section: "RFC 7692 §6.1",
            description: "A compressed text message in two frames, RSV1 set on both: only a message's first frame may carry it.",
            frames: vec![
                frame(Opcode::TEXT, false, RSV1, head.to_vec()),
                frame(Opcode::CONTINUATION, true, RSV1, tail.to_vec()),
            ],
            negotiated: true,
            expect: Expect::Fail,
        },
        FrameRule {
            id: "rsv1-ping",
            section: "RFC 7692 §6.1",
            description: "A ping with RSV1 set: control frames are never compressed.",
            frames: vec![frame(Opcode::PING, true, RSV1, b"ping payload".to_vec())],
            negotiated: true,
            expect: Expect::Fail,
        },
        FrameRule {
            id: "unnegotiated",
            section: "RFC 7692 §6",
            description: "A compressed text message (RSV1 set, valid DEFLATE data) on a connection that negotiated no compression.",
            frames: vec![frame(Opcode::TEXT, true, RSV1, hello.clone())],
            negotiated: false,
            expect: Expect::Fail,
        },
        FrameRule {
            id: "empty-final-fragment",
            section: "RFC 7692 §7.2.3.6",
            description: "A compressed text message in two frames: the first ends with a whole sync flush (00 00 ff ff kept), the final one is the single byte 00, an empty DEFLATE block without its tail.",
            frames: vec![
                frame(Opcode::TEXT, false, RSV1, whole),
                frame(Opcode::CONTINUATION, true, 0, vec![0x00]),
            ],
            negotiated: true,
            expect: Expect::Echo(1),
        },
        FrameRule {
            id: "bfinal",
            section: "RFC 7692 §7.2.3.4",
            // One message: what a receiver does with the message after a
            // stream's end the RFC does not say (Python websockets 17.4
            // inflates it to nothing; `wire`'s Decompressor starts a new
            // stream), so the case does not ask.
            description: "A compressed text message that is one DEFLATE stream ending in a block with BFINAL set, then the byte 00 (the form of RFC 7692 §7.2.3.4's example).",
            frames: vec![frame(
                Opcode::TEXT,
                true,
                RSV1,
                [compressed_final(HELLO).as_slice(), &[0x00]].concat(),
            )],
            negotiated: true,
            expect: Expect::Echo(1),
        },
    ]
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Server => "server",
        Role::Client => "client",
    }
}

fn frame_case(rule: &FrameRule, peer: Role) -> Case {
    let c = rule
        .frames
        .iter()
        .cloned()
        .fold(
            case(
                format!("pmd.{}.{}", role_name(peer), rule.id),
                rule.description,
                rfc(rule.section, Requirement::Must),
            ),
            Case::send,
        )
        .for_peer(peer)
        .kill_after(1000);
    let mut c = match rule.expect {
        Expect::Fail => c
            .expect("The connection is failed immediately (1002), no echo.")
            .peer_fails(1002),
        Expect::Echo(n) => c
            .expect("Echo of every message (inflated as sent), then a clean close with normal code.")
            .ok(vec![got_text(HELLO); n]),
    };
    if rule.negotiated {
        c.deflate = Some(default_deflate());
        c = c.note(
            "UNIMPLEMENTED when the peer does not negotiate permessage-deflate (RFC 7692 is optional).",
        );
    }
    c
}

fn set_extensions(value: &str) -> HeaderEdit {
    HeaderEdit::Set {
        name: "Sec-WebSocket-Extensions".into(),
        value: value.into(),
    }
}

/// Testing servers: the harness offers `offers` (or sends `raw` as the
/// `Sec-WebSocket-Extensions` value while validating the response against
/// `offers` only, which are then the valid ones of `raw`), checks the
/// response by RFC 7692 §5 and §7.1 (a broken rule is FAILED: the handshake
/// is refused) and sends a compressed message to be echoed.
fn server_case(
    id: &str,
    section: &str,
    description: &str,
    offers: Vec<DeflateOffer>,
    raw: Option<&str>,
) -> Case {
    let mut c = case(format!("pmd.server.{id}"), description, rfc(section, Requirement::Must))
        .for_peer(Role::Server)
        .expect("A response by the rules of RFC 7692 §5 and §7.1 (else FAILED: the handshake is refused), then the echo of a compressed message; clean close.")
        .send(frame(Opcode::TEXT, true, RSV1, compressed(HELLO)))
        .kill_after(1000)
        .ok(vec![got_text(HELLO)])
        .note("UNIMPLEMENTED when the server declines every offer (RFC 7692 is optional).");
    c.deflate = Some(Deflate {
        offers,
        accept: Vec::new(),
        response: ResponseRules::AnswersAnOffer,
    });
    if let Some(raw) = raw {
        c = c.shake(Handshake {
            peer: Role::Server,
            request: RequestEdits {
                headers: vec![set_extensions(raw)],
                ..RequestEdits::default()
            },
            response: ResponseEdits::default(),
            expect: HandshakeExpect::Accept {
                offered_protocols: Vec::new(),
            },
        });
    }
    c
}

fn bare_offer(server_no_context_takeover: bool) -> DeflateOffer {
    DeflateOffer {
        server_no_context_takeover,
        server_max_window_bits: None,
        client: ClientOffer::Bare,
    }
}

/// The offer cases judge a refused handshake as FAILED.
const REFUSAL_NOTE: &str = "Refusing the whole handshake (an HTTP error) is FAILED: RFC 7692 §5 has the server decline the offer, so the client's next offer or a connection without compression can still follow (Node ws 8.23.0 answers 400).";

fn server_cases() -> Vec<Case> {
    let autobahns = DeflateOffer {
        client: ClientOffer::Autobahns,
        ..bare_offer(false)
    };
    // The valid offer after an invalid one: a server that answers it must
    // echo `server_no_context_takeover` (§7.1.1.1); one that accepted the
    // invalid offer instead does not, and the response fails the check.
    let fallback = "permessage-deflate; server_no_context_takeover";
    vec![
        server_case(
            "response-undefined-param",
            "RFC 7692 §5",
            "Autobahn's default offer: the response may hold only the parameters RFC 7692 defines for a response.",
            vec![autobahns],
            None,
        ),
        server_case(
            "response-two-elements",
            "RFC 7692 §5",
            "Two offers, permessage-deflate; client_max_window_bits; client_no_context_takeover then a bare permessage-deflate: the server accepts at most one (two would both claim RSV1).",
            vec![autobahns, bare_offer(false)],
            None,
        ),
        server_case(
            "unoffered-client-window",
            "RFC 7692 §7.1.2.2",
            "A bare offer without client_max_window_bits: the response MUST NOT include client_max_window_bits.",
            vec![bare_offer(false)],
            None,
        ),
        server_case(
            "window-bits-echoed",
            "RFC 7692 §7.1.2.1",
            "Offer server_max_window_bits=15 (13.4's offer): a server that accepts it includes server_max_window_bits with the same or a smaller value.",
            vec![DeflateOffer {
                server_max_window_bits: WindowBits::new(15),
                ..autobahns
            }],
            None,
        )
        .note("RFC 7692 §7.1.2.1 states it as what accepting is (\"A server accepts an extension negotiation offer with this parameter by including the server_max_window_bits extension parameter in the extension negotiation response\"), with no keyword of its own; clients that hold servers to it refuse the response (Python websockets 17.4: \"expected server_max_window_bits\"). Autobahn's 13.4.x/13.6.x make this offer and accept any response; here they do too (they judge the echo) and report the omission."),
        server_case(
            "offer-server-window-16",
            "RFC 7692 §7.1.2.1",
            "Offers permessage-deflate; server_max_window_bits=16 (outside 8..15), then permessage-deflate; server_no_context_takeover: the server MUST decline the first and may accept the second.",
            vec![bare_offer(true)],
            Some(&format!("permessage-deflate; server_max_window_bits=16, {fallback}")),
        )
        .note(REFUSAL_NOTE),
        server_case(
            "offer-client-window-7",
            "RFC 7692 §7.1.2.2",
            "Offers permessage-deflate; client_max_window_bits=7 (outside 8..15), then permessage-deflate; server_no_context_takeover: the server MUST decline the first and may accept the second.",
            vec![bare_offer(true)],
            Some(&format!("permessage-deflate; client_max_window_bits=7, {fallback}")),
        )
        .note(REFUSAL_NOTE),
    ]
}

/// Testing clients: the harness answers with `Sec-WebSocket-Extensions:
/// value`, a response the client MUST refuse (RFC 7692 §5).
fn client_refuses(id: &str, section: &str, description: &str, value: &str) -> Case {
    case(format!("pmd.client.{id}"), description, rfc(section, Requirement::Must))
        .expect("The client fails the connection: it closes it (OK) instead of using it (echoing the probe message is FAILED).")
        .kill_after(1000)
        .shake(Handshake {
            peer: Role::Client,
            request: RequestEdits::default(),
            response: ResponseEdits {
                headers: vec![set_extensions(value)],
                ..ResponseEdits::default()
            },
            expect: HandshakeExpect::ClientFails,
        })
}

fn client_cases() -> Vec<Case> {
    let mut omitted = case(
        "pmd.client.window-bits-omitted",
        "A response of plain permessage-deflate to an offer with client_max_window_bits: the server set no limit, so the client may use 15 bits and must accept the response; then the echo of a compressed message.",
        rfc("RFC 7692 §7.1.2.2", Requirement::Must),
    )
    .for_peer(Role::Client)
    .expect("The client accepts the response and echoes a compressed message; clean close.")
    .send(frame(Opcode::TEXT, true, RSV1, compressed(HELLO)))
    .kill_after(1000)
    .ok(vec![got_text(HELLO)])
    .note("UNIMPLEMENTED when the client offers no permessage-deflate (RFC 7692 is optional).");
    omitted.deflate = Some(default_deflate());
    vec![
        client_refuses(
            "response-undefined-param",
            "RFC 7692 §5",
            "Sec-WebSocket-Extensions: permessage-deflate; x-wsconform-undefined (a parameter RFC 7692 does not define).",
            "permessage-deflate; x-wsconform-undefined",
        ),
        client_refuses(
            "response-two-elements",
            "RFC 7692 §5",
            "Sec-WebSocket-Extensions: permessage-deflate, permessage-deflate (two accepted offers, both claiming RSV1).",
            "permessage-deflate, permessage-deflate",
        ),
        client_refuses(
            "response-server-window-16",
            "RFC 7692 §7.1.2.1",
            "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=16 (outside 8..15).",
            "permessage-deflate; server_max_window_bits=16",
        ),
        client_refuses(
            "response-client-window-7",
            "RFC 7692 §7.1.2.2",
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=7 (outside 8..15).",
            "permessage-deflate; client_max_window_bits=7",
        ),
        omitted,
    ]
}

/// Messages of the window cases: 8 KiB of the JSON corpus each, which
/// repeats itself at every distance, so a sender that ignores the limit
/// shows it within a few messages.
const WINDOW_MESSAGES: (u64, u32) = (8192, 4);

/// Both roles: the peer's compressed echoes must stay within what was
/// negotiated for its direction, which the harness's inflater checks
/// (`wire` `Decompressor`: a back-reference beyond the window, or before the
/// message's start without context takeover, fails the connection with
/// 1007); the messages are compressed by the harness with the negotiated
/// parameters, as 12.x/13.x's.
fn window_case(peer: Role, id: &str, section: &str, description: &str, deflate: Deflate) -> Case {
    let (len, count) = WINDOW_MESSAGES;
    let mut c = case(
        format!("pmd.{}.{id}", role_name(peer)),
        description,
        rfc(section, Requirement::Must),
    )
    .for_peer(peer)
    .expect("Receive echo'ed messages (with payload as sent), every back-reference within what was negotiated. Timeout case after 10 secs.")
    .close_after(10_000)
    .step(Step::CorpusMessages {
        corpus: Corpus::Json,
        len,
        count,
        fragment_size: 0,
    })
    .judged_by(Judge::Compressed {
        count,
        binary: false,
        len,
    })
    .note("UNIMPLEMENTED when the peer does not negotiate permessage-deflate, or declines these parameters.");
    c.expected.clear();
    c.deflate = Some(deflate);
    c
}

fn window_cases() -> Vec<Case> {
    let offer = |server_no_context_takeover, bits| Deflate {
        offers: vec![DeflateOffer {
            server_no_context_takeover,
            server_max_window_bits: WindowBits::new(bits),
            client: ClientOffer::Autobahns,
        }],
        accept: Vec::new(),
        response: ResponseRules::AnswersAnOffer,
    };
    let accept = |client_no_context_takeover, bits| Deflate {
        offers: Vec::new(),
        accept: vec![DeflateAccept {
            client_no_context_takeover,
            client_max_window_bits: WindowBits::new(bits),
        }],
        response: ResponseRules::AnswersAnOffer,
    };
    vec![
        window_case(
            Role::Server,
            "window-bits-honoured",
            "RFC 7692 §7.1.2.1",
            "Offer server_max_window_bits=9 (13.3's offer), then 4 compressed messages of 8 KiB: the server's echoes may refer at most 512 bytes back.",
            offer(false, 9),
        ),
        window_case(
            Role::Server,
            "no-context-takeover-honoured",
            "RFC 7692 §7.1.1.1",
            "Offer server_no_context_takeover (13.2's offer), then 4 compressed messages of 8 KiB: no echo of the server may refer to an earlier message.",
            offer(true, 0),
        ),
        window_case(
            Role::Client,
            "window-bits-honoured",
            "RFC 7692 §7.1.2.2",
            "Accept with client_max_window_bits=9 (13.3's accept rule), then 4 compressed messages of 8 KiB: the client's echoes may refer at most 512 bytes back.",
            accept(false, 9),
        ),
        window_case(
            Role::Client,
            "no-context-takeover-honoured",
            "RFC 7692 §7.1.1.2",
            "Accept with client_no_context_takeover (13.2's accept rule), then 4 compressed messages of 8 KiB: no echo of the client may refer to an earlier message.",
            accept(true, 0),
        ),
    ]
}

/// What the bomb inflates to (see the module doc for why 256 MiB).
const BOMB: u64 = 256 << 20;
/// How long the peer has to answer the bomb: ample for a peer that stops at
/// its limit, and a bound on one that inflates all of it.
const BOMB_WAIT_MS: u64 = 10_000;

/// Both roles: the decompression bomb (see the module doc).
fn bomb_case(peer: Role) -> Case {
    let compressed = wsconform_wire::deflate::bomb(BOMB).len();
    let mut c = case(
        format!("pmd.{}.decompression-bomb", role_name(peer)),
        format!(
            "A compressed binary message of {compressed} bytes that inflates to {} MiB of zeros (one DEFLATE block of 258-byte matches, 1032:1): 16 times Autobahn's largest message, past the default limits of common implementations. The peer must refuse it (RFC 6455 §10.4) rather than inflate it.",
            BOMB >> 20
        ),
        rfc("RFC 7692 §7.2.2, RFC 6455 §10.4", Requirement::Must),
    )
    .for_peer(peer)
    .expect("The peer fails the connection with 1009 (message too big, RFC 6455 §7.4.1) before sending any data frame. 1008 or 1011, or a dropped connection without a close frame, is NON-STRICT; an echo, another close code or no answer within 10 s is FAILED.")
    .step(Step::DeflateBomb {
        opcode: Opcode::BINARY,
        inflated: BOMB,
    })
    .close_after(BOMB_WAIT_MS)
    .judged_by(Judge::TooBig { inflated: BOMB })
    .closing(ExpectedClose {
        closed_by_me: false,
        close_codes: [1009, 1008, 1011].map(CloseCode).to_vec(),
        require_clean: false,
        wrong_closer_fatal: false,
    })
    .note("UNIMPLEMENTED when the peer does not negotiate permessage-deflate (RFC 7692 is optional).");
    c.expected.clear();
    c.deflate = Some(default_deflate());
    c
}

pub fn cases() -> Vec<Case> {
    let rules = frame_rules();
    let frames = [Role::Server, Role::Client]
        .into_iter()
        .flat_map(|peer| rules.iter().map(move |r| frame_case(r, peer)));
    frames
        .chain(server_cases())
        .chain(client_cases())
        .chain(window_cases())
        .chain([Role::Server, Role::Client].map(bomb_case))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_unique_and_cite_rfc_7692() {
        let all = cases();
        let mut ids: Vec<&str> = all.iter().map(|c| c.id.as_str()).collect();
        ids.sort_unstable();
        assert_eq!(
            ids,
            [
                "pmd.client.bfinal",
                "pmd.client.decompression-bomb",
                "pmd.client.empty-final-fragment",
                "pmd.client.no-context-takeover-honoured",
                "pmd.client.response-client-window-7",
                "pmd.client.response-server-window-16",
                "pmd.client.response-two-elements",
                "pmd.client.response-undefined-param",
                "pmd.client.rsv1-continuation",
                "pmd.client.rsv1-ping",
                "pmd.client.unnegotiated",
                "pmd.client.window-bits-honoured",
                "pmd.client.window-bits-omitted",
                "pmd.server.bfinal",
                "pmd.server.decompression-bomb",
                "pmd.server.empty-final-fragment",
                "pmd.server.no-context-takeover-honoured",
                "pmd.server.offer-client-window-7",
                "pmd.server.offer-server-window-16",
                "pmd.server.response-two-elements",
                "pmd.server.response-undefined-param",
                "pmd.server.rsv1-continuation",
                "pmd.server.rsv1-ping",
                "pmd.server.unnegotiated",
                "pmd.server.unoffered-client-window",
                "pmd.server.window-bits-echoed",
                "pmd.server.window-bits-honoured",
            ]
        );
        for c in &all {
            assert!(
                c.rfc.section.starts_with("RFC 7692 §"),
                "{}: {}",
                c.id,
                c.rfc.section
            );
            let role = if c.id.starts_with("pmd.server.") {
                Role::Server
            } else {
                Role::Client
            };
            assert!(c.applies_to(role) && !c.applies_to(role.peer()), "{}", c.id);
            assert!(!c.is_autobahn(), "{}", c.id);
        }
    }

    #[test]
    fn the_compressed_forms_are_what_the_rfc_describes() {
        let hello = compressed(HELLO);
        // §7.2.1: the sync flush's tail is removed.
        assert!(!hello.ends_with(&TAIL));
        // §7.2.3.4: the first block of a one-block stream has BFINAL set.
        assert_eq!(compressed_final(HELLO)[0] & 1, 1);
        // Short enough that no back-reference can reach past 256 bytes.
        assert!(HELLO.len() < 256);
        let unnegotiated = cases()
            .into_iter()
            .find(|c| c.id == "pmd.server.unnegotiated")
            .expect("exists");
        assert!(unnegotiated.deflate.is_none());
    }

    #[test]
    fn the_bomb_is_small_on_the_wire_and_weighs_what_it_inflates_to() {
        for c in cases().iter().filter(|c| c.id.ends_with(".decompression-bomb")) {
            let [Step::DeflateBomb { opcode, inflated }, Step::CloseAfter { .. }] = c.steps.as_slice() else {
                panic!("{}: {:?}", c.id, c.steps);
            };
            let sent: u64 = crate::bomb_frames(*opcode, *inflated)
                .iter()
                .map(|f| f.payload.len)
                .sum();
            assert!(sent < 260 * 1024 && sent * 1000 < *inflated, "{}: {sent}", c.id);
            // The runner's payload pool sees the inflated size.
            assert_eq!(c.largest_payload(), BOMB);
            assert!(c.deflate.is_some());
        }
    }
}
