//! A peer may check UTF-8 only at a message's end (RFC 6455 §8.1 fixes no
//! point; Autobahn 6.4.x calls it NON-STRICT). While such a peer may still
//! be waiting for the rest of a broken text message, the oracle allows what
//! it then does with later frames. Both scripts are Node `ws` reproducers
//! from docs/fuzz-findings/ that the oracle had wrongly reported.

use wsconform_cases::{FrameSpec, Payload, Step, Write};
use wsconform_oracle::check::{check, Digest, Reaction, Timers};
use wsconform_oracle::model::Model;
use wsconform_oracle::FindingClass;
use wsconform_wire::{CloseCode, Opcode, Role};

fn frame(opcode: Opcode, payload: &[u8], fin: bool) -> Step {
    Step::Frame {
        frame: FrameSpec::new(opcode, Payload::bytes(payload.to_vec())).fin(fin),
        write: Write::Whole,
    }
}

fn closed_with(code: u16, kill: bool) -> Reaction {
    Reaction {
        close: Some(Some(CloseCode(code))),
        timers: Timers {
            kill,
            ..Timers::default()
        },
        ..Reaction::default()
    }
}

/// `wrong-close-code-bfaf49b81db58653`: an unfinished text message that is
/// already not UTF-8, then nothing. The kill timer's close (1001) may be
/// echoed; 1001 of the peer's own accord is still a wrong code.
#[test]
fn the_kill_timers_going_away_may_be_echoed() {
    let model = Model::of(&[frame(Opcode::TEXT, b"\xbf", false)], Role::Client);
    assert_eq!(check(&model, &closed_with(1001, true)), None);
    let own = check(&model, &closed_with(1001, false)).expect("1001 unprompted is a finding");
    assert_eq!(own.class, FindingClass::WrongCloseCode, "{own}");
}

/// `accepted-violation-7f346393eba99521`: the same start, then a close frame
/// with a 1-byte payload (RFC 6455 §5.5.1: 1002 due), then the harness's
/// close 1002. A peer still waiting for the message's end fails on the bad
/// close with 1002; answering it with 1000 is accepting it.
#[test]
fn an_invalid_close_after_lazy_utf8_allows_1002() {
    let steps = [
        frame(Opcode::TEXT, b"\x8f", false),
        frame(Opcode::CLOSE, b"\xdd", true),
        Step::Close {
            code: Some(1002),
            reason: Payload::empty(),
        },
    ];
    let model = Model::of(&steps, Role::Client);
    assert_eq!(check(&model, &closed_with(1002, false)), None);
    assert_eq!(check(&model, &closed_with(1007, false)), None);
    let accepted = check(&model, &closed_with(1000, false)).expect("1000 accepts the bad close");
    assert_eq!(accepted.class, FindingClass::AcceptedViolation, "{accepted}");
}

fn pong_then_closed_with(ping: &[u8], code: u16) -> Reaction {
    Reaction {
        pongs: vec![Digest::of(ping)],
        ..closed_with(code, false)
    }
}

/// `accepted-violation-f71d38a9652a0661` (Python `websockets`): a whole text
/// message `E2` (a code point cut short), then a ping. Answering the ping
/// and then failing with 1007 is a late UTF-8 check, NON-STRICT (not
/// counted); answering it and closing with anything else accepts the
/// violation.
#[test]
fn a_pong_before_the_1007_is_a_late_utf8_check() {
    let steps = [
        frame(Opcode::TEXT, b"\xe2", true),
        frame(Opcode::PING, b"p", true),
    ];
    let model = Model::of(&steps, Role::Client);
    let late =
        check(&model, &pong_then_closed_with(b"p", 1007)).expect("a pong after the bad text is reported");
    assert_eq!(late.class, FindingClass::LateUtf8Check, "{late}");
    assert!(late.class.is_non_strict());
    let accepted = check(&model, &pong_then_closed_with(b"p", 1000)).expect("1000 accepts the bad text");
    assert_eq!(accepted.class, FindingClass::AcceptedViolation, "{accepted}");
    assert!(!accepted.class.is_non_strict());
    // Not a UTF-8 violation first (a reserved opcode): the pong is accepting it.
    let steps = [frame(Opcode(3), b"", true), frame(Opcode::PING, b"p", true)];
    let model = Model::of(&steps, Role::Client);
    let accepted = check(&model, &pong_then_closed_with(b"p", 1007)).expect("a pong after a 1002 violation");
    assert_eq!(accepted.class, FindingClass::AcceptedViolation, "{accepted}");
}

/// `accepted-violation-d75aa153699cc681` (Node `ws`, eighth session): a
/// text fragment `BF` (not UTF-8, message unfinished), an empty ping, a
/// binary fragment inside the text message (RFC 6455 §5.4: 1002), another
/// empty ping. `ws` checks UTF-8 at the message's end: it answers the first
/// ping, then fails on the binary frame with 1002, and never answers the
/// second. The one pong has both pings' payload; a peer still waiting for
/// the message's end may send it, so it is not taken for an answer to the
/// ping after the 1002 violation. A pong only the later ping explains still
/// is.
#[test]
fn a_pong_for_a_ping_sent_while_utf8_may_still_be_pending_is_allowed() {
    let steps = |second: &[u8]| {
        [
            frame(Opcode::TEXT, b"\xbf", false),
            frame(Opcode::PING, b"", true),
            frame(Opcode::BINARY, b"", false),
            frame(Opcode::PING, second, true),
        ]
    };
    let model = Model::of(&steps(b""), Role::Client);
    assert_eq!(model.pings_lazy, vec![Vec::<u8>::new()]);
    assert_eq!(check(&model, &pong_then_closed_with(b"", 1002)), None);
    assert_eq!(check(&model, &pong_then_closed_with(b"", 1007)), None);
    let model = Model::of(&steps(b"after"), Role::Client);
    let accepted = check(&model, &pong_then_closed_with(b"after", 1002))
        .expect("answering the ping after the 1002 violation");
    assert_eq!(accepted.class, FindingClass::AcceptedViolation, "{accepted}");
}
