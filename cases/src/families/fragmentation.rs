//! Category 5, Fragmentation (RFC 6455 §5.4, §5.5).

use crate::build::{case, cont, got_pong, got_text, ping, pong, rfc, text};
use crate::model::{Case, FrameSpec, Requirement, Step, Write};

const WAYS: [Write; 3] = [Write::Whole, Write::Sync, Write::Chop(1)];

const NOTHING_TO_CONTINUE: &str =
    "The connection is failed immediately, since there is no message to continue.";

fn must_fail(
    id: String,
    description: String,
    expectation: &str,
    frames: Vec<FrameSpec>,
    write: Write,
) -> Case {
    case(id, description, rfc("RFC 6455 §5.4", Requirement::Must))
        .expect(expectation)
        .send_all(frames, write)
        .kill_after(1000)
        .peer_fails(1002)
}

/// Three cases (5.n, 5.n+1, 5.n+2) sending the same frames whole,
/// frame-wise and octet-wise; Autobahn's description is `describe` followed
/// by the family's wording for each way.
fn three_ways(first: u32, describe: &str, hows: [&str; 3], make: impl Fn(Write) -> Case) -> Vec<Case> {
    WAYS.iter()
        .zip(hows)
        .enumerate()
        .map(|(i, (&write, how))| {
            let mut c = make(write);
            c.id = format!("5.{}", first + i as u32);
            c.description = format!("{describe}{how}");
            c
        })
        .collect()
}

fn fragment(p: &str) -> FrameSpec {
    text(p).fin(false)
}

pub fn cases() -> Vec<Case> {
    // RFC 6455 §5.5: control frames MUST NOT be fragmented.
    let mut out: Vec<Case> = [
        ("5.1", "Ping", ping(b"fragment1")),
        ("5.2", "Pong", pong(b"fragment1")),
    ]
    .into_iter()
    .map(|(id, kind, first)| {
        let mut c = must_fail(
            id.into(),
            format!("Send {kind} fragmented into 2 fragments."),
            "Connection is failed immediately, since control message MUST NOT be fragmented.",
            vec![first.fin(false), cont("fragment2")],
            Write::Whole,
        );
        c.rfc.section = "RFC 6455 §5.5".into();
        c
    })
    .collect();
    out.extend(three_ways(
        3,
        "Send text Message fragmented into 2 fragments",
        [
            ".",
            ", octets are sent in frame-wise chops.",
            ", octets are sent in octet-wise chops.",
        ],
        |write| {
            case("", "", rfc("RFC 6455 §5.4", Requirement::Must))
                .expect("Message is processed and echo'ed back to us.")
                .send_all([fragment("fragment1"), cont("fragment2")], write)
                .close_after(1000)
                .ok(vec![got_text("fragment1fragment2")])
        },
    ));
    out.extend(three_ways(
        6,
        "Send text Message fragmented into 2 fragments, one ping with payload in-between.",
        [
            "",
            " Octets are sent in frame-wise chops.",
            " Octets are sent in octet-wise chops.",
        ],
        |write| {
            case("", "", rfc("RFC 6455 §5.4", Requirement::Must))
                .expect("A pong is received, then the message is echo'ed back to us.")
                .send_all(
                    [fragment("fragment1"), ping(b"ping payload"), cont("fragment2")],
                    write,
                )
                .close_after(1000)
                .ok(vec![got_pong(b"ping payload"), got_text("fragment1fragment2")])
        },
    ));
    for (first, fin) in [(9, true), (12, false)] {
        out.extend(three_ways(
            first,
            &format!("Send unfragmented Text Message after Continuation Frame with FIN = {fin}, where there is nothing to continue"),
            [", sent in one chop.", ", sent in per-frame chops.", ", sent in octet-wise chops."],
            |write| {
                must_fail(
                    String::new(),
                    String::new(),
                    NOTHING_TO_CONTINUE,
                    vec![cont("non-continuation payload").fin(fin), text("Hello, world!")],
                    write,
                )
            },
        ));
    }
    out.push(
        case(
            "5.15",
            "Send text Message fragmented into 2 fragments, then Continuation Frame with FIN = false where there is nothing to continue, then unfragmented Text Message, all sent in one chop.",
            rfc("RFC 6455 §5.4", Requirement::Must),
        )
        .expect(NOTHING_TO_CONTINUE)
        .send_all(
            [fragment("fragment1"), cont("fragment2"), cont("fragment3").fin(false), text("fragment4")],
            Write::Whole,
        )
        .kill_after(1000)
        .ok(vec![got_text("fragment1fragment2")])
        .non_strict(vec![])
        .peer_fails(1002),
    );
    for (id, first_fin) in [("5.16", false), ("5.17", true)] {
        let round = [
            cont("fragment1").fin(first_fin),
            fragment("fragment2"),
            cont("fragment3"),
        ];
        out.push(must_fail(
            id.into(),
            format!("Repeated 2x: Continuation Frame with FIN = {first_fin} (where there is nothing to continue), then text Message fragmented into 2 fragments."),
            NOTHING_TO_CONTINUE,
            round.iter().chain(round.iter()).cloned().collect(),
            Write::Whole,
        ));
    }
    out.push(must_fail(
        "5.18".into(),
        "Send text Message fragmented into 2 fragments, with both frame opcodes set to text, sent in one chop.".into(),
        "The connection is failed immediately, since all data frames after the initial data frame must have opcode 0.",
        vec![fragment("fragment1"), text("fragment2")],
        Write::Whole,
    ));
    // Autobahn's own texts for 5.19 and 5.20, line breaks included.
    let texts = [
        (
            "5.19",
            Write::Whole,
            "A fragmented text message is sent in multiple frames. After\n   sending the first 2 frames of the text message, a Ping is sent. Then we wait 1s,\n   then we send 2 more text fragments, another Ping and then the final text fragment.\n   Everything is legal.",
            "The peer immediately answers the first Ping before\n   it has received the last text message fragment. The peer pong's back the Ping's\n   payload exactly, and echo's the payload of the fragmented message back to us.",
        ),
        (
            "5.20",
            Write::Sync,
            "Same as Case 5.19, but send all frames with SYNC = True.\n   Note, this does not change the octets sent in any way, only how the stream\n   is chopped up on the wire.",
            "Same as Case 5.19. Implementations must be agnostic to how\n   octet stream is chopped up on wire (must be TCP clean).",
        ),
    ];
    for (id, write, description, expectation) in texts {
        out.push(
            case(id, description, rfc("RFC 6455 §5.4", Requirement::Must))
                .expect(expectation)
                .send_all(
                    [
                        fragment("fragment1"),
                        cont("fragment2").fin(false),
                        ping(b"pongme 1!"),
                    ],
                    write,
                )
                .step(Step::Wait { ms: 1000, tag: None })
                .send_all(
                    [
                        cont("fragment3").fin(false),
                        cont("fragment4").fin(false),
                        ping(b"pongme 2!"),
                        cont("fragment5"),
                    ],
                    write,
                )
                .close_after(1000)
                .ok(vec![
                    got_pong(b"pongme 1!"),
                    got_pong(b"pongme 2!"),
                    got_text("fragment1fragment2fragment3fragment4fragment5"),
                ]),
        );
    }
    out
}
