//! Incremental UTF-8 validation (RFC 6455 §8.1, RFC 3629 §4).
//!
//! Text messages arrive in frames and TCP reads that split code points
//! anywhere. An endpoint SHOULD fail the connection as soon as the bytes seen
//! so far can no longer be the prefix of valid UTF-8 (RFC 6455 §8.1 "fail
//! fast"; Autobahn 6.4.x tells this apart from failing at the end of the
//! message). The validator reports that earliest offset, and keeps "the
//! message ended inside a code point" as a separate error.

/// Where validation failed, as offsets into the whole stream fed so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Utf8Error {
    /// The byte at `offset` makes the input impossible to complete as UTF-8.
    #[error("invalid UTF-8 at byte {offset}")]
    Invalid { offset: u64 },
    /// The input ended inside a code point that started at `offset`.
    #[error("UTF-8 sequence starting at byte {offset} is incomplete")]
    Incomplete { offset: u64 },
}

/// DFA states after the bytes seen so far (Unicode 15 Table 3-7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between code points.
    Accept,
    /// Needs `n` more bytes in 80..=BF.
    Tail(u8),
    /// After E0: needs A0..=BF, then one tail byte (no overlongs).
    E0,
    /// After ED: needs 80..=9F, then one tail byte (no surrogates).
    Ed,
    /// After F0: needs 90..=BF, then two tail bytes (no overlongs).
    F0,
    /// After F4: needs 80..=8F, then two tail bytes (nothing above U+10FFFF).
    F4,
    /// A byte was invalid; the validator stays failed.
    Failed(u64),
}

/// Validates a byte stream fed in arbitrary slices.
#[derive(Debug, Clone)]
pub struct Utf8Validator {
    state: State,
    /// Bytes fed so far.
    offset: u64,
    /// Offset of the first byte of the code point in progress.
    seq_start: u64,
}

impl Default for Utf8Validator {
    fn default() -> Self {
        Self::new()
    }
}

impl Utf8Validator {
    pub fn new() -> Utf8Validator {
        Utf8Validator {
            state: State::Accept,
            offset: 0,
            seq_start: 0,
        }
    }

    /// Feeds the next bytes. Fails at the first byte that cannot be part of
    /// valid UTF-8, however the input was split; once failed, stays failed.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<(), Utf8Error> {
        if let State::Failed(offset) = self.state {
            return Err(Utf8Error::Invalid { offset });
        }
        // Finish a code point left open by the previous slice, byte by byte.
        while self.state != State::Accept {
            let Some((&b, rest)) = bytes.split_first() else {
                return Ok(());
            };
            self.step(b)?;
            bytes = rest;
        }
        // Between code points the standard library's validator is the fast
        // path; only the last few bytes (an incomplete or invalid sequence)
        // go through the DFA to find the exact offset.
        match std::str::from_utf8(bytes) {
            Ok(_) => {
                self.offset += bytes.len() as u64;
                Ok(())
            }
            Err(e) => {
                let valid = e.valid_up_to();
                self.offset += valid as u64;
                for &b in &bytes[valid..] {
                    self.step(b)?;
                }
                Ok(())
            }
        }
    }

    /// Checks that the stream ended on a code point boundary.
    pub fn finish(&self) -> Result<(), Utf8Error> {
        match self.state {
            State::Accept => Ok(()),
            State::Failed(offset) => Err(Utf8Error::Invalid { offset }),
            _ => Err(Utf8Error::Incomplete {
                offset: self.seq_start,
            }),
        }
    }

    /// True when the bytes fed so far end on a code point boundary.
    pub fn is_boundary(&self) -> bool {
        self.state == State::Accept
    }

    /// Bytes fed so far.
    pub fn bytes_fed(&self) -> u64 {
        self.offset
    }

    fn step(&mut self, b: u8) -> Result<(), Utf8Error> {
        let next = match self.state {
            State::Accept => {
                self.seq_start = self.offset;
                match b {
                    0x00..=0x7F => Some(State::Accept),
                    0xC2..=0xDF => Some(State::Tail(1)),
                    0xE0 => Some(State::E0),
                    0xE1..=0xEC | 0xEE..=0xEF => Some(State::Tail(2)),
                    0xED => Some(State::Ed),
                    0xF0 => Some(State::F0),
                    0xF1..=0xF3 => Some(State::Tail(3)),
                    0xF4 => Some(State::F4),
                    _ => None,
                }
            }
            State::Tail(n) => match b {
                0x80..=0xBF if n == 1 => Some(State::Accept),
                0x80..=0xBF => Some(State::Tail(n - 1)),
                _ => None,
            },
            State::E0 => matches!(b, 0xA0..=0xBF).then_some(State::Tail(1)),
            State::Ed => matches!(b, 0x80..=0x9F).then_some(State::Tail(1)),
            State::F0 => matches!(b, 0x90..=0xBF).then_some(State::Tail(2)),
            State::F4 => matches!(b, 0x80..=0x8F).then_some(State::Tail(2)),
            State::Failed(offset) => return Err(Utf8Error::Invalid { offset }),
        };
        match next {
            Some(state) => {
                self.state = state;
                self.offset += 1;
                Ok(())
            }
            None => {
                self.state = State::Failed(self.offset);
                Err(Utf8Error::Invalid { offset: self.offset })
            }
        }
    }
}

/// Validates a complete byte string: the offset of the first byte at which it
/// can no longer be valid, or of the incomplete tail.
pub fn validate(bytes: &[u8]) -> Result<(), Utf8Error> {
    let mut v = Utf8Validator::new();
    v.feed(bytes)?;
    v.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_fast_offsets() {
        // Autobahn 6.4.1: κόσμε then U+110000 (f4 90 80 80): invalid at the 0x90.
        let mut v = Utf8Validator::new();
        v.feed(b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5")
            .expect("valid");
        assert_eq!(v.feed(&[0xF4]), Ok(()));
        assert_eq!(v.feed(&[0x90]), Err(Utf8Error::Invalid { offset: 12 }));
        // A surrogate (ed a0 80) is invalid at its second byte.
        assert_eq!(validate(b"ab\xED\xA0\x80"), Err(Utf8Error::Invalid { offset: 3 }));
        assert_eq!(validate(b"\xC0\xAF"), Err(Utf8Error::Invalid { offset: 0 }));
        assert_eq!(validate(b"\xE0\x80\xAF"), Err(Utf8Error::Invalid { offset: 1 }));
        assert_eq!(validate(b"ok\xE2\x82"), Err(Utf8Error::Incomplete { offset: 2 }));
        assert_eq!(validate("hello€world".as_bytes()), Ok(()));
    }

    #[test]
    fn stays_failed() {
        let mut v = Utf8Validator::new();
        assert!(v.feed(b"\xFF").is_err());
        assert_eq!(v.feed(b"a"), Err(Utf8Error::Invalid { offset: 0 }));
        assert_eq!(v.finish(), Err(Utf8Error::Invalid { offset: 0 }));
    }
}
