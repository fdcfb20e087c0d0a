//! An independent DEFLATE decoder (RFC 1951), after zlib's puff.c: slow,
//! whole messages only, output kept, and it reports the farthest
//! back-reference. The oracle for the window check (`deflate/window.rs`) in
//! the property tests and the `inflate_window` fuzz target: a second
//! decoder written differently (bit by bit, from the output) rather than a
//! second run of the same code. Lenient where the window check is not about
//! (it accepts incomplete or over-subscribed codes).

/// The farthest any distance reaches (RFC 1951 §3.2.5).
const MAX_DISTANCE: usize = 32_768;
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bits<'_> {
    fn bits(&mut self, n: u32) -> Result<u32, String> {
        let mut v = 0;
        for i in 0..n {
            let byte = *self.data.get(self.pos / 8).ok_or("out of input")?;
            v |= u32::from((byte >> (self.pos % 8)) & 1) << i;
            self.pos += 1;
        }
        Ok(v)
    }
}

struct Huffman {
    count: [u16; 16],
    symbol: Vec<u16>,
}

impl Huffman {
    fn new(lengths: &[u8]) -> Huffman {
        let mut count = [0u16; 16];
        for &l in lengths {
            count[usize::from(l)] += 1;
        }
        count[0] = 0;
        let mut offs = [0u16; 16];
        for l in 1..15 {
            offs[l + 1] = offs[l] + count[l];
        }
        let mut symbol = vec![0; lengths.len()];
        for (s, &l) in lengths.iter().enumerate() {
            if l != 0 {
                symbol[usize::from(offs[usize::from(l)])] = s as u16;
                offs[usize::from(l)] += 1;
            }
        }
        Huffman { count, symbol }
    }

    fn decode(&self, b: &mut Bits<'_>) -> Result<usize, String> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= b.bits(1)? as i32;
            let count = i32::from(self.count[len]);
            if code - count < first {
                return Ok(usize::from(self.symbol[(index + (code - first)) as usize]));
            }
            index += count;
            first += count;
            first <<= 1;
            code <<= 1;
        }
        Err("bad code".into())
    }
}

const LBASE: [usize; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195,
    227, 258,
];
const LEXT: [u32; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DBASE: [usize; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073,
    4097, 6145, 8193, 12289, 16385, 24577,
];
const DEXT: [u32; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
];

/// Decodes messages of one connection direction, keeping the history for
/// context takeover (its last 32 KiB, as far as a distance reaches), and the
/// farthest distance seen.
#[derive(Debug, Clone)]
pub struct Puff {
    history: Vec<u8>,
    /// The farthest back-reference decoded so far (set it to 0 to measure
    /// from some message on).
    pub max_distance: usize,
    /// Output allowed per message.
    cap: usize,
    /// `history.len()` beyond which the current message is over the cap.
    limit: usize,
}

impl Default for Puff {
    fn default() -> Puff {
        Puff::with_cap(usize::MAX)
    }
}

impl Puff {
    /// A decoder that gives up ("too large") on a message inflating to more
    /// than `cap` bytes.
    pub fn with_cap(cap: usize) -> Puff {
        Puff {
            history: Vec::new(),
            max_distance: 0,
            cap,
            limit: usize::MAX,
        }
    }

    /// One message's payload (tail appended here, RFC 7692 §7.2.2); `reset`:
    /// the message starts with an empty window. A message that ends inside a
    /// block is an error ("out of input").
    pub fn message(&mut self, payload: &[u8], reset: bool) -> Result<Vec<u8>, String> {
        if reset {
            self.history.clear();
        }
        let keep = self.history.len().saturating_sub(MAX_DISTANCE);
        self.history.drain(..keep);
        self.limit = self.history.len().saturating_add(self.cap);
        let mut data = payload.to_vec();
        data.extend_from_slice(&[0, 0, 0xff, 0xff]);
        let mut b = Bits { data: &data, pos: 0 };
        let start = self.history.len();
        while b.pos < data.len() * 8 {
            let last = b.bits(1)?;
            match b.bits(2)? {
                0 => {
                    b.pos = b.pos.div_ceil(8) * 8;
                    let len = b.bits(16)? as usize;
                    let nlen = b.bits(16)? as usize;
                    if len != !nlen & 0xffff {
                        return Err("stored length".into());
                    }
                    for _ in 0..len {
                        let byte = b.bits(8)? as u8;
                        self.push(byte)?;
                    }
                }
                1 => {
                    let mut l = [8u8; 288];
                    l[144..256].fill(9);
                    l[256..280].fill(7);
                    self.codes(&mut b, &Huffman::new(&l), &Huffman::new(&[5; 30]))?;
                }
                2 => {
                    let nlen = b.bits(5)? as usize + 257;
                    let ndist = b.bits(5)? as usize + 1;
                    let ncode = b.bits(4)? as usize + 4;
                    const ORDER: [usize; 19] =
                        [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
                    let mut cl = [0u8; 19];
                    for &i in &ORDER[..ncode] {
                        cl[i] = b.bits(3)? as u8;
                    }
                    let clh = Huffman::new(&cl);
                    let mut lengths = Vec::new();
                    while lengths.len() < nlen + ndist {
                        let sym = clh.decode(&mut b)?;
                        let (value, repeat) = match sym {
                            0..=15 => (sym as u8, 1),
                            16 => (*lengths.last().ok_or("repeat first")?, 3 + b.bits(2)?),
                            17 => (0, 3 + b.bits(3)?),
                            _ => (0, 11 + b.bits(7)?),
                        };
                        lengths.extend(std::iter::repeat_n(value, repeat as usize));
                    }
                    self.codes(
                        &mut b,
                        &Huffman::new(&lengths[..nlen]),
                        &Huffman::new(&lengths[nlen..nlen + ndist]),
                    )?;
                }
                _ => return Err("block type 3".into()),
            }
            if last == 1 {
                // BFINAL (RFC 7692 §7.2.3.4): the rest is ignored, and the
                // next message starts a new stream.
                let out = self.history[start..].to_vec();
                self.history.clear();
                return Ok(out);
            }
        }
        Ok(self.history[start..].to_vec())
    }

    fn push(&mut self, byte: u8) -> Result<(), String> {
        if self.history.len() >= self.limit {
            return Err("too large".into());
        }
        self.history.push(byte);
        Ok(())
    }

    fn codes(&mut self, b: &mut Bits<'_>, lit: &Huffman, dist: &Huffman) -> Result<(), String> {
        loop {
            let sym = lit.decode(b)?;
            match sym {
                0..=255 => self.push(sym as u8)?,
                256 => return Ok(()),
                _ => {
                    let i = sym - 257;
                    let len = LBASE.get(i).ok_or("length symbol")? + b.bits(LEXT[i])? as usize;
                    let d = dist.decode(b)?;
                    let distance = DBASE.get(d).ok_or("distance symbol")? + b.bits(DEXT[d])? as usize;
                    if distance > self.history.len() {
                        return Err("distance too far back".into());
                    }
                    self.max_distance = self.max_distance.max(distance);
                    for _ in 0..len {
                        let byte = self.history[self.history.len() - distance];
                        self.push(byte)?;
                    }
                }
            }
        }
    }
}
