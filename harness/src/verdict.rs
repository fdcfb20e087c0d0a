//! Verdicts from an [`Outcome`], computed exactly as Autobahn|Testsuite does
//! (reference §6.4), so that results compare case for case.

use serde::Serialize;
use wsconform_cases::{Behavior, BehaviorClose, Case, Event, Judge};

use crate::record::{Digest, Observed, Outcome};

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

/// Computes both verdicts. `harness_is_server` is true when the peer under
/// test is a client.
pub fn judge(
    case: &Case,
    outcome: &Outcome,
    expectations: &Expectations,
    harness_is_server: bool,
) -> Verdict {
    if let Some((behavior, text)) = &outcome.handshake_check {
        // The handshake was the test; no WebSocket connection followed.
        let behavior_close = match behavior {
            Behavior::Failed => BehaviorClose::Failed,
            Behavior::Informational => BehaviorClose::Informational,
            _ => BehaviorClose::Ok,
        };
        return Verdict {
            behavior: *behavior,
            behavior_close,
            result: text.clone(),
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
    let (mut behavior, mut result) = match &case.judge {
        Judge::Events | Judge::EventsWrongCodeFatal => match expectations.matching(&outcome.received) {
            Some(b) => (b, "Actual events match at least one expected.".to_string()),
            None => (
                Behavior::Failed,
                "Actual events differ from any expected.".to_string(),
            ),
        },
        Judge::Informational => (Behavior::Informational, informational_result(outcome)),
        Judge::Echoes { .. } => match &outcome.echo_verdict {
            Some((true, text)) => (Behavior::Ok, text.clone()),
            Some((false, text)) => (Behavior::Failed, text.clone()),
            None => (
                Behavior::Failed,
                format!(
                    "Did not receive the echo(es) within {} seconds.",
                    close_after_secs(case)
                ),
            ),
        },
    };
    let expected_close = &case.expected_close;
    let remote_code = outcome.remote_close.as_ref().and_then(|c| c.code);
    let (mut behavior_close, result_close) = if expected_close.closed_by_me != outcome.closed_by_me {
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
        let codes: Vec<String> = expected_close.close_codes.iter().map(u16::to_string).collect();
        (
            BehaviorClose::WrongCode,
            format!("The close code should have been {} or empty", codes.join(",")),
        )
    } else if !harness_is_server && outcome.dropped_by_me {
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
        behavior = Behavior::Failed;
    }
    if case.judge == Judge::Informational {
        behavior = Behavior::Informational;
        behavior_close = BehaviorClose::Informational;
    }
    if let Some(want) = &case.expected_tx_frames {
        let got: Vec<(u8, u64)> = want
            .keys()
            .map(|op| (*op, outcome.tx_frame_stats.get(op).copied().unwrap_or(0)))
            .collect();
        let want: Vec<(u8, u64)> = want.iter().map(|(k, v)| (*k, *v)).collect();
        if got != want && behavior != Behavior::Failed {
            behavior = Behavior::Failed;
            result = format!("The harness sent frames {got:?} (opcode, count) instead of {want:?}.");
        }
    }
    Verdict {
        behavior,
        behavior_close,
        result,
        result_close,
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
