//! The sender's LZ77 window, checked: a streaming walk over the DEFLATE
//! tokens (RFC 1951 §3.2) of a peer's compressed messages that verifies
//! every back-reference stays inside the window the peer may use.
//!
//! **Why it exists.** `*_max_window_bits` (RFC 7692 §7.1.2.1, §7.1.2.2)
//! limits how far back the sender's references may reach, so that the
//! receiver can keep a smaller window. zlib does not enforce it when
//! inflating: its "invalid distance too far back" test compares a distance
//! with its window *plus the output written in the current call*, so with a
//! large output buffer a stream inflated at 9 window bits still resolves
//! distances of thousands of bytes, and [`super::codec::Decompressor`]
//! inflates at 15 bits anyway (so that chunking cannot change a verdict).
//! With no context takeover (RFC 7692 §7.1.1.1, §7.1.1.2) the sender must
//! start every message with an empty window, which nothing in zlib checks
//! either. No crate exposes DEFLATE's tokens with their distances (flate2,
//! zlib-rs and miniz_oxide inflate to bytes), so this is a small hand-written
//! decoder of the structure alone.
//!
//! **What it keeps.** Counts, never output: the bytes a reference may reach
//! (output since the stream, or with no context takeover the message,
//! started, at most the window), the bytes output in the current message,
//! the current block's Huffman code tables (fixed-size arrays) and a 64-bit
//! bit buffer. Memory is O(1) whatever the input.
//!
//! **Resumable at any byte.** Each step (a block header field, one code
//! length, a literal, or a whole length/distance pair of at most
//! 15 + 5 + 15 + 13 = 48 bits) is decoded from the bit buffer without
//! consuming it; when the buffer holds too few bits the step waits for the
//! next input. The buffer is refilled to at least 57 bits while input
//! remains, so every step fits: the unconsumed bits between two calls (the
//! carry) are at most 64, and a step never waits while input is left.
//!
//! **Malformed streams.** Every structural error zlib's inflate reports
//! (same conditions, zlib's wording) is reported here too, at the same
//! token: a reserved block type (§3.2.3), stored lengths that do not
//! match (§3.2.4), more than 286 literal/length or 30 distance codes
//! (§3.2.7), over-subscribed or incomplete code sets (zlib allows an
//! incomplete set only of one code, and none for distances), bad repeats,
//! a missing end-of-block code, codes 286/287 and 30/31 (§3.2.6). One zlib
//! quirk is followed on purpose: a code-length code with no codes at all
//! makes zlib read every bit as a zero length, so it reports the missing
//! end-of-block code only once those bits have arrived; doing the same keeps
//! the two in agreement when a message ends before.

use super::negotiate::WindowBits;

/// Codes this long or shorter are decoded with one table look-up.
const FAST_BITS: u32 = 9;

/// Input bits the fast loop keeps in the buffer before each token: a whole
/// length/distance pair (15 + 5 + 15 + 13 bits) fits.
const FAST_STEP_BITS: u32 = 48;
const FAST_MASK: u64 = (1 << FAST_BITS) - 1;

/// The farthest any DEFLATE distance reaches (RFC 1951 §3.2.5).
const MAX_DISTANCE: usize = 32_768;

/// Bits the buffer is refilled beyond, while input remains: more than the
/// largest step (48 bits), so a step never waits while input is left.
const REFILL_BELOW: u32 = 57;

/// Where a walk stopped: at the token that starts after `at` bytes of the
/// current message's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    /// Bytes of the message output before the offending token.
    pub at: u64,
    pub kind: FaultKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// A back-reference reaching further than the sender's window or its
    /// history allows.
    BeyondWindow { distance: usize, available: usize },
    /// Not valid DEFLATE data; zlib's message for the same error.
    Malformed(&'static str),
}

/// A canonical Huffman code (RFC 1951 §3.2.2) as counts per length and
/// symbols in code order, after puff.c: small, and enough for counting.
#[derive(Debug, Clone)]
struct Code<const N: usize> {
    count: [u16; 16],
    symbol: [u16; N],
    /// The longest code's length: longer bit strings are invalid at once,
    /// as in zlib's tables.
    max: u32,
    /// Codes of up to `FAST_BITS` bits by their first `FAST_BITS` input
    /// bits: `(symbol, length)`, length 0 for longer or invalid codes (the
    /// bit-by-bit decode then). Most symbols take one look-up.
    fast: [(u16, u8); 1 << FAST_BITS],
    /// zlib's reading of a code with no symbols at all (see the module doc):
    /// every bit decodes as symbol 0.
    empty_reads_zero: bool,
}

/// Which zlib table a code is (zlib `inflate_table`): their completeness
/// rules differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CodeKind {
    CodeLengths,
    LiteralLengths,
    Distances,
}

enum Decoded {
    Symbol { symbol: u16, bits: u32 },
    NeedBits,
    Invalid,
}

impl<const N: usize> Code<N> {
    const fn empty() -> Code<N> {
        Code {
            count: [0; 16],
            symbol: [0; N],
            max: 0,
            fast: [(0, 0); 1 << FAST_BITS],
            empty_reads_zero: false,
        }
    }

    /// Builds the code from code lengths (RFC 1951 §3.2.2), with zlib's
    /// checks: over-subscribed is an error; incomplete too, except a set of
    /// exactly one code for literal/lengths or distances; no codes at all is
    /// accepted (decoding it fails, or reads zeros: see the module doc).
    fn build(&mut self, lengths: &[u8], kind: CodeKind) -> Result<(), ()> {
        self.count = [0; 16];
        self.fast = [(0, 0); 1 << FAST_BITS];
        for &l in lengths {
            self.count[usize::from(l)] += 1;
        }
        self.count[0] = 0;
        let max = (1..16).rev().find(|&l| self.count[l] != 0).unwrap_or(0);
        self.max = max as u32;
        self.empty_reads_zero = max == 0 && kind == CodeKind::CodeLengths;
        if max == 0 {
            return Ok(());
        }
        let mut left: i32 = 1;
        for l in 1..16 {
            left = (left << 1) - i32::from(self.count[l]);
            if left < 0 {
                return Err(());
            }
        }
        if left > 0 && (kind == CodeKind::CodeLengths || max != 1) {
            return Err(());
        }
        let mut offset = [0u16; 16];
        for l in 1..15 {
            offset[l + 1] = offset[l] + self.count[l];
        }
        // Canonical codes (RFC 1951 §3.2.2), first code of each length.
        let mut next = [0u32; 16];
        let mut code = 0u32;
        for (l, first) in next.iter_mut().enumerate().skip(1) {
            // `count[0]` is 0: no code of length 0.
            code = (code + u32::from(self.count[l - 1])) << 1;
            *first = code;
        }
        for (s, &l) in lengths.iter().enumerate() {
            let l = u32::from(l);
            if l == 0 || l > FAST_BITS {
                continue;
            }
            let c = next[l as usize];
            next[l as usize] += 1;
            // Input bits come first-bit-lowest; codes are sent from their
            // most significant bit (§3.1.1).
            let reversed = c.reverse_bits() >> (32 - l);
            let mut i = reversed as usize;
            while i < 1 << FAST_BITS {
                self.fast[i] = (s as u16, l as u8);
                i += 1 << l;
            }
        }
        for (s, &l) in lengths.iter().enumerate() {
            if l != 0 {
                let o = &mut offset[usize::from(l)];
                // `s` < N: `lengths` is at most N long (callers' arrays).
                self.symbol[usize::from(*o)] = s as u16;
                *o += 1;
            }
        }
        Ok(())
    }

    /// Decodes one symbol from the low `avail` bits of `bits` (first bit
    /// lowest, codes packed from their most significant bit, §3.1.1).
    fn decode(&self, bits: u64, avail: u32) -> Decoded {
        if self.empty_reads_zero {
            return if avail == 0 {
                Decoded::NeedBits
            } else {
                Decoded::Symbol { symbol: 0, bits: 1 }
            };
        }
        let (symbol, len) = self.fast[(bits & ((1 << FAST_BITS) - 1)) as usize];
        if len != 0 {
            // The first `len` bits decide; bits above `avail` are zeros.
            return if u32::from(len) <= avail {
                Decoded::Symbol {
                    symbol,
                    bits: u32::from(len),
                }
            } else {
                Decoded::NeedBits
            };
        }
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16u32 {
            if len > avail {
                return Decoded::NeedBits;
            }
            if len > self.max {
                return Decoded::Invalid;
            }
            code |= ((bits >> (len - 1)) & 1) as i32;
            let count = i32::from(self.count[len as usize]);
            if code - first < count {
                let i = (index + code - first) as usize;
                return Decoded::Symbol {
                    symbol: self.symbol[i],
                    bits: len,
                };
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        Decoded::Invalid
    }
}

/// Where the walk is in the stream (RFC 1951 §3.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// BFINAL and BTYPE of the next block.
    BlockHeader,
    /// LEN and NLEN of a stored block, after skipping to a byte boundary.
    StoredLengths,
    /// A stored block's bytes still to come.
    Stored { remaining: u16 },
    /// HLIT, HDIST, HCLEN of a dynamic block (§3.2.7).
    DynamicCounts,
    /// The code length code's lengths, 3 bits each, in `ORDER`.
    CodeLengthLengths { have: u8 },
    /// The literal/length and distance code lengths.
    CodeLengths { have: u16 },
    /// Literals and length/distance pairs up to the end-of-block code.
    Codes,
    /// A block with BFINAL set ended the stream: the rest of the message is
    /// ignored (RFC 7692 §7.2.3.4), as [`super::codec::Decompressor`] does.
    Ended,
}

/// The order code length code lengths are sent in (RFC 1951 §3.2.7).
const ORDER: [usize; 19] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/// Base lengths and extra bits of length codes 257..=285 (RFC 1951 §3.2.5).
const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195,
    227, 258,
];
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
/// Base distances and extra bits of distance codes 0..=29 (RFC 1951 §3.2.5).
const DISTANCE_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073,
    4097, 6145, 8193, 12289, 16385, 24577,
];
const DISTANCE_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
];

/// The outcome of one step.
enum Step {
    Done,
    NeedBits,
}

/// Reads bits from a copy of the bit buffer without consuming them, so a
/// step that runs out of bits leaves the walk where it was.
struct Peek {
    bits: u64,
    avail: u32,
    used: u32,
}

impl Peek {
    fn take(&mut self, n: u32) -> Option<u32> {
        if self.used + n > self.avail {
            return None;
        }
        let v = if n == 0 {
            0
        } else {
            ((self.bits >> self.used) & ((1u64 << n) - 1)) as u32
        };
        self.used += n;
        Some(v)
    }

    fn symbol<const N: usize>(&mut self, code: &Code<N>) -> Result<Option<u16>, ()> {
        match code.decode(self.bits >> self.used, self.avail - self.used) {
            Decoded::Symbol { symbol, bits } => {
                self.used += bits;
                Ok(Some(symbol))
            }
            Decoded::NeedBits => Ok(None),
            Decoded::Invalid => Err(()),
        }
    }
}

/// Walks one direction's compressed messages and checks their
/// back-references against the sender's window (see the module doc).
#[derive(Debug, Clone)]
pub struct WindowWalker {
    window_bits: WindowBits,
    /// Bytes a back-reference may reach now: output since the stream began
    /// (or the message, see [`WindowWalker::end_message`]), at most the window.
    available: usize,
    /// Bytes output in the current message.
    produced: u64,
    bitbuf: u64,
    bitcount: u32,
    /// The current block has BFINAL set.
    last: bool,
    state: State,
    /// The code tables hold the fixed code (built once, reused).
    fixed: bool,
    code_lengths: Code<19>,
    literal_lengths: Code<288>,
    distances: Code<32>,
    /// HLIT + 257, HDIST + 1, HCLEN + 4 of the dynamic block being read.
    counts: (u16, u16, u8),
    lengths: [u8; 320],
}

impl WindowWalker {
    /// A walker for a sender whose window is `2^window_bits` bytes (8 bits:
    /// 256 bytes, whatever zlib does with 8 on its side).
    pub fn new(window_bits: WindowBits) -> WindowWalker {
        WindowWalker {
            window_bits,
            available: 0,
            produced: 0,
            bitbuf: 0,
            bitcount: 0,
            last: false,
            state: State::BlockHeader,
            fixed: false,
            code_lengths: Code::empty(),
            literal_lengths: Code::empty(),
            distances: Code::empty(),
            counts: (0, 0, 0),
            lengths: [0; 320],
        }
    }

    /// The window in bytes.
    pub fn window(&self) -> usize {
        1 << self.window_bits.get()
    }

    /// A block with BFINAL set has ended the stream in this message.
    pub fn ended(&self) -> bool {
        self.state == State::Ended
    }

    /// Ends the current message. `new_stream`: the next message starts with
    /// an empty window (no context takeover, RFC 7692 §7.1.1.1/§7.1.1.2, or
    /// the stream ended with BFINAL, §7.2.3.4). The bit position carries
    /// over otherwise: a message's data continues the stream mid-byte only
    /// in theory (the tail of §7.2.1 ends on a byte boundary), but zlib
    /// carries it over too.
    pub fn end_message(&mut self, new_stream: bool) {
        self.produced = 0;
        if new_stream || self.state == State::Ended {
            self.reset();
        }
    }

    /// Forgets everything: a new stream starts (also after a fault).
    pub fn reset(&mut self) {
        let bits = self.window_bits;
        let fixed = self.fixed;
        let literal_lengths = std::mem::replace(&mut self.literal_lengths, Code::empty());
        let distances = std::mem::replace(&mut self.distances, Code::empty());
        *self = WindowWalker::new(bits);
        if fixed {
            // Keep the fixed tables: rebuilding them per message costs more
            // than the walk of a small message.
            self.fixed = true;
            self.literal_lengths = literal_lengths;
            self.distances = distances;
        }
    }

    /// Walks the next piece of the current message's compressed bytes.
    /// After a fault the walker must be [`reset`](WindowWalker::reset).
    pub fn walk(&mut self, mut input: &[u8]) -> Result<(), Fault> {
        loop {
            if self.state == State::Ended {
                self.bitbuf = 0;
                self.bitcount = 0;
                return Ok(());
            }
            while self.bitcount < REFILL_BELOW {
                let Some((&b, rest)) = input.split_first() else {
                    break;
                };
                self.bitbuf |= u64::from(b) << self.bitcount;
                self.bitcount += 8;
                input = rest;
            }
            if let State::Stored { remaining } = self.state {
                // Whole bytes: those in the bit buffer (aligned, see
                // StoredLengths), then straight from the input.
                let from_buffer = (self.bitcount / 8).min(u32::from(remaining));
                self.drop_bits(from_buffer * 8);
                let from_input = usize::from(remaining - from_buffer as u16).min(input.len());
                input = &input[from_input..];
                let n = from_buffer as usize + from_input;
                self.output(n);
                let remaining = remaining - n as u16;
                self.state = if remaining == 0 {
                    self.block_end()
                } else {
                    State::Stored { remaining }
                };
                if remaining != 0 && input.is_empty() && self.bitcount == 0 {
                    return Ok(());
                }
                continue;
            }
            if self.state == State::Codes && input.len() >= 8 {
                self.codes_fast(&mut input);
                if self.bitcount < FAST_STEP_BITS {
                    // Fewer than 8 input bytes left: refill byte by byte.
                    continue;
                }
                // Else a token the fast loop leaves to `step`.
            }
            match self.step()? {
                Step::Done => {}
                Step::NeedBits if input.is_empty() => return Ok(()),
                // Impossible: the buffer holds more than any step needs.
                Step::NeedBits => return Err(self.malformed("step larger than the bit buffer")),
            }
        }
    }

    /// [`State::Codes`] while at least 8 input bytes remain: refills the
    /// bit buffer 8 bytes at a time and walks literals and length/distance
    /// pairs whose codes the fast tables hold, in one tight loop. Anything
    /// else (a longer or invalid code, the end of the block, a reference
    /// beyond the window) is left in the buffer, unconsumed, for
    /// [`WindowWalker::step`], which decodes it again and reports it: so the
    /// walk, and where it faults, do not depend on which loop took a token.
    fn codes_fast(&mut self, input: &mut &[u8]) {
        let limit = self.window().min(MAX_DISTANCE);
        while let Some(word) = input.first_chunk::<8>() {
            // Whole bytes that fit (the byte-wise refill may have left all
            // 64 bits full); the bits above `bitcount` stay zero.
            let take = 63u32.saturating_sub(self.bitcount) / 8;
            if take > 0 {
                let word = u64::from_le_bytes(*word) & ((1u64 << (8 * take)) - 1);
                self.bitbuf |= word << self.bitcount;
                self.bitcount += 8 * take;
                *input = &input[take as usize..];
            }
            while self.bitcount >= FAST_STEP_BITS {
                let (symbol, len) = self.literal_lengths.fast[(self.bitbuf & FAST_MASK) as usize];
                if len == 0 {
                    return;
                }
                let mut used = u32::from(len);
                let length = match symbol {
                    0..=255 => 1,
                    257..=285 => {
                        let i = usize::from(symbol - 257);
                        let extra = u32::from(LENGTH_EXTRA[i]);
                        let length = usize::from(LENGTH_BASE[i])
                            + ((self.bitbuf >> used) & ((1u64 << extra) - 1)) as usize;
                        used += extra;
                        let (d, dlen) = self.distances.fast[((self.bitbuf >> used) & FAST_MASK) as usize];
                        let d = usize::from(d);
                        if dlen == 0 || d >= 30 {
                            return;
                        }
                        used += u32::from(dlen);
                        let extra = u32::from(DISTANCE_EXTRA[d]);
                        let distance = usize::from(DISTANCE_BASE[d])
                            + ((self.bitbuf >> used) & ((1u64 << extra) - 1)) as usize;
                        used += extra;
                        if distance > self.available {
                            return;
                        }
                        length
                    }
                    // The end of the block, or an invalid code: `step`.
                    _ => return,
                };
                self.bitbuf >>= used;
                self.bitcount -= used;
                self.produced = self.produced.saturating_add(length as u64);
                self.available = (self.available + length).min(limit);
            }
        }
    }

    fn drop_bits(&mut self, n: u32) {
        self.bitbuf = if n >= 64 { 0 } else { self.bitbuf >> n };
        self.bitcount -= n;
    }

    fn output(&mut self, n: usize) {
        self.produced = self.produced.saturating_add(n as u64);
        self.available = (self.available + n).min(self.window()).min(MAX_DISTANCE);
    }

    fn block_end(&self) -> State {
        if self.last {
            State::Ended
        } else {
            State::BlockHeader
        }
    }

    fn malformed(&self, what: &'static str) -> Fault {
        Fault {
            at: self.produced,
            kind: FaultKind::Malformed(what),
        }
    }

    fn peek(&self) -> Peek {
        Peek {
            bits: self.bitbuf,
            avail: self.bitcount,
            used: 0,
        }
    }

    /// One step from the bit buffer; consumes its bits only when whole.
    fn step(&mut self) -> Result<Step, Fault> {
        let mut p = self.peek();
        macro_rules! take {
            ($e:expr) => {
                match $e {
                    Some(v) => v,
                    None => return Ok(Step::NeedBits),
                }
            };
        }
        match self.state {
            State::BlockHeader => {
                let last = take!(p.take(1)) == 1;
                let kind = take!(p.take(2));
                self.last = last;
                self.state = match kind {
                    0 => State::StoredLengths,
                    1 => {
                        if !self.fixed {
                            self.build_fixed();
                        }
                        State::Codes
                    }
                    2 => State::DynamicCounts,
                    _ => return Err(self.malformed("invalid block type")),
                };
            }
            State::StoredLengths => {
                // §3.2.4: skip to the byte boundary. The buffer only ever
                // gains whole bytes, so the boundary is `bitcount % 8` away.
                let skip = self.bitcount % 8;
                take!(p.take(skip));
                let len = take!(p.take(16));
                let nlen = take!(p.take(16));
                if len != !nlen & 0xffff {
                    return Err(self.malformed("invalid stored block lengths"));
                }
                self.state = if len == 0 {
                    self.block_end()
                } else {
                    State::Stored {
                        remaining: len as u16,
                    }
                };
            }
            State::Stored { .. } | State::Ended => return Ok(Step::Done),
            State::DynamicCounts => {
                let nlen = take!(p.take(5)) as u16 + 257;
                let ndist = take!(p.take(5)) as u16 + 1;
                let ncode = take!(p.take(4)) as u8 + 4;
                if nlen > 286 || ndist > 30 {
                    return Err(self.malformed("too many length or distance symbols"));
                }
                self.counts = (nlen, ndist, ncode);
                self.lengths = [0; 320];
                self.state = State::CodeLengthLengths { have: 0 };
            }
            State::CodeLengthLengths { have } => {
                let l = take!(p.take(3));
                self.lengths[ORDER[usize::from(have)]] = l as u8;
                let have = have + 1;
                if have < self.counts.2 {
                    self.state = State::CodeLengthLengths { have };
                } else {
                    self.fixed = false;
                    if self
                        .code_lengths
                        .build(&self.lengths[..19], CodeKind::CodeLengths)
                        .is_err()
                    {
                        return Err(self.malformed("invalid code lengths set"));
                    }
                    self.lengths = [0; 320];
                    self.state = State::CodeLengths { have: 0 };
                }
            }
            State::CodeLengths { have } => {
                let Ok(symbol) = p.symbol(&self.code_lengths) else {
                    return Err(self.malformed("invalid code lengths set"));
                };
                let symbol = take!(symbol);
                let total = self.counts.0 + self.counts.1;
                let (value, repeat) = match symbol {
                    0..=15 => (symbol as u8, 1),
                    16 => {
                        let repeat = 3 + take!(p.take(2)) as u16;
                        let Some(&previous) =
                            usize::from(have).checked_sub(1).and_then(|i| self.lengths.get(i))
                        else {
                            return Err(self.malformed("invalid bit length repeat"));
                        };
                        (previous, repeat)
                    }
                    17 => (0, 3 + take!(p.take(3)) as u16),
                    _ => (0, 11 + take!(p.take(7)) as u16),
                };
                if have + repeat > total {
                    return Err(self.malformed("invalid bit length repeat"));
                }
                let end = have + repeat;
                self.lengths[usize::from(have)..usize::from(end)].fill(value);
                if end < total {
                    self.state = State::CodeLengths { have: end };
                } else {
                    self.finish_dynamic_header()?;
                }
            }
            State::Codes => {
                let Ok(symbol) = p.symbol(&self.literal_lengths) else {
                    return Err(self.malformed("invalid literal/length code"));
                };
                let symbol = usize::from(take!(symbol));
                match symbol {
                    0..=255 => {
                        self.drop_bits(p.used);
                        self.output(1);
                        return Ok(Step::Done);
                    }
                    256 => self.state = self.block_end(),
                    257..=285 => {
                        let i = symbol - 257;
                        let length =
                            usize::from(LENGTH_BASE[i]) + take!(p.take(u32::from(LENGTH_EXTRA[i]))) as usize;
                        let Ok(d) = p.symbol(&self.distances) else {
                            return Err(self.malformed("invalid distance code"));
                        };
                        let d = usize::from(take!(d));
                        if d >= 30 {
                            return Err(self.malformed("invalid distance code"));
                        }
                        let distance = usize::from(DISTANCE_BASE[d])
                            + take!(p.take(u32::from(DISTANCE_EXTRA[d]))) as usize;
                        // RFC 7692 §7.1.2.1/§7.1.2.2 (the window) and RFC
                        // 1951 §3.2.5 (never before the stream's start).
                        if distance > self.available {
                            return Err(Fault {
                                at: self.produced,
                                kind: FaultKind::BeyondWindow {
                                    distance,
                                    available: self.available,
                                },
                            });
                        }
                        self.drop_bits(p.used);
                        self.output(length);
                        return Ok(Step::Done);
                    }
                    _ => return Err(self.malformed("invalid literal/length code")),
                }
            }
        }
        self.drop_bits(p.used);
        Ok(Step::Done)
    }

    /// All code lengths are in: the block's two codes (§3.2.7).
    fn finish_dynamic_header(&mut self) -> Result<(), Fault> {
        let (nlen, ndist, _) = self.counts;
        let (nlen, ndist) = (usize::from(nlen), usize::from(ndist));
        if self.lengths[256] == 0 {
            return Err(self.malformed("invalid code -- missing end-of-block"));
        }
        if self
            .literal_lengths
            .build(&self.lengths[..nlen], CodeKind::LiteralLengths)
            .is_err()
        {
            return Err(self.malformed("invalid literal/lengths set"));
        }
        if self
            .distances
            .build(&self.lengths[nlen..nlen + ndist], CodeKind::Distances)
            .is_err()
        {
            return Err(self.malformed("invalid distances set"));
        }
        self.state = State::Codes;
        Ok(())
    }

    /// The fixed codes (RFC 1951 §3.2.6), codes 286/287 and 30/31 included
    /// (they take part in the code but are invalid when used).
    fn build_fixed(&mut self) {
        let mut l = [8u8; 288];
        l[144..256].fill(9);
        l[256..280].fill(7);
        // Complete codes: building cannot fail.
        let _ = self.literal_lengths.build(&l, CodeKind::LiteralLengths);
        let _ = self.distances.build(&[5; 32], CodeKind::Distances);
        self.fixed = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes DEFLATE bits (RFC 1951 §3.1.1): values from their least
    /// significant bit, Huffman codes from their most significant.
    #[derive(Default)]
    struct BitWriter {
        bytes: Vec<u8>,
        bit: u32,
    }

    impl BitWriter {
        fn value(&mut self, v: u32, n: u32) -> &mut Self {
            for i in 0..n {
                if self.bit.is_multiple_of(8) {
                    self.bytes.push(0);
                }
                let last = self.bytes.len() - 1;
                self.bytes[last] |= (((v >> i) & 1) as u8) << (self.bit % 8);
                self.bit += 1;
            }
            self
        }

        fn code(&mut self, code: u32, len: u32) -> &mut Self {
            for i in (0..len).rev() {
                self.value((code >> i) & 1, 1);
            }
            self
        }

        /// A stored block of `data` (§3.2.4).
        fn stored(&mut self, last: bool, data: &[u8]) -> &mut Self {
            self.value(u32::from(last), 1).value(0, 2);
            self.bit = self.bit.div_ceil(8) * 8;
            let len = data.len() as u32;
            self.value(len, 16).value(!len & 0xffff, 16);
            self.bytes.extend_from_slice(data);
            self.bit += 8 * len;
            self
        }

        fn fixed_header(&mut self, last: bool) -> &mut Self {
            self.value(u32::from(last), 1).value(1, 2)
        }

        /// A fixed-code literal below 144 (§3.2.6: 8 bits from 0x30).
        fn literal(&mut self, b: u8) -> &mut Self {
            assert!(b < 144);
            self.code(0x30 + u32::from(b), 8)
        }

        /// A fixed-code match: length 3 (code 257), `distance` via its code
        /// and extra bits (§3.2.5).
        fn match3(&mut self, distance: usize) -> &mut Self {
            self.code(1, 7);
            let d = DISTANCE_BASE
                .iter()
                .rposition(|&b| usize::from(b) <= distance)
                .expect("distance");
            self.code(d as u32, 5);
            let extra = (distance - usize::from(DISTANCE_BASE[d])) as u32;
            self.value(extra, u32::from(DISTANCE_EXTRA[d]))
        }

        fn end_of_block(&mut self) -> &mut Self {
            self.code(0, 7)
        }

        /// The message: what a sync flush leaves once its `00 00 ff ff` is
        /// removed (RFC 7692 §7.2.1): the empty stored block's 3 header bits,
        /// padded to a byte.
        fn take(&mut self) -> Vec<u8> {
            self.value(0, 3);
            self.bit = 0;
            std::mem::take(&mut self.bytes)
        }
    }

    fn bits(b: u8) -> WindowBits {
        WindowBits::new(b).expect("8..=15")
    }

    /// Walks `message` (with the tail of RFC 7692 §7.2.2) one byte at a
    /// time and whole; both must agree.
    fn walk(w: &mut WindowWalker, message: &[u8]) -> Result<u64, Fault> {
        let mut bytewise = w.clone();
        let whole = w.walk(message).and_then(|()| w.walk(&[0, 0, 0xff, 0xff]));
        let split = message
            .iter()
            .chain(&[0, 0, 0xff, 0xff])
            .try_for_each(|b| bytewise.walk(std::slice::from_ref(b)));
        assert_eq!(whole, split, "byte by byte");
        let produced = w.produced;
        whole.map(|()| produced)
    }

    fn beyond(at: u64, distance: usize, available: usize) -> Result<u64, Fault> {
        Err(Fault {
            at,
            kind: FaultKind::BeyondWindow { distance, available },
        })
    }

    #[test]
    fn distance_257_in_an_8_bit_window() {
        // 300 stored bytes, then one match: 256 back is the window's edge.
        let history = [7u8; 300];
        for (distance, ok) in [(256, true), (257, false)] {
            let mut w = WindowWalker::new(bits(8));
            let mut b = BitWriter::default();
            b.stored(false, &history)
                .fixed_header(false)
                .match3(distance)
                .end_of_block();
            let r = walk(&mut w, &b.take());
            if ok {
                assert_eq!(r, Ok(303));
            } else {
                assert_eq!(r, beyond(300, 257, 256));
            }
        }
        // A 9-bit window takes 257.
        let mut w = WindowWalker::new(bits(9));
        let mut b = BitWriter::default();
        b.stored(false, &history)
            .fixed_header(false)
            .match3(257)
            .end_of_block();
        assert_eq!(walk(&mut w, &b.take()), Ok(303));
    }

    #[test]
    fn no_context_takeover_starts_each_message_empty() {
        let mut b = BitWriter::default();
        let first = b
            .fixed_header(false)
            .literal(b'a')
            .literal(b'b')
            .literal(b'c')
            .end_of_block()
            .take();
        let second = b.fixed_header(false).match3(3).end_of_block().take();
        let own = b
            .fixed_header(false)
            .literal(b'x')
            .literal(b'y')
            .literal(b'z')
            .match3(3)
            .end_of_block()
            .take();
        // With context takeover the previous message is history.
        let mut w = WindowWalker::new(bits(15));
        assert_eq!(walk(&mut w, &first), Ok(3));
        w.end_message(false);
        assert_eq!(walk(&mut w, &second), Ok(3));
        // Without (RFC 7692 §7.1.1.1/§7.1.1.2) it is not.
        let mut w = WindowWalker::new(bits(15));
        assert_eq!(walk(&mut w, &first), Ok(3));
        w.end_message(true);
        assert_eq!(walk(&mut w, &second), beyond(0, 3, 0));
        // But the message's own bytes are.
        w.reset();
        assert_eq!(walk(&mut w, &own), Ok(6));
        // A stream ended with BFINAL starts the next message empty too
        // (§7.2.3.4), even with context takeover.
        let mut w = WindowWalker::new(bits(15));
        let final_block = b
            .fixed_header(true)
            .literal(b'a')
            .literal(b'b')
            .literal(b'c')
            .end_of_block()
            .take();
        assert_eq!(walk(&mut w, &final_block), Ok(3));
        assert!(w.ended());
        w.end_message(false);
        assert_eq!(walk(&mut w, &second), beyond(0, 3, 0));
    }

    #[test]
    fn stored_blocks_count_as_history() {
        let mut b = BitWriter::default();
        let m = b
            .stored(false, b"0123456789")
            .fixed_header(false)
            .match3(10)
            .end_of_block()
            .take();
        let mut w = WindowWalker::new(bits(8));
        assert_eq!(walk(&mut w, &m), Ok(13));
        let m = b
            .stored(false, b"0123456789")
            .fixed_header(false)
            .match3(11)
            .end_of_block()
            .take();
        let mut w = WindowWalker::new(bits(8));
        assert_eq!(walk(&mut w, &m), beyond(10, 11, 10));
    }

    #[test]
    fn history_is_capped_by_the_window() {
        let mut w = WindowWalker::new(bits(9));
        let mut b = BitWriter::default();
        for _ in 0..4 {
            let m = b.stored(false, &[1; 200]).take();
            walk(&mut w, &m).expect("stored");
            w.end_message(false);
        }
        assert_eq!(w.available, 512);
        let m = b.fixed_header(false).match3(513).end_of_block().take();
        assert_eq!(walk(&mut w, &m), beyond(0, 513, 512));
    }

    #[test]
    fn malformed_streams_as_zlib_reports_them() {
        let mut b = BitWriter::default();
        let cases: [(Vec<u8>, &str); 6] = [
            // BTYPE 11 (§3.2.3).
            (vec![0x07], "invalid block type"),
            // Stored LEN 5 with NLEN not its complement (§3.2.4).
            (vec![0x00, 0x05, 0x00, 0x00, 0x00], "invalid stored block lengths"),
            // Dynamic, HLIT 30: 287 codes (§3.2.7).
            (
                b.value(0, 1).value(2, 2).value(30, 5).take(),
                "too many length or distance symbols",
            ),
            // Dynamic, HDIST 30: 31 codes.
            (
                b.value(0, 1).value(2, 2).value(0, 5).value(30, 5).take(),
                "too many length or distance symbols",
            ),
            // Fixed, distance code 30 after a length code (§3.2.6).
            (
                b.fixed_header(false).code(1, 7).code(30, 5).take(),
                "invalid distance code",
            ),
            // Fixed, literal/length code 286 (8 bits 11000110).
            (
                b.fixed_header(false).code(0xc6, 8).take(),
                "invalid literal/length code",
            ),
        ];
        for (m, what) in cases {
            let mut w = WindowWalker::new(bits(15));
            assert_eq!(
                walk(&mut w, &m),
                Err(Fault {
                    at: 0,
                    kind: FaultKind::Malformed(what)
                }),
                "{what}"
            );
        }
    }
}
