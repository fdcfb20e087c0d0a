//! Category 2, Pings/Pongs (RFC 6455 §5.5.2, §5.5.3).

use crate::build::{case, got_pong, ping, pong, rfc};
use crate::model::{Case, Requirement, Write};
use crate::payload::Payload;

const BIN8: &[u8] = b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff";

fn pong_case(id: &str, description: &str, payload: &[u8], write: Write, close_after: u64) -> Case {
    // Autobahn's wording depends on the payload and the chopping.
    let reply = if payload.is_empty() {
        "Pong (with empty payload)"
    } else {
        "Pong with payload echo'ed"
    };
    let tcp_clean = if write == Write::Whole {
        ""
    } else {
        " Implementations must be TCP clean."
    };
    case(id, description, rfc("RFC 6455 §5.5.3", Requirement::Must))
        .expect(format!(
            "{reply} is sent in reply to Ping.{tcp_clean} Clean close with normal code."
        ))
        .send_as(ping(payload), write)
        .close_after(close_after)
        .ok(vec![got_pong(payload)])
}

fn many_pings(id: &str, description: &str, write: Write) -> Case {
    let payloads: Vec<Vec<u8>> = (0..10).map(|i| format!("payload-{i}").into_bytes()).collect();
    case(id, description, rfc("RFC 6455 §5.5.3", Requirement::May))
        .expect("Pongs for our Pings with all the payloads. Note: This is not required by the Spec .. but we check for this behaviour anyway. Clean close with normal code.")
        .send_all(payloads.iter().map(|p| ping(p)), write)
        .close_after(3000)
        .ok(payloads.iter().map(|p| got_pong(p)).collect())
        .note("Autobahn demands a pong for every ping; RFC 6455 §5.5.3 allows answering only the most recent one, so a conformant endpoint can fail this case.")
}

/// 2.7, 2.8: an unsolicited pong must be ignored (RFC 6455 §5.5.3); the
/// harness then closes, and closeAfter only backs that up, as in Autobahn.
fn unsolicited_pong(id: &str, with: &str, payload: &[u8]) -> Case {
    case(
        id,
        format!("Send unsolicited pong {with}. Verify nothing is received. Clean close with normal code."),
        rfc("RFC 6455 §5.5.3", Requirement::Must),
    )
    .expect("Nothing.")
    .send(pong(payload))
    .close_with(Some(1000), Payload::empty())
    .close_after(1000)
}

pub fn cases() -> Vec<Case> {
    let p125 = [0xFE; 125];
    let p126 = [0xFE; 126];
    vec![
        pong_case("2.1", "Send ping without payload.", b"", Write::Whole, 1000),
        pong_case("2.2", "Send ping with small text payload.", b"Hello, world!", Write::Whole, 1000),
        pong_case("2.3", "Send ping with small binary (non UTF-8) payload.", BIN8, Write::Whole, 1000),
        pong_case("2.4", "Send ping with binary payload of 125 octets.", &p125, Write::Whole, 1000),
        case("2.5", "Send ping with binary payload of 126 octets.", rfc("RFC 6455 §5.5", Requirement::Must))
            .expect("Connection is failed immediately (1002/Protocol Error), since control frames are only allowed to have payload up to and including 125 octets..")
            .send(ping(&p126))
            .kill_after(1000)
            .peer_fails(1002),
        pong_case(
            "2.6",
            "Send ping with binary payload of 125 octets, send in octet-wise chops.",
            &p125,
            Write::Chop(1),
            2000,
        ),
        unsolicited_pong("2.7", "without payload", b""),
        unsolicited_pong("2.8", "with payload", b"unsolicited pong payload"),
        case("2.9", "Send unsolicited pong with payload. Send ping with payload. Verify pong for ping is received.", rfc("RFC 6455 §5.5.3", Requirement::Must))
            .expect("Nothing in reply to own Pong, but Pong with payload echo'ed in reply to Ping. Clean close with normal code.")
            .send(pong(b"unsolicited pong payload"))
            .send(ping(b"ping payload"))
            .close_after(1000)
            .ok(vec![got_pong(b"ping payload")]),
        many_pings("2.10", "Send 10 Pings with payload.", Write::Whole),
        many_pings("2.11", "Send 10 Pings with payload. Send out octets in octet-wise chops.", Write::Chop(1)),
    ]
}
