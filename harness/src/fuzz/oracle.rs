//! The RFC oracle as the harness uses it: the model and the check live in
//! `wsconform_oracle` (no I/O); here an engine's [`Outcome`] becomes the
//! oracle's [`Reaction`], the engine learns when an open script is done,
//! and a finding becomes a catalog verdict (`Judge::Rfc`).

use wsconform_cases::{Behavior, BehaviorClose, Case};
use wsconform_wire::{Opcode, Role};

pub use wsconform_oracle::check::Reaction;
use wsconform_oracle::check::{Digest as OracleDigest, Timers};
pub use wsconform_oracle::model::{End, Model};

use crate::record::{Digest, Observed, Outcome, WireEntry};
use crate::verdict::Verdict;

use super::Finding;

fn same(d: &Digest, bytes: &[u8]) -> bool {
    let want = Digest::of_bytes(bytes);
    d.len == want.len && d.sha1 == want.sha1
}

fn timer_fired(outcome: &Outcome, name: &str) -> bool {
    outcome
        .wirelog
        .iter()
        .any(|e| matches!(e, WireEntry::TimerFired { timer, .. } if *timer == name))
}

/// Whether a script that ends open has had every reaction it is owed
/// (every echo, the last ping's pong): the harness then closes. `harness`
/// is the harness's role.
pub fn done(case: &Case, harness: Role, received: &[Observed]) -> bool {
    let model = Model::of(&case.steps, harness);
    if model.end != End::Open {
        return false;
    }
    let messages = received
        .iter()
        .filter(|o| matches!(o, Observed::Message { .. }))
        .count();
    let ponged = model.pings.last().is_none_or(|last| {
        received
            .iter()
            .any(|o| matches!(o, Observed::Pong { payload } if same(payload, last)))
    });
    messages >= model.messages.len() && ponged
}

/// What the engine saw, as the oracle reads it.
pub fn reaction(outcome: &Outcome) -> Reaction {
    let digest = |d: &Digest| OracleDigest {
        len: d.len,
        sha1: d.sha1,
    };
    Reaction {
        no_connection: (!outcome.handshake_completed)
            .then(|| outcome.setup_error.clone().unwrap_or_default()),
        // The engine failed the connection for a reason of its own: the
        // peer's bytes broke a rule (its note says which).
        invalid_frame: outcome.failed_by_me.then(|| {
            outcome
                .wirelog
                .iter()
                .find_map(|e| match e {
                    // The budget's own note says nothing about the peer.
                    WireEntry::Note { text, .. } if !text.starts_with(crate::engine::BUDGET_NOTE) => {
                        Some(text.clone())
                    }
                    _ => None,
                })
                .unwrap_or_else(|| "the peer's frames broke a rule".into())
        }),
        messages: outcome
            .received
            .iter()
            .filter_map(|o| match o {
                Observed::Message { binary, payload } => Some((*binary, digest(payload))),
                _ => None,
            })
            .collect(),
        pongs: outcome
            .received
            .iter()
            .filter_map(|o| match o {
                Observed::Pong { payload } => Some(digest(payload)),
                _ => None,
            })
            .collect(),
        data_after_close: data_after_close(outcome),
        close: outcome.remote_close.as_ref().map(|c| c.code),
        timers: Timers {
            kill: timer_fired(outcome, "kill"),
            close: timer_fired(outcome, "close"),
            close_handshake: outcome.was_close_handshake_timeout,
            deadline: outcome.hit_deadline,
        },
    }
}

/// Whether what the peer did is allowed for `case`'s steps; the first
/// rule it broke otherwise. `harness` is the harness's role.
pub fn check(case: &Case, outcome: &Outcome, harness: Role) -> Option<Finding> {
    let model = Model::of(&case.steps, harness);
    check_model(&model, outcome)
}

/// [`check`] with the model already built.
pub fn check_model(model: &Model, outcome: &Outcome) -> Option<Finding> {
    wsconform_oracle::check::check(model, &reaction(outcome))
}

/// The opcode name of the first data frame the peer sent after its close.
fn data_after_close(outcome: &Outcome) -> Option<String> {
    let mut closed = false;
    for e in &outcome.wirelog {
        if let WireEntry::RxFrame { opcode, .. } = e {
            if closed && !opcode.is_control() {
                return Some(opcode.name().unwrap_or("reserved").to_string());
            }
            closed |= *opcode == Opcode::CLOSE;
        }
    }
    None
}

/// The catalog verdict of a `Judge::Rfc` case: OK when the oracle finds
/// nothing, NON-STRICT for a lax but allowed reaction
/// (`FindingClass::is_non_strict`), FAILED with the finding otherwise.
pub fn verdict(case: &Case, outcome: &Outcome, harness: Role) -> Verdict {
    match check(case, outcome, harness) {
        None => Verdict {
            behavior: Behavior::Ok,
            behavior_close: BehaviorClose::Ok,
            result: "The peer's reactions are among those RFC 6455 allows for this script.".into(),
            result_close: "Connection was properly closed".into(),
        },
        Some(f) if f.class.is_non_strict() => Verdict {
            behavior: Behavior::NonStrict,
            behavior_close: BehaviorClose::Ok,
            result: f.to_string(),
            result_close: "Connection was properly closed".into(),
        },
        Some(f) => Verdict {
            behavior: Behavior::Failed,
            behavior_close: if f.class.is_close() {
                BehaviorClose::Failed
            } else {
                BehaviorClose::Ok
            },
            result: f.to_string(),
            result_close: if f.class.is_close() {
                f.to_string()
            } else {
                "See the behavior result.".into()
            },
        },
    }
}
