//! Verdicts from an [`Outcome`], computed exactly as Autobahn|Testsuite does
//! (reference §6.4), so that results compare case for case.

use serde::Serialize;
use wsconform_cases::{
    Behavior, BehaviorClose, Case, Event, ExpectedClose, HandshakeExpect, Judge, Requirement,
};
use wsconform_wire::{CloseCode, Opcode, Role};

use crate::record::{Digest, Echoes, HandshakeAnswer, Observed, Outcome};

/// The two verdicts of a case and the sentences that explain them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub behavior: Behavior,
    pub behavior_close: BehaviorClose,
    pub result: String,
    pub result_close: String,
}

/// An expected event with its payload digested, for comparison with what
/// was observed (payloads are compared by length and SHA-1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpectedEvent {
    Message {
        binary: bool,
        len: u64,
        sha1: Option<[u8; 20]>,
    },
    Pong {
        len: u64,
        sha1: Option<[u8; 20]>,
    },
    Timeout {
        tag: String,
    },
}

impl ExpectedEvent {
    pub fn of(event: &Event) -> ExpectedEvent {
        match event {
            Event::Message { payload, binary } => {
                let d = Digest::of_payload(payload);
                ExpectedEvent::Message {
                    binary: *binary,
                    len: d.len,
                    sha1: d.sha1,
                }
            }
            Event::Pong { payload } => {
                let d = Digest::of_payload(payload);
                ExpectedEvent::Pong {
                    len: d.len,
                    sha1: d.sha1,
                }
            }
            Event::Timeout { tag } => ExpectedEvent::Timeout { tag: tag.clone() },
        }
    }

    fn matches(&self, observed: &Observed) -> bool {
        match (self, observed) {
            (ExpectedEvent::Message { binary, len, sha1 }, Observed::Message { binary: b, payload }) => {
                binary == b && *len == payload.len && *sha1 == payload.sha1
            }
            (ExpectedEvent::Pong { len, sha1 }, Observed::Pong { payload }) => {
                *len == payload.len && *sha1 == payload.sha1
            }
            (ExpectedEvent::Timeout { tag }, Observed::Timeout { tag: t }) => tag == t,
            _ => false,
        }
    }
}

/// The expected event lists of a case, digested once.
#[derive(Debug, Clone)]
pub struct Expectations {
    pub lists: Vec<(Behavior, Vec<ExpectedEvent>)>,
}

impl Expectations {
    pub fn of(case: &Case) -> Expectations {
        Expectations {
            lists: case
                .expected
                .iter()
                .map(|(b, events)| (*b, events.iter().map(ExpectedEvent::of).collect()))
                .collect(),
        }
    }

    /// The verdict whose list equals `observed` exactly (order, type,
    /// payload, binary flag), if any.
    pub fn matching(&self, observed: &[Observed]) -> Option<Behavior> {
        self.lists
            .iter()
            .find(|(_, list)| same_events(list, observed))
            .map(|(b, _)| *b)
    }

    /// Autobahn's `finishWhenDone`: with a single expectation, the moment
    /// the received events equal it the harness may close.
    pub fn done(&self, observed: &[Observed]) -> bool {
        match self.lists.as_slice() {
            [(Behavior::Ok, list)] => !list.is_empty() && same_events(list, observed),
            _ => false,
        }
    }
}

fn same_events(expected: &[ExpectedEvent], observed: &[Observed]) -> bool {
    expected.len() == observed.len() && expected.iter().zip(observed).all(|(e, o)| e.matches(o))
}

/// Computes both verdicts; `harness` is the harness's own role.
pub fn judge(case: &Case, outcome: &Outcome, expectations: &Expectations, harness: Role) -> Verdict {
    if let Some(answer) = &outcome.handshake_answer {
        // The handshake was the test; no WebSocket connection followed.
        let expect = case.handshake.as_ref().map(|h| &h.expect);
        let (behavior, text) = judge_handshake(expect, answer);
        // A client that breaks what the RFC only recommends is NON-STRICT,
        // as in Autobahn's own verdict scale (hs.client.http-1.0).
        let behavior = match (behavior, case.rfc.level) {
            (Behavior::Failed, Requirement::Should) if harness == Role::Server => Behavior::NonStrict,
            (b, _) => b,
        };
        let behavior_close = match behavior {
            Behavior::Failed => BehaviorClose::Failed,
            Behavior::Informational => BehaviorClose::Informational,
            _ => BehaviorClose::Ok,
        };
        return Verdict {
            behavior,
            behavior_close,
            result: text,
            result_close: "No WebSocket connection: the opening handshake was the test.".into(),
        };
    }
    if !outcome.handshake_completed {
        let why = outcome
            .setup_error
            .clone()
            .unwrap_or_else(|| "opening handshake was never completed".into());
        return Verdict {
            behavior: Behavior::Failed,
            behavior_close: BehaviorClose::Failed,
            result: format!("The opening handshake was never completed: {why}"),
            result_close: "The opening handshake was never completed".into(),
        };
    }
    if case.judge == Judge::Rfc {
        return crate::fuzz::oracle::verdict(case, outcome, harness);
    }
    // A case that negotiates permessage-deflate, which the peer declined:
    // UNIMPLEMENTED, never FAILED (RFC 7692 is optional); the harness closed
    // at once with 1000 (`engine.rs` `run_script`), and the close is judged
    // as that (Autobahn 12.x/13.x: `onOpen` closes when nothing was agreed).
    let unimplemented = case.deflate.is_some() && outcome.deflate.is_none();
    let clean_by_me = ExpectedClose::clean_by_me();
    let expected_close = if unimplemented {
        &clean_by_me
    } else {
        &case.expected_close
    };
    let (mut behavior, mut result) = match &case.judge {
        _ if unimplemented => (
            Behavior::Unimplemented,
            "The peer did not negotiate permessage-deflate (RFC 7692 is optional).".into(),
        ),
        Judge::Events | Judge::EventsWrongCodeFatal => match expectations.matching(&outcome.received) {
            Some(b) => (b, "Actual events match at least one expected.".to_string()),
            None => (
                Behavior::Failed,
                "Actual events differ from any expected.".to_string(),
            ),
        },
        Judge::Informational | Judge::Rfc => (Behavior::Informational, informational_result(outcome)),
        Judge::Echoes { count, binary, len } => judge_echoes(
            outcome.echoes.as_ref(),
            (*count, *binary, *len),
            close_after_secs(case),
        ),
        Judge::Compressed { count, binary, len } => {
            judge_compressed(outcome, (*count, *binary, *len), close_after_secs(case))
        }
        Judge::TooBig { inflated } => judge_too_big(outcome, *inflated, close_after_secs(case)),
    };
    let remote_code = outcome.remote_close.as_ref().and_then(|c| c.code);
    let inflate_failed = match (&case.judge, &outcome.inflate_failed) {
        (Judge::Compressed { .. }, Some(why)) if !unimplemented => Some(why),
        _ => None,
    };
    let (mut behavior_close, result_close) = if let Some(why) = inflate_failed {
        // The peer's data ended the connection, not its closing behaviour:
        // Autobahn's zlib raises there and the connection drops before any
        // close frame, "failed by the wrong endpoint" (`case.py`
        // `onConnectionLost`), whatever the peer would have answered.
        // wsconform sends the 1007 RFC 6455 §7.1.7 asks for, and judges the
        // close as Autobahn does (docs/verdict-rules.md D13), not by the
        // peer's echo of that code.
        (
            BehaviorClose::Failed,
            format!("The harness failed the connection (1007): the peer's compressed message could not be inflated ({why})"),
        )
    } else if expected_close.closed_by_me != outcome.closed_by_me {
        (
            BehaviorClose::Failed,
            "The connection was failed by the wrong endpoint".to_string(),
        )
    } else if expected_close.require_clean && !outcome.was_clean {
        (
            BehaviorClose::Unclean,
            "The spec requires the connection to be failed cleanly here".to_string(),
        )
    } else if remote_code.is_some_and(|code| !expected_close.close_codes.contains(&code)) {
        let codes: Vec<String> = expected_close
            .close_codes
            .iter()
            .map(|c| c.0.to_string())
            .collect();
        (
            BehaviorClose::WrongCode,
            format!("The close code should have been {} or empty", codes.join(",")),
        )
    } else if harness == Role::Client && outcome.dropped_by_me {
        (
            BehaviorClose::FailedByClient,
            "It is preferred that the server close the TCP connection".to_string(),
        )
    } else {
        (BehaviorClose::Ok, "Connection was properly closed".to_string())
    };
    if expected_close.wrong_closer_fatal && expected_close.closed_by_me != outcome.closed_by_me {
        behavior = Behavior::Failed;
    }
    if case.judge == Judge::EventsWrongCodeFatal && behavior_close == BehaviorClose::WrongCode {
        // Autobahn's category 7 classes: `self.behavior = Case.FAILED;
        // self.result = self.resultClose`.
        behavior = Behavior::Failed;
        result = result_close.clone();
    }
    if case.judge == Judge::Informational {
        behavior = Behavior::Informational;
        behavior_close = BehaviorClose::Informational;
    }
    if let Some(want) = &case.expected_tx_frames {
        let got: Vec<(Opcode, u64)> = want
            .keys()
            .map(|&op| (op, outcome.tx_frame_stats.get(&op).copied().unwrap_or(0)))
            .collect();
        let want: Vec<(Opcode, u64)> = want.iter().map(|(&k, &v)| (k, v)).collect();
        if got != want && behavior != Behavior::Failed {
            behavior = Behavior::Failed;
            // Opcodes as numbers, as the reports have always written them.
            let numbers = |v: &[(Opcode, u64)]| v.iter().map(|&(op, n)| (op.0, n)).collect::<Vec<_>>();
            result = format!(
                "The harness sent frames {:?} (opcode, count) instead of {:?}.",
                numbers(&got),
                numbers(&want)
            );
        }
    }
    Verdict {
        behavior,
        behavior_close,
        result,
        result_close,
    }
}

/// 9.x: OK once `count` echoes of the sent type and length arrived (content
/// is not compared, as in Autobahn's case 9 classes), FAILED at the first
/// other echo or when the case's `closeAfter` ended it first.
fn judge_echoes(
    echoes: Option<&Echoes>,
    (count, binary, len): (u32, bool, u64),
    secs: u64,
) -> (Behavior, String) {
    let e = echoes.cloned().unwrap_or_default();
    match e.mismatch {
        Some((got_binary, got_len)) => (
            Behavior::Failed,
            format!(
                "Expected a {} message of {len} bytes, got a {} message of {got_len} bytes.",
                kind(binary),
                kind(got_binary)
            ),
        ),
        None if e.matched >= count => (Behavior::Ok, format!("Received {count} echo(es) of {len} bytes.")),
        None => (
            Behavior::Failed,
            format!(
                "Did not receive the echo(es) within {secs} seconds ({} of {count} arrived).",
                e.matched
            ),
        ),
    }
}

/// 12.x/13.x, Autobahn's `case12_x_x.py`, once compression was negotiated
/// (else UNIMPLEMENTED, in `judge`): OK once `count` echoes equal to what was sent arrived,
/// FAILED at the first that differs (type, then length, then SHA-1, with
/// Autobahn's texts) or when the case's `closeAfter` ended it first.
fn judge_compressed(
    outcome: &Outcome,
    (count, binary, len): (u32, bool, u64),
    secs: u64,
) -> (Behavior, String) {
    let e = outcome.echoes.clone().unwrap_or_default();
    let py = |b: bool| if b { "True" } else { "False" };
    match (e.mismatch, e.sha1_mismatch) {
        (Some((got_binary, _)), _) if got_binary != binary => (
            Behavior::Failed,
            format!(
                "Echo'ed message type differs from what I sent (got binary {}, expected binary {}).",
                py(got_binary),
                py(binary)
            ),
        ),
        (Some((_, got_len)), _) => (
            Behavior::Failed,
            format!("Echo'ed message length differs from what I sent (got length {got_len}, expected length {len})."),
        ),
        (None, Some((sent, got))) => (
            Behavior::Failed,
            format!("Echo'ed message contents differs from what I sent (got SHA1 {got}, expected SHA1 {sent})."),
        ),
        (None, None) if e.matched >= count => (Behavior::Ok, "Ok, received all echo'ed messages in time.".into()),
        // The peer's message broke a rule (e.g. a back-reference beyond
        // the negotiated window, RFC 7692 §7.1.2): say which, not "timeout".
        (None, None) if outcome.failed_by_me => (
            Behavior::Failed,
            format!(
                "The harness failed the connection after {} of {count} echoes: {}",
                e.matched,
                outcome
                    .local_close
                    .as_ref()
                    .map_or(String::new(), |c| String::from_utf8_lossy(&c.reason).into_owned())
            ),
        ),
        (None, None) => (
            Behavior::Failed,
            format!("Case did not finish within {secs} seconds."),
        ),
    }
}

/// A message inflating to `inflated` bytes (the `pmd.*.decompression-bomb`
/// cases; why each verdict: `cases/src/families/pmd.rs`). RFC 6455 §10.4:
/// an implementation "MUST protect" itself against exceeding its limits;
/// §7.4.1: 1009 is the code for "a message that is too big for it to
/// process", 1008 and 1011 generic ones.
fn judge_too_big(outcome: &Outcome, inflated: u64, secs: u64) -> (Behavior, String) {
    let data_frames: u64 = [Opcode::TEXT, Opcode::BINARY, Opcode::CONTINUATION]
        .iter()
        .filter_map(|op| outcome.rx_frame_stats.get(op))
        .sum();
    let harness_reason = || {
        outcome
            .local_close
            .as_ref()
            .map_or(String::new(), |c| String::from_utf8_lossy(&c.reason).into_owned())
    };
    let mib = inflated >> 20;
    if data_frames > 0 {
        let stop = if outcome.failed_by_me {
            format!(" The harness stopped it: {}", harness_reason())
        } else {
            String::new()
        };
        return (
            Behavior::Failed,
            format!(
                "The peer sent {data_frames} data frame(s) after a message that inflates to {mib} MiB: it inflated the message instead of refusing it (RFC 6455 §10.4, §7.4.1: 1009).{stop}"
            ),
        );
    }
    if outcome.closed_by_me {
        return (
            Behavior::Failed,
            if outcome.failed_by_me {
                format!("The harness failed the connection: {}", harness_reason())
            } else {
                format!("No answer within {secs} seconds: the peer neither refused the {mib} MiB message (1009) nor echoed it; without a limit it may still be inflating it.")
            },
        );
    }
    match outcome.remote_close.as_ref().and_then(|c| c.code) {
        Some(CloseCode::MESSAGE_TOO_BIG) => (
            Behavior::Ok,
            format!("The peer refused the {mib} MiB message with 1009 (message too big)."),
        ),
        Some(code @ (CloseCode::POLICY_VIOLATION | CloseCode::INTERNAL_ERROR)) => (
            Behavior::NonStrict,
            format!("The peer refused the {mib} MiB message with {code}, a generic code: RFC 6455 §7.4.1 has 1009 for a message too big to process."),
        ),
        Some(code) => (
            Behavior::Failed,
            format!("The peer closed with {code} after a valid message that inflates to {mib} MiB: the code should say it is too big (1009, RFC 6455 §7.4.1)."),
        ),
        None => (
            Behavior::NonStrict,
            format!("The peer closed the connection without a close code after a {mib} MiB message: it refused it without saying why (1009), or died inflating it; the harness cannot tell which."),
        ),
    }
}

fn kind(binary: bool) -> &'static str {
    if binary {
        "binary"
    } else {
        "text"
    }
}

/// The verdict on what a peer did with an opening handshake that is the
/// whole test (`hs.*` cases, RFC 6455 §4).
fn judge_handshake(expect: Option<&HandshakeExpect>, answer: &HandshakeAnswer) -> (Behavior, String) {
    use HandshakeAnswer as A;
    use HandshakeExpect as E;
    let failed_client = |what: String| {
        (
            Behavior::Failed,
            format!("The client accepted the invalid response: {what}."),
        )
    };
    match (expect, answer) {
        (_, A::NotHttp { why }) => (
            Behavior::Failed,
            format!("The server's answer is not a valid HTTP response ({why})."),
        ),
        (Some(E::Either), A::Upgraded) => (Behavior::Informational, "The server accepted the upgrade.".into()),
        (Some(E::Either), A::Refused { response }) => {
            (Behavior::Informational, format!("The server answered {}.", response.status))
        }
        (Some(E::Either), A::NoAnswer) => (
            Behavior::Informational,
            "The server closed the connection without an answer.".into(),
        ),
        (Some(E::Reject { .. }), A::Upgraded) => (
            Behavior::Failed,
            "The server accepted (101) a request it must refuse.".into(),
        ),
        (Some(E::Reject { .. }), A::NoAnswer) => (
            Behavior::Failed,
            "The server closed the connection without an HTTP answer (RFC 6455 §4.2.1: it MUST return an error code)."
                .into(),
        ),
        (Some(E::Reject { ok, with_header }), A::Refused { response: r }) => {
            let header_ok = with_header
                .as_ref()
                .is_none_or(|(name, value)| r.headers.has_token(name, value));
            if ok.contains(&r.status) && header_ok {
                (Behavior::Ok, format!("The server refused with {}.", r.status))
            } else if (400..500).contains(&r.status) {
                let missing = with_header
                    .as_ref()
                    .filter(|_| !header_ok)
                    .map(|(n, v)| format!(" without {n}: {v}"))
                    .unwrap_or_default();
                (
                    Behavior::NonStrict,
                    format!("The server refused with {}{missing}; {ok:?} is asked for.", r.status),
                )
            } else {
                (
                    Behavior::Failed,
                    format!("The server answered {} to a request it must refuse with {ok:?}.", r.status),
                )
            }
        }
        (_, A::ClientClosed) => (Behavior::Ok, "The client closed the connection.".into()),
        (_, A::ClientSent { opcode: Opcode::CLOSE }) => (
            Behavior::Ok,
            "The client failed the connection with a close frame.".into(),
        ),
        (_, A::ClientSent { opcode }) => failed_client(format!("it sent a {opcode} frame")),
        (_, A::ClientKeptOpen { ms }) => failed_client(format!("it kept the connection open for {ms} ms")),
        (_, A::KeyRepeated) => (
            Behavior::Failed,
            "The client repeated a Sec-WebSocket-Key in this run, on this connection or another one of the same agent (RFC 6455 §4.1: a new random nonce for each connection).".into(),
        ),
        (_, A::NoEarlierKey) => (
            Behavior::Informational,
            "This was the client's first connection: there was no earlier key to compare with.".into(),
        ),
        (_, answer) => (
            Behavior::Failed,
            format!("The handshake answer {answer:?} does not fit this case."),
        ),
    }
}

fn close_after_secs(case: &Case) -> u64 {
    case.steps
        .iter()
        .find_map(|s| match s {
            wsconform_cases::Step::CloseAfter { ms } => Some(ms / 1000),
            _ => None,
        })
        .unwrap_or(0)
}

/// Autobahn 7.1.6's result text: did the close overtake the messages?
fn informational_result(outcome: &Outcome) -> String {
    let messages = outcome
        .received
        .iter()
        .filter(|e| matches!(e, Observed::Message { .. }))
        .count();
    format!(
        "Informational only: {messages} message(s) received before the connection closed; the peer's close code was {}.",
        outcome
            .remote_close
            .as_ref()
            .and_then(|c| c.code)
            .map_or("none".to_string(), |c| c.to_string())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::CloseFrame;

    /// `pmd.server.decompression-bomb` judged on an outcome with the
    /// negotiation done, changed by `react`.
    fn bomb_verdict(react: impl FnOnce(&mut Outcome)) -> Verdict {
        negotiated_verdict("pmd.server.decompression-bomb", react)
    }

    /// Case `id` judged on an outcome with permessage-deflate negotiated,
    /// changed by `react`.
    fn negotiated_verdict(id: &str, react: impl FnOnce(&mut Outcome)) -> Verdict {
        opened_verdict(id, |outcome| {
            outcome.deflate = Some(crate::record::DeflateFacts {
                response: "permessage-deflate".into(),
                params: Default::default(),
                response_breaks: None,
            });
            react(outcome);
        })
    }

    /// Case `id` judged on an outcome with the opening handshake done,
    /// changed by `react`.
    fn opened_verdict(id: &str, react: impl FnOnce(&mut Outcome)) -> Verdict {
        let case = wsconform_cases::catalog()
            .into_iter()
            .find(|c| c.id == id)
            .expect("in the catalog");
        let mut outcome = Outcome::new(std::time::SystemTime::now());
        outcome.handshake_completed = true;
        react(&mut outcome);
        judge(&case, &outcome, &Expectations::of(&case), Role::Client)
    }

    fn peer_closes(code: Option<u16>) -> impl FnOnce(&mut Outcome) {
        move |o| {
            o.was_clean = code.is_some();
            o.remote_close = code.map(|c| CloseFrame {
                code: Some(CloseCode(c)),
                reason: Vec::new(),
            });
        }
    }

    #[test]
    fn the_bomb_verdicts_follow_the_close_code_and_any_echo() {
        let pair = |v: Verdict| (v.behavior, v.behavior_close);
        use {Behavior as B, BehaviorClose as C};
        assert_eq!(pair(bomb_verdict(peer_closes(Some(1009)))), (B::Ok, C::Ok));
        assert_eq!(pair(bomb_verdict(peer_closes(Some(1008)))), (B::NonStrict, C::Ok));
        assert_eq!(pair(bomb_verdict(peer_closes(Some(1011)))), (B::NonStrict, C::Ok));
        // A dropped connection: refused without a code, or died.
        assert_eq!(pair(bomb_verdict(peer_closes(None))), (B::NonStrict, C::Ok));
        // The message is valid: 1002 or 1007 misreport it.
        for code in [1002, 1007, 1000] {
            assert_eq!(
                pair(bomb_verdict(peer_closes(Some(code)))),
                (B::Failed, C::WrongCode),
                "{code}"
            );
        }
        // An echo under way, stopped by the harness's own cap.
        let echo = bomb_verdict(|o| {
            o.rx_frame_stats.insert(Opcode::BINARY, 1);
            o.closed_by_me = true;
            o.failed_by_me = true;
            o.local_close = Some(CloseFrame {
                code: Some(CloseCode::MESSAGE_TOO_BIG),
                reason: b"message inflates to more than 67108864 bytes".to_vec(),
            });
        });
        assert_eq!(pair(echo.clone()), (B::Failed, C::Failed));
        assert!(echo.result.contains("1 data frame(s)"), "{}", echo.result);
        // No answer: the harness's closeAfter ended the case.
        let silent = bomb_verdict(|o| o.closed_by_me = true);
        assert_eq!(pair(silent.clone()), (B::Failed, C::Failed));
        assert!(silent.result.contains("within 10 seconds"), "{}", silent.result);
    }

    /// D13: the harness failed the connection with 1007 because the peer's
    /// compressed message did not inflate; the peer echoed that code. The
    /// close is FAILED, as under Autobahn (whose zlib raises and drops the
    /// connection), not WRONG CODE for the echo; any other 1007 echo (e.g.
    /// invalid UTF-8 after inflating) is still WRONG CODE.
    #[test]
    fn an_echo_that_does_not_inflate_fails_the_close_as_autobahn() {
        let pair = |v: &Verdict| (v.behavior, v.behavior_close);
        use {Behavior as B, BehaviorClose as C};
        let failed_for = |inflate_failed: Option<&'static str>| {
            move |o: &mut Outcome| {
                o.closed_by_me = true;
                o.failed_by_me = true;
                o.was_clean = true;
                o.local_close = Some(CloseFrame {
                    code: Some(CloseCode::INVALID_PAYLOAD),
                    reason: b"compressed message from the peer".to_vec(),
                });
                o.remote_close = Some(CloseFrame {
                    code: Some(CloseCode::INVALID_PAYLOAD),
                    reason: Vec::new(),
                });
                o.inflate_failed = inflate_failed.map(str::to_string);
            }
        };
        for id in ["13.2.1", "12.1.1", "pmd.client.no-context-takeover-honoured"] {
            let v = negotiated_verdict(id, failed_for(Some("a distance too far back")));
            assert_eq!(pair(&v), (B::Failed, C::Failed), "{id}");
            assert!(
                v.result_close.contains("a distance too far back"),
                "{}",
                v.result_close
            );
            let utf8 = negotiated_verdict(id, failed_for(None));
            assert_eq!(pair(&utf8), (B::Failed, C::WrongCode), "{id}");
        }
        // Not negotiated: UNIMPLEMENTED, the fact does not apply.
        let v = opened_verdict("13.2.1", |o| {
            o.closed_by_me = true;
            o.was_clean = true;
            o.inflate_failed = Some("x".into());
        });
        assert_eq!(pair(&v), (B::Unimplemented, C::Ok));
    }
}
