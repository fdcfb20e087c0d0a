//! A decompression bomb: one compressed message (RFC 7692 §7.2.1) that
//! inflates to a run of zero bytes about 1032 times its size, the most
//! DEFLATE can expand (RFC 1951 §3.2.5: a match copies at most 258 bytes, and
//! the shortest codes are 1 bit each for its length and its distance).
//!
//! Built by hand rather than by zlib: one dynamic-Huffman block (RFC 1951
//! §3.2.7) whose only codes are the literal 0, end-of-block and the match
//! "258 bytes, 1 back", the match's length and distance codes 1 bit each
//! (both `0`). After the block header, the literal and two matches, every
//! further four matches are one zero byte, so the message is a short head, a
//! run of zero bytes and a two-byte end: a 256 MiB bomb is described by three
//! numbers and costs nothing to generate (zlib's output for zeros is close
//! but restarts a block every 16 K symbols, and compressing 256 MiB takes
//! seconds).

/// The compressed message, RFC 7692's `00 00 ff ff` removed (§7.2.1): its
/// bytes are `head`, then `zeros` zero bytes, then `end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bomb {
    pub head: Vec<u8>,
    pub zeros: u64,
    pub end: Vec<u8>,
    /// What the message inflates to: this many zero bytes.
    pub inflated: u64,
}

/// Bytes one match copies: the longest length, code 285 (RFC 1951 §3.2.5).
const MATCH: u64 = 258;
/// Matches per zero byte of the run: each is two 1-bit codes, `0` and `0`.
const MATCHES_PER_BYTE: u64 = 4;

/// DEFLATE's bit order (RFC 1951 §3.1.1): values from their least
/// significant bit, Huffman codes from their most significant.
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    used: u32,
}

impl Bits {
    fn bit(&mut self, b: u32) {
        if self.used & 7 == 0 {
            self.out.push(0);
        }
        if b & 1 == 1 {
            if let Some(last) = self.out.last_mut() {
                *last |= 1 << (self.used % 8);
            }
        }
        self.used += 1;
    }

    fn value(&mut self, v: u32, n: u32) {
        (0..n).for_each(|i| self.bit(v >> i));
    }

    fn code(&mut self, c: u32, n: u32) {
        (0..n).rev().for_each(|i| self.bit(c >> i));
    }
}

/// Code-length alphabet (RFC 1951 §3.2.7), canonical codes from the lengths
/// below: 18 → `0`, 1 → `10`, 2 → `11`.
const CL_18: (u32, u32) = (0b0, 1);
const CL_1: (u32, u32) = (0b10, 2);
const CL_2: (u32, u32) = (0b11, 2);
/// Literal/length codes: 285 → `0` (1 bit), literal 0 → `10`, 256 → `11`.
const LITERAL_0: (u32, u32) = (0b10, 2);
const END_OF_BLOCK: (u32, u32) = (0b11, 2);
/// A match: length code 285 (`0`), then distance code 0, 1 back (`0`).
const MATCH_BITS: (u32, u32) = (0b00, 2);

/// The code-length code lengths in the order RFC 1951 §3.2.7 stores them.
const CL_ORDER: [u32; 19] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/// `n` zero code lengths with code 18 (11 to 138 of them, 7 extra bits).
fn zero_lengths(bits: &mut Bits, mut n: u32) {
    while n > 0 {
        let run = n.min(138);
        debug_assert!(run >= 11, "runs of 11 or more only");
        bits.code(CL_18.0, CL_18.1);
        bits.value(run - 11, 7);
        n -= run;
    }
}

/// A message that inflates to at least `at_least` zero bytes (rounded up to
/// a literal plus whole 258-byte matches, [`Bomb::inflated`]) and at least
/// the literal and the two matches of its head.
pub fn bomb(at_least: u64) -> Bomb {
    let mut bits = Bits::default();
    // Block header: BFINAL 0 (a sync flush follows, §7.2.1), BTYPE 10.
    bits.value(0, 1);
    bits.value(2, 2);
    bits.value(286 - 257, 5); // HLIT: codes 0..=285
    bits.value(0, 5); // HDIST: one distance code
                      // HCLEN: all 19, which makes the head end on a byte boundary.
    bits.value(19 - 4, 4);
    for sym in CL_ORDER {
        let len = match sym {
            18 => CL_18.1,
            1 => CL_1.1,
            2 => CL_2.1,
            _ => 0,
        };
        bits.value(len, 3);
    }
    // Literal/length code lengths: 0 → 2, 1..=255 → 0, 256 → 2,
    // 257..=284 → 0, 285 → 1; then distance code 0 → 1 (a single distance
    // code is one bit, RFC 1951 §3.2.7).
    bits.code(CL_2.0, CL_2.1);
    zero_lengths(&mut bits, 255);
    bits.code(CL_2.0, CL_2.1);
    zero_lengths(&mut bits, 28);
    bits.code(CL_1.0, CL_1.1);
    bits.code(CL_1.0, CL_1.1);
    // The data: one zero byte, then copies of what is 1 byte back.
    bits.code(LITERAL_0.0, LITERAL_0.1);
    let matches = at_least.saturating_sub(1).div_ceil(MATCH).max(2);
    let mut head_matches = 0;
    while bits.used & 7 != 0 {
        bits.code(MATCH_BITS.0, MATCH_BITS.1);
        head_matches += 1;
    }
    let head = std::mem::take(&mut bits.out);
    let rest = matches.saturating_sub(head_matches);
    let zeros = rest / MATCHES_PER_BYTE;
    let mut end = Bits::default();
    for _ in 0..rest % MATCHES_PER_BYTE {
        end.code(MATCH_BITS.0, MATCH_BITS.1);
    }
    end.code(END_OF_BLOCK.0, END_OF_BLOCK.1);
    // The sync flush's empty stored block starts here: BFINAL 0, BTYPE 00,
    // padding to the byte boundary; its LEN/NLEN are the removed tail.
    end.value(0, 3);
    Bomb {
        head,
        zeros,
        end: end.out,
        inflated: 1 + MATCH * (head_matches + zeros * MATCHES_PER_BYTE + rest % MATCHES_PER_BYTE),
    }
}

impl Bomb {
    /// The compressed length.
    pub fn len(&self) -> u64 {
        self.head.len() as u64 + self.zeros + self.end.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deflate::{Decompressor, DirectionParams, InflateError, WindowBits};
    use crate::testkit::Puff;

    fn bytes(b: &Bomb) -> Vec<u8> {
        let zeros = usize::try_from(b.zeros).expect("small bomb");
        [b.head.as_slice(), &vec![0; zeros], &b.end].concat()
    }

    #[test]
    fn small_bombs_inflate_to_exactly_their_zeros_in_zlib_and_puff() {
        for at_least in [0, 1, 259, 1000, 5000, 1 << 20, (1 << 20) + 777] {
            let b = bomb(at_least);
            assert!(b.inflated >= at_least.max(1 + 2 * MATCH), "{at_least}");
            assert!(b.inflated < at_least.max(1 + 2 * MATCH) + MATCH, "{at_least}");
            let message = bytes(&b);
            // The narrowest window and no context takeover: a bomb is valid
            // whatever was negotiated.
            let params = DirectionParams {
                no_context_takeover: true,
                max_window_bits: WindowBits::MIN,
            };
            let out = Decompressor::new(params, 4 << 20)
                .decompress(&message)
                .expect("inflates");
            assert_eq!(out.len() as u64, b.inflated, "{at_least}");
            assert!(out.iter().all(|&x| x == 0));
            let puffed = Puff::default().message(&message, true).expect("puff");
            assert_eq!(puffed, out);
        }
    }

    #[test]
    fn a_256_mib_bomb_is_a_quarter_mib_and_stops_at_a_cap() {
        let b = bomb(256 << 20);
        assert!(b.inflated >= 256 << 20);
        assert_eq!(b.head.len(), 14);
        assert!(b.len() < 260 * 1024, "{}", b.len());
        let mut d = Decompressor::new(DirectionParams::default(), 1 << 20);
        let err = d.decompress(&bytes(&b)).expect_err("over the cap");
        assert_eq!(err, InflateError::TooLarge { cap: 1 << 20 });
    }
}
