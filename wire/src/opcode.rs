//! Frame opcodes (RFC 6455 §5.2, §11.8).

use std::fmt;

/// A 4-bit frame opcode. Open: reserved values (3–7, 11–15) are kept as they
/// are so that a harness can send them and report them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[serde(transparent)]
pub struct Opcode(pub u8);

impl Opcode {
    pub const CONTINUATION: Opcode = Opcode(0x0);
    pub const TEXT: Opcode = Opcode(0x1);
    pub const BINARY: Opcode = Opcode(0x2);
    pub const CLOSE: Opcode = Opcode(0x8);
    pub const PING: Opcode = Opcode(0x9);
    pub const PONG: Opcode = Opcode(0xA);

    /// Control frames have the high bit of the opcode set (RFC 6455 §5.5).
    pub fn is_control(self) -> bool {
        self.0 & 0x8 != 0
    }

    /// 0x3–0x7 and 0xB–0xF are reserved for further frames (RFC 6455 §5.2).
    pub fn is_reserved(self) -> bool {
        matches!(self.0 & 0xF, 0x3..=0x7 | 0xB..=0xF)
    }

    /// The registered name, if the opcode has one.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x0 => "continuation",
            0x1 => "text",
            0x2 => "binary",
            0x8 => "close",
            0x9 => "ping",
            0xA => "pong",
            _ => return None,
        })
    }
}

impl fmt::Debug for Opcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "Opcode({})", self.0),
        }
    }
}

impl fmt::Display for Opcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "reserved opcode {}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert!(Opcode::PING.is_control());
        assert!(!Opcode::TEXT.is_control());
        for op in (3..=7).chain(11..=15) {
            assert!(Opcode(op).is_reserved(), "{op}");
        }
        for op in [0, 1, 2, 8, 9, 10] {
            assert!(!Opcode(op).is_reserved(), "{op}");
        }
        assert_eq!(format!("{:?}", Opcode(5)), "Opcode(5)");
        assert_eq!(format!("{:?}", Opcode::PONG), "pong");
    }
}
