//! Short constructors that the family tables use to state cases compactly.

use std::collections::BTreeMap;

use crate::model::{
    Behavior, Case, Event, ExpectedClose, FrameSpec, Judge, Requirement, RfcRef, Step, Write,
};
use crate::payload::Payload;
use wsconform_wire::Opcode;

pub fn text(p: &str) -> FrameSpec {
    FrameSpec::new(Opcode::TEXT, Payload::text(p))
}

pub fn binary(p: &[u8]) -> FrameSpec {
    FrameSpec::new(Opcode::BINARY, Payload::bytes(p))
}

pub fn cont(p: &str) -> FrameSpec {
    FrameSpec::new(Opcode::CONTINUATION, Payload::text(p))
}

pub fn ping(p: &[u8]) -> FrameSpec {
    FrameSpec::new(Opcode::PING, Payload::bytes(p))
}

pub fn pong(p: &[u8]) -> FrameSpec {
    FrameSpec::new(Opcode::PONG, Payload::bytes(p))
}

pub fn got_text(p: &str) -> Event {
    Event::Message {
        payload: Payload::text(p),
        binary: false,
    }
}

pub fn got_message(payload: Payload, binary: bool) -> Event {
    Event::Message { payload, binary }
}

pub fn got_pong(p: &[u8]) -> Event {
    Event::Pong {
        payload: Payload::bytes(p),
    }
}

pub fn got_timeout(tag: &str) -> Event {
    Event::Timeout { tag: tag.into() }
}

pub fn rfc(section: &str, level: Requirement) -> RfcRef {
    RfcRef {
        section: section.into(),
        level,
    }
}

/// Starts a case whose default expectation is "nothing received, the harness
/// closes cleanly with 1000"; the builder methods change what differs.
pub fn case(id: impl Into<String>, description: impl Into<String>, rfc: RfcRef) -> Case {
    let mut expected = BTreeMap::new();
    expected.insert(Behavior::Ok, Vec::new());
    Case {
        id: id.into(),
        description: description.into(),
        expectation: String::new(),
        rfc,
        steps: Vec::new(),
        expected,
        expected_close: ExpectedClose::clean_by_me(),
        judge: Judge::Events,
        expected_tx_frames: None,
        notes: Vec::new(),
        handshake: None,
        peer: None,
        deflate: None,
    }
}

impl Case {
    pub fn expect(mut self, expectation: impl Into<String>) -> Case {
        self.expectation = expectation.into();
        self
    }

    pub fn send(self, frame: FrameSpec) -> Case {
        self.send_as(frame, Write::Whole)
    }

    pub fn send_as(mut self, frame: FrameSpec, write: Write) -> Case {
        self.steps.push(Step::Frame { frame, write });
        self
    }

    /// Sends every frame of `frames` the same way.
    pub fn send_all(self, frames: impl IntoIterator<Item = FrameSpec>, write: Write) -> Case {
        frames.into_iter().fold(self, |c, f| c.send_as(f, write))
    }

    pub fn step(mut self, step: Step) -> Case {
        self.steps.push(step);
        self
    }

    pub fn kill_after(self, ms: u64) -> Case {
        self.step(Step::KillAfter { ms })
    }

    pub fn close_after(self, ms: u64) -> Case {
        self.step(Step::CloseAfter { ms })
    }

    pub fn close_with(self, code: Option<u16>, reason: Payload) -> Case {
        self.step(Step::Close { code, reason })
    }

    pub fn ok(mut self, events: Vec<Event>) -> Case {
        self.expected.insert(Behavior::Ok, events);
        self
    }

    pub fn non_strict(mut self, events: Vec<Event>) -> Case {
        self.expected.insert(Behavior::NonStrict, events);
        self
    }

    pub fn closing(mut self, close: ExpectedClose) -> Case {
        self.expected_close = close;
        self
    }

    /// The peer must fail the connection with `code`.
    pub fn peer_fails(self, code: u16) -> Case {
        self.closing(ExpectedClose::peer_fails(code))
    }

    /// The peer must fail with `code`; if it does not, `behavior` fails too.
    pub fn peer_must_fail(mut self, code: u16) -> Case {
        self.expected_close = ExpectedClose::peer_fails(code);
        self.expected_close.wrong_closer_fatal = true;
        self
    }

    pub fn judged_by(mut self, judge: Judge) -> Case {
        self.judge = judge;
        self
    }

    pub fn shake(mut self, handshake: crate::model::Handshake) -> Case {
        self.handshake = Some(handshake);
        self
    }

    /// The case tests only implementations of this role.
    pub fn for_peer(mut self, role: wsconform_wire::Role) -> Case {
        self.peer = Some(role);
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Case {
        self.notes.push(note.into());
        self
    }
}
