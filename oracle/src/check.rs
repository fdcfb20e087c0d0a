//! The second half of the RFC oracle: whether what a peer did (a
//! [`Reaction`], however it was observed: over a socket by the harness's
//! engine, or in memory by `memory`) is among the reactions the script's
//! [`Model`] allows.

use wsconform_wire::CloseCode;

use crate::model::{codes_text, End, Model};
use crate::{Finding, FindingClass};

/// A payload as the oracle compares it: length and SHA-1 (`None`: not
/// hashed, which matches nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub len: u64,
    pub sha1: Option<[u8; 20]>,
}

impl Digest {
    pub fn of(bytes: &[u8]) -> Digest {
        use sha1::Digest as _;
        Digest {
            len: bytes.len() as u64,
            sha1: Some(sha1::Sha1::digest(bytes).into()),
        }
    }
}

/// Which bounds on a hang ran out before the peer reacted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timers {
    /// The script's kill timer (`generate::KILL_MS`, `REACT_MS`).
    pub kill: bool,
    /// The timer bounding how long a peer may take to close after failing.
    pub close: bool,
    /// The closing handshake's timeout (RFC 6455 §7.1.1: the peer never
    /// answered the close).
    pub close_handshake: bool,
    /// The case's overall deadline.
    pub deadline: bool,
}

/// What the peer did, in the order the oracle needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reaction {
    /// No WebSocket connection: why.
    pub no_connection: Option<String>,
    /// The peer's own bytes broke a rule (masking, RSV, lengths, UTF-8,
    /// close payload): the first, as a sentence citing its section.
    pub invalid_frame: Option<String>,
    /// Data messages received: binary?, payload.
    pub messages: Vec<(bool, Digest)>,
    /// Pong payloads received.
    pub pongs: Vec<Digest>,
    /// The opcode name of the first data frame after the peer's close.
    pub data_after_close: Option<String>,
    /// The peer's close frame (`Some(None)`: one with no code); `None`: it
    /// sent none.
    pub close: Option<Option<CloseCode>>,
    pub timers: Timers,
}

fn same(d: &Digest, bytes: &[u8]) -> bool {
    let want = Digest::of(bytes);
    d.len == want.len && d.sha1 == want.sha1
}

/// Whether what the peer did (`r`) is among the reactions `model` allows;
/// the first rule it broke otherwise.
pub fn check(model: &Model, r: &Reaction) -> Option<Finding> {
    let finding = |class, section: &'static str, detail: String| {
        Some(Finding {
            class,
            section,
            detail,
        })
    };
    if let Some(why) = &r.no_connection {
        return finding(
            FindingClass::NoConnection,
            "RFC 6455 §4.2.2",
            format!("no WebSocket connection: {why}"),
        );
    }
    let kill = r.timers.kill;
    if let Some(why) = r.invalid_frame.as_ref().filter(|_| !kill) {
        let section = section_in(why);
        return finding(FindingClass::InvalidFrame, section, why.clone());
    }
    let fail = matches!(model.end, End::Fail { .. });
    let (fail_section, fail_why) = match &model.end {
        End::Fail { section, why, .. } => (*section, why.as_str()),
        _ => ("", ""),
    };
    let messages = &r.messages;
    let pongs = &r.pongs;
    for (i, (binary, got)) in messages.iter().enumerate() {
        match model.messages.get(i) {
            None if fail => {
                return finding(
                    FindingClass::AcceptedViolation,
                    fail_section,
                    format!(
                    "the peer sent message {} after a frame it had to fail the connection on ({fail_why})",
                    i + 1
                ),
                )
            }
            None => {
                return finding(
                    FindingClass::UnexpectedMessage,
                    if matches!(model.end, End::Closed { .. }) {
                        "RFC 6455 §5.5.1"
                    } else {
                        "RFC 6455 §6.2"
                    },
                    format!(
                        "message {} of {} bytes: the script sent only {} message(s) before its end",
                        i + 1,
                        got.len,
                        model.messages.len()
                    ),
                )
            }
            Some((want_binary, want)) if *want_binary != *binary || !same(got, want) => {
                return finding(
                    FindingClass::CorruptedEcho,
                    "RFC 6455 §5.4, §6.2",
                    format!(
                        "echo {} is a {} message of {} bytes; sent: a {} message of {} bytes{}",
                        i + 1,
                        kind(*binary),
                        got.len,
                        kind(*want_binary),
                        want.len(),
                        if got.len == want.len() as u64 {
                            " (other content)"
                        } else {
                            ""
                        }
                    ),
                );
            }
            Some(_) => {}
        }
    }
    if fail {
        for p in pongs {
            let answers = |list: &[Vec<u8>]| list.iter().any(|ping| same(p, ping));
            if answers(&model.pings_after) && !answers(&model.pings) && !answers(&model.pings_lazy) {
                // Bad UTF-8 first, and the peer did fail with 1007 after
                // the pong: a late check, not an accepted violation.
                let utf8 = matches!(&model.end, End::Fail { codes, .. } if codes.first() == Some(&CloseCode::INVALID_PAYLOAD));
                if utf8 && r.close.as_ref().copied().flatten() == Some(CloseCode::INVALID_PAYLOAD) {
                    return finding(
                        FindingClass::LateUtf8Check,
                        "RFC 6455 §8.1",
                        format!("NON-STRICT: the peer answered a ping sent after the text that is not UTF-8, then failed the connection with 1007 ({fail_why})"),
                    );
                }
                return finding(
                    FindingClass::AcceptedViolation,
                    "RFC 6455 §7.1.7",
                    format!("the peer answered a ping sent after a frame it had to fail the connection on ({fail_why})"),
                );
            }
        }
    }
    if let Some(after) = &r.data_after_close {
        return finding(
            FindingClass::FrameAfterClose,
            "RFC 6455 §5.5.1",
            format!("the peer sent a {after} frame after its close frame"),
        );
    }
    let remote = r.close.as_ref();
    let remote_code = remote.copied().flatten();
    match &model.end {
        End::Fail { codes, may_wait, .. } => {
            if (kill || r.timers.close || r.timers.deadline) && !may_wait {
                return finding(
                    FindingClass::AcceptedViolation,
                    fail_section,
                    format!("the peer did not fail the connection ({fail_why})"),
                );
            }
            // A peer still waiting for the message's end when the kill
            // timer's close (1001) came may echo it.
            let echoed_kill = *may_wait && kill && remote_code == Some(CloseCode::GOING_AWAY);
            if let Some(code) = remote_code.filter(|c| !codes.contains(c) && !echoed_kill) {
                let class = if code == CloseCode::NORMAL || model.closes_after.contains(&code) {
                    FindingClass::AcceptedViolation
                } else {
                    FindingClass::WrongCloseCode
                };
                return finding(
                    class,
                    if class == FindingClass::WrongCloseCode {
                        "RFC 6455 §7.4.1"
                    } else {
                        fail_section
                    },
                    format!(
                        "the peer closed with {} where {} was due ({fail_why})",
                        code.0,
                        codes_text(codes)
                    ),
                );
            }
        }
        End::Open | End::Closed { .. } => {
            let (mut codes, then_broke) = match &model.end {
                End::Closed { codes, then_broke } => (codes.clone(), *then_broke),
                _ => (vec![CloseCode::NORMAL], false),
            };
            if then_broke {
                codes.push(CloseCode::PROTOCOL_ERROR);
            }
            if kill {
                // The kill timer's close (1001) may be echoed.
                codes.push(CloseCode::GOING_AWAY);
            }
            let hang = r.timers.close_handshake || kill || r.timers.deadline;
            if remote.is_none() && (hang || !then_broke) {
                return if hang {
                    finding(
                        FindingClass::Hang,
                        "RFC 6455 §5.5.1",
                        "the peer did not answer the closing handshake in time".into(),
                    )
                } else {
                    finding(
                        FindingClass::UncleanClose,
                        "RFC 6455 §5.5.1",
                        "the peer closed TCP without sending a close frame".into(),
                    )
                };
            }
            if let Some(code) = remote_code.filter(|c| !codes.contains(c)) {
                return finding(
                    FindingClass::WrongCloseCode,
                    "RFC 6455 §7.4.1",
                    format!(
                        "the peer closed with {} where {} (or no code) was due",
                        code.0,
                        codes_text(&codes)
                    ),
                );
            }
            if model.end == End::Open && messages.len() < model.messages.len() {
                return finding(
                    FindingClass::MissingEcho,
                    "RFC 6455 §6.2",
                    format!(
                        "{} of {} message(s) echoed within the case's {} ms",
                        messages.len(),
                        model.messages.len(),
                        crate::generate::KILL_MS
                    ),
                );
            }
            // A peer that fails the connection on the harness's own breach
            // after its close stops processing (RFC 6455 §7.1.7): its pong
            // may never go out.
            if let Some(last) = model.pings.last().filter(|_| !then_broke) {
                if !pongs.iter().any(|p| same(p, last)) {
                    return finding(
                        FindingClass::MissingPong,
                        "RFC 6455 §5.5.2",
                        format!(
                            "no pong with the last ping's {}-byte payload within the case's {} ms",
                            last.len(),
                            crate::generate::KILL_MS
                        ),
                    );
                }
            }
            if kill {
                return finding(
                    FindingClass::Hang,
                    "RFC 6455 §5.5.1",
                    "the connection was still open when the case's kill timer fired".into(),
                );
            }
        }
    }
    None
}

fn kind(binary: bool) -> &'static str {
    if binary {
        "binary"
    } else {
        "text"
    }
}

/// The "RFC 6455 §x" a note cites, or the framing chapter.
fn section_in(text: &str) -> &'static str {
    const KNOWN: [&str; 10] = [
        "RFC 6455 §5.1",
        "RFC 6455 §5.2",
        "RFC 6455 §5.4",
        "RFC 6455 §5.5.1",
        "RFC 6455 §5.5",
        "RFC 6455 §7.4",
        "RFC 6455 §8.1",
        "RFC 6455 §10.4",
        "RFC 6455 §7.1.1",
        "RFC 6455 §5.5.2",
    ];
    if text.contains("UTF-8") && !text.contains("close") {
        return "RFC 6455 §8.1";
    }
    KNOWN
        .iter()
        .find(|s| text.contains(*s))
        .copied()
        .unwrap_or("RFC 6455 §5")
}
