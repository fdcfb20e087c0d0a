//! Generated frame scripts and the RFC oracle, with no I/O: the part of
//! `wsconform fuzz` that a Rust implementation can also run in-process
//! under cargo-fuzz (feature `inprocess`, module `memory`), with coverage
//! feedback and without sockets.
//!
//! - [`generate`]: structure-aware scripts of frames from a seed (or, with
//!   `inprocess`, from a fuzzer's bytes).
//! - [`model`]: from a script alone, what RFC 6455 lets the peer do.
//! - [`check`]: whether what the peer did ([`check::Reaction`]) is allowed,
//!   as a classified [`Finding`] when it is not.
//!
//! Data flows wire → cases → oracle → harness: the harness observes a
//! reaction over TCP, `memory` over an in-memory stream; both ask
//! [`check::check`].

pub mod check;
pub mod generate;
#[cfg(feature = "inprocess")]
pub mod memory;
pub mod model;

use std::fmt;

use serde::{Deserialize, Serialize};

/// What kind of rule a peer's reaction broke; minimization keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingClass {
    /// No WebSocket connection: refused, no valid 101, or the peer died.
    NoConnection,
    /// The peer's own frames broke a rule (masking, RSV, lengths, UTF-8,
    /// close payload): the engine's strict decoder failed the connection.
    InvalidFrame,
    /// The script broke a MUST and the peer went on as if it had not.
    AcceptedViolation,
    /// The peer closed with a code the RFC does not allow here.
    WrongCloseCode,
    /// An echo differs from the message sent.
    CorruptedEcho,
    /// A message came back that was never sent before the end.
    UnexpectedMessage,
    /// A data frame after the peer's own close frame.
    FrameAfterClose,
    /// The peer closed TCP without the closing handshake where it was due.
    UncleanClose,
    /// Messages sent in a clean script were not all echoed.
    MissingEcho,
    /// The last ping was not answered.
    MissingPong,
    /// The peer did not react within the case's timers.
    Hang,
    /// NON-STRICT, not a violation: the peer answered a ping sent after a
    /// text message that is not UTF-8, then failed the connection with 1007
    /// as it should. It checks UTF-8 later than the frame that broke it
    /// (RFC 6455 §8.1 fixes no point), the lateness Autobahn grades
    /// NON-STRICT in its 6.4.x cases. Reported apart; never a finding that
    /// fails a run.
    LateUtf8Check,
    /// The client process under test ended before its run was over
    /// (`--spawn`, or the reference client's driver stopped): the script it
    /// was running is the reproducer.
    Crash,
}

impl FindingClass {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingClass::NoConnection => "no-connection",
            FindingClass::InvalidFrame => "invalid-frame",
            FindingClass::AcceptedViolation => "accepted-violation",
            FindingClass::WrongCloseCode => "wrong-close-code",
            FindingClass::CorruptedEcho => "corrupted-echo",
            FindingClass::UnexpectedMessage => "unexpected-message",
            FindingClass::FrameAfterClose => "frame-after-close",
            FindingClass::UncleanClose => "unclean-close",
            FindingClass::MissingEcho => "missing-echo",
            FindingClass::MissingPong => "missing-pong",
            FindingClass::Hang => "hang",
            FindingClass::Crash => "crash",
            FindingClass::LateUtf8Check => "late-utf8-check",
        }
    }

    /// A lax but allowed reading of the RFC (Autobahn's NON-STRICT): shown,
    /// saved with its reproducer, but not counted as a finding.
    pub fn is_non_strict(self) -> bool {
        matches!(self, FindingClass::LateUtf8Check)
    }

    /// Classes about how the connection ended (`behaviorClose`).
    pub fn is_close(self) -> bool {
        matches!(
            self,
            FindingClass::WrongCloseCode
                | FindingClass::UncleanClose
                | FindingClass::Hang
                | FindingClass::NoConnection
                | FindingClass::Crash
        )
    }
}

impl fmt::Display for FindingClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A reaction outside what RFC 6455 allows for a script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub class: FindingClass,
    /// The section whose rule was broken.
    pub section: &'static str,
    pub detail: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.class, self.section, self.detail)
    }
}
