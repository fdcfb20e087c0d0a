//! Compressing and decompressing message payloads (RFC 7692 §7.2) with
//! flate2 on zlib-rs, raw DEFLATE (RFC 1951, no zlib header).
//!
//! **8-bit windows.** zlib (and zlib-rs, which follows it) refuses
//! `windowBits` 8 for raw deflate, and flate2 only takes 9..=15 in both
//! directions. The negotiated value is an upper limit on the LZ77 sliding
//! window the sender compresses with (RFC 7692 §7.1.2.1, §7.1.2.2): a
//! smaller window is fine, a larger one never. What the limit protects is
//! the receiver: no back-reference may reach further than 2^bits bytes. zlib
//! never emits a distance above `w_size - MIN_LOOKAHEAD` = 512 − 262 = **250**
//! bytes with a 9-bit window (zlib-rs `State::max_dist`), so a 9-bit zlib
//! stream never refers further back than a 256-byte window holds: it *is* a
//! valid 8-bit stream. So when 8 is negotiated the compressor runs zlib at 9;
//! `tests/deflate_properties.rs` decodes every such stream with an
//! independent DEFLATE parser (`testkit::Puff`) and the window check below,
//! and checks no distance exceeds 256.
//!
//! **Receiving.** The decompressor always inflates with a 15-bit window:
//! inflating with the negotiated size would reject a too-distant reference
//! only when it crosses a call boundary, so verdicts would depend on how
//! the bytes were chunked. That the peer's back-references stay within the
//! negotiated window (and, with no context takeover, within the message) is
//! checked by a [`WindowWalker`] that walks the same bytes ahead of zlib:
//! a reference beyond it is [`InflateError::BeyondWindow`], reported at the
//! same token however the message is chunked (zlib is then given exactly
//! the output before that token). A message that ends in the middle of a
//! DEFLATE block is not detected: zlib-based peers accept such messages too
//! (the output decoded so far is the message).

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::negotiate::{DirectionParams, WindowBits};
use super::window::{Fault, FaultKind, WindowWalker};

/// The empty stored block a sync flush ends with, removed from each
/// compressed message and appended again before inflating (RFC 7692 §7.2.1
/// step 3, §7.2.2 step 1).
pub const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Output is produced at most this many bytes per inflate call, so a bomb
/// is stopped within one step of the cap.
const INFLATE_STEP: usize = 64 * 1024;
/// The smallest output step.
const MIN_STEP: usize = 1024;

/// The window zlib is given for a negotiated one (see the module doc for 8).
fn zlib_window_bits(bits: WindowBits) -> u8 {
    bits.get().max(9)
}

/// Why compressing failed (zlib reported a stream error: a bug, not input).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("deflate failed: {0}")]
pub struct CompressError(String);

/// Why a compressed message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InflateError {
    /// The message inflates to more than the cap; decoding stopped at
    /// `cap + 1` bytes (RFC 6455 §7.4.1: close with 1009).
    #[error("message inflates to more than {cap} bytes (RFC 6455 §7.4.1: 1009)")]
    TooLarge { cap: usize },
    /// Not valid DEFLATE data (RFC 1951), e.g. a reserved block type or a
    /// bad code length (RFC 6455 §7.4.1: 1007 is what Autobahn-era peers use).
    #[error("invalid DEFLATE data: {0}")]
    Corrupt(String),
    /// A back-reference `distance` bytes back when only `available` bytes
    /// may be referred to: the sender's window of 2^`window_bits` bytes
    /// (RFC 7692 §7.1.2.1, §7.1.2.2), or less history than that, e.g. since
    /// the message started when the sender does not take over context
    /// (§7.1.1.1, §7.1.1.2), or since the stream started (RFC 1951 §3.2.5).
    /// zlib itself does not check this (see the module doc).
    #[error(
        "back-reference {distance} bytes back, beyond the {available} bytes the sender may refer to \
         ({window_bits}-bit window, RFC 7692 §7.1.2)"
    )]
    BeyondWindow {
        distance: usize,
        available: usize,
        window_bits: WindowBits,
    },
}

impl InflateError {
    fn from_fault(kind: FaultKind, window_bits: WindowBits) -> InflateError {
        match kind {
            FaultKind::BeyondWindow { distance, available } => InflateError::BeyondWindow {
                distance,
                available,
                window_bits,
            },
            FaultKind::Malformed(what) => InflateError::Corrupt(what.to_owned()),
        }
    }
}

/// Compresses messages of one direction (RFC 7692 §7.2.1).
pub struct Compressor {
    inner: Compress,
    params: DirectionParams,
}

impl std::fmt::Debug for Compressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compressor")
            .field("params", &self.params)
            .field("total_in", &self.inner.total_in())
            .finish_non_exhaustive()
    }
}

impl Compressor {
    /// `level` 0..=9 as zlib (6 is zlib's default, what Autobahn's Python
    /// peers use; 1 is fastest). Values above 9 are taken as 9.
    pub fn new(params: DirectionParams, level: u32) -> Compressor {
        Compressor {
            inner: Compress::new_with_window_bits(
                Compression::new(level.min(9)),
                false,
                zlib_window_bits(params.max_window_bits),
            ),
            params,
        }
    }

    pub fn params(&self) -> DirectionParams {
        self.params
    }

    /// Appends the compressed form of `message` to `out`: DEFLATE blocks
    /// ending in a sync flush, whose `00 00 ff ff` is removed (§7.2.1). With
    /// `no_context_takeover`, each message starts with an empty window
    /// (§7.1.1.1, §7.1.1.2). An empty message becomes the single byte `00`
    /// (§7.2.3.6: the header of an empty stored block whose length is the
    /// removed tail), also when zlib has nothing to flush.
    pub fn compress_into(&mut self, message: &[u8], out: &mut Vec<u8>) -> Result<(), CompressError> {
        if self.params.no_context_takeover {
            self.inner.reset();
        }
        let start = out.len();
        out.reserve(message.len() / 2 + 64);
        let mut consumed = 0;
        loop {
            if out.len() == out.capacity() {
                out.reserve((out.len() - start).max(1024));
            }
            let before = self.inner.total_in();
            self.inner
                .compress_vec(&message[consumed..], out, FlushCompress::Sync)
                .map_err(|e| CompressError(e.to_string()))?;
            consumed += usize::try_from(self.inner.total_in() - before).unwrap_or(usize::MAX);
            // Done when all input is in and zlib did not fill the buffer
            // (zlib's rule for finishing a flush).
            if consumed >= message.len() && out.len() < out.capacity() {
                break;
            }
        }
        if out[start..].ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        if out.len() == start {
            out.push(0x00);
        }
        Ok(())
    }

    /// The message as one DEFLATE stream that ends with a block with
    /// `BFINAL` set (zlib's `Z_FINISH`), as RFC 7692 §7.2.3.4 shows
    /// ("implementors can choose to flush data using DEFLATE blocks with
    /// BFINAL set"); nothing is removed from its end. The stream is over,
    /// so the next message starts a new one with an empty window whatever
    /// the context takeover (as [`Decompressor`] expects). For reference
    /// peers and cases that check a peer copes with such messages.
    pub fn compress_final(&mut self, message: &[u8]) -> Result<Vec<u8>, CompressError> {
        self.inner.reset();
        let mut out = Vec::with_capacity(message.len() / 2 + 64);
        let mut consumed = 0;
        loop {
            if out.len() == out.capacity() {
                out.reserve(out.len().max(1024));
            }
            let before = self.inner.total_in();
            let status = self
                .inner
                .compress_vec(&message[consumed..], &mut out, FlushCompress::Finish)
                .map_err(|e| CompressError(e.to_string()))?;
            consumed += usize::try_from(self.inner.total_in() - before).unwrap_or(usize::MAX);
            if status == Status::StreamEnd {
                break;
            }
        }
        self.inner.reset();
        Ok(out)
    }

    /// [`Compressor::compress_into`] a new buffer.
    pub fn compress(&mut self, message: &[u8]) -> Result<Vec<u8>, CompressError> {
        let mut out = Vec::new();
        self.compress_into(message, &mut out)?;
        Ok(out)
    }
}

/// Decompresses messages of one direction (RFC 7692 §7.2.2), streaming, with
/// a hard cap on each message's inflated size: a decompression bomb costs at
/// most the cap in memory and the work to produce it.
///
/// Feed the payloads of a message's frames with [`Decompressor::feed`] as
/// they arrive (chunked anywhere), then call [`Decompressor::finish`].
pub struct Decompressor {
    inner: Decompress,
    /// Walks the same bytes ahead of `inner`, checking the sender's window.
    window: WindowWalker,
    params: DirectionParams,
    cap: usize,
    /// Bytes inflated so far in the current message.
    produced: usize,
    /// The stream ended (a block with BFINAL set, §7.2.3.4): the rest of
    /// the message, tail included, is ignored, and the next message starts
    /// a new stream.
    ended: bool,
    /// The previous call failed: the stream state is lost.
    failed: bool,
}

impl std::fmt::Debug for Decompressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decompressor")
            .field("params", &self.params)
            .field("cap", &self.cap)
            .field("produced", &self.produced)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl Decompressor {
    /// `params` are the *peer's* (sender's) negotiated parameters;
    /// `max_message_bytes` caps each inflated message.
    pub fn new(params: DirectionParams, max_message_bytes: usize) -> Decompressor {
        Decompressor {
            // Always 15: see the module doc.
            inner: Decompress::new_with_window_bits(false, 15),
            window: WindowWalker::new(params.max_window_bits),
            params,
            cap: max_message_bytes,
            produced: 0,
            ended: false,
            failed: false,
        }
    }

    pub fn params(&self) -> DirectionParams {
        self.params
    }

    /// Changes the cap on each message's inflated size, from the current
    /// message on.
    pub fn set_max_message_bytes(&mut self, max: usize) {
        self.cap = max;
    }

    /// Bytes inflated so far in the current message.
    pub fn produced(&self) -> usize {
        self.produced
    }

    /// Inflates the next piece of the current message's compressed payload,
    /// appending to `out`. `out` grows by at most the cap plus one byte per
    /// message, never more: it is reserved exactly, in doubling steps, so
    /// the heap peak while the last step moves the data is at most about
    /// 1.5 × the cap (old and new buffers), plus zlib-rs's fixed state.
    pub fn feed(&mut self, compressed: &[u8], out: &mut Vec<u8>) -> Result<(), InflateError> {
        if self.failed {
            // The stream after an error is undefined: start over.
            self.start_over();
        }
        let r = self.inflate(compressed, out);
        if r.is_err() {
            self.failed = true;
        }
        r
    }

    /// Ends the current message: inflates the `00 00 ff ff` tail
    /// (§7.2.2 step 1) and, when the sender does not take over context
    /// (§7.1.1.1, §7.1.1.2) or ended its stream with BFINAL (§7.2.3.4),
    /// starts the next message with an empty window. After a failed
    /// [`Decompressor::feed`] it only ends that message: the stream starts
    /// over, and `Ok` (the error was already reported).
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), InflateError> {
        if self.failed {
            self.start_over();
            return Ok(());
        }
        let r = self.feed(&TAIL, out);
        if r.is_ok() {
            let new_stream = self.params.no_context_takeover || self.ended;
            if new_stream {
                self.inner.reset(false);
            }
            self.window.end_message(new_stream);
            self.produced = 0;
            self.ended = false;
        }
        r
    }

    /// A new stream after an error.
    fn start_over(&mut self) {
        self.inner.reset(false);
        self.window.reset();
        self.failed = false;
        self.produced = 0;
        self.ended = false;
    }

    /// One whole message: [`Decompressor::feed`] then [`Decompressor::finish`].
    pub fn decompress(&mut self, message: &[u8]) -> Result<Vec<u8>, InflateError> {
        let mut out = Vec::new();
        self.feed(message, &mut out)?;
        self.finish(&mut out)?;
        Ok(out)
    }

    fn inflate(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<(), InflateError> {
        // The window check first, on the whole piece. A fault within the
        // cap is the answer, after zlib has produced exactly the output
        // before the faulty token (so `out`, and any check on it, is the
        // same however the message was chunked). A fault past the cap is
        // never reached: zlib stops at the cap first.
        let fault = match self.window.walk(input) {
            Err(Fault { at, kind }) if at <= self.cap as u64 => Some((at as usize, kind)),
            _ => None,
        };
        // Output room per call: from about what small input inflates to,
        // doubling while zlib fills it, up to INFLATE_STEP. zlib writes into
        // `out`'s spare capacity (flate2's `decompress_vec`: nothing is
        // zeroed first), all of it: a buffer that already has more room
        // than `allowed` gets more output, which is cut back below.
        let mut hint = input.len().saturating_mul(4).clamp(MIN_STEP, INFLATE_STEP);
        while !self.ended {
            // Room for what the cap still allows plus one byte, which
            // detects a message over the cap without producing more; or
            // exactly up to the faulty token.
            let allowed = match fault {
                Some((at, _)) if self.produced >= at => break,
                Some((at, _)) => at - self.produced,
                // (`saturating_add`: a cap of `usize::MAX` is no cap.)
                None => (self.cap - self.produced.min(self.cap)).saturating_add(1),
            };
            let step = hint.min(allowed);
            if out.capacity() - out.len() < step {
                // Grow geometrically (with the message so far), but never
                // past what the cap allows; when what would be left after
                // this growth is smaller than it, take all of it now rather
                // than move a cap-sized buffer once more for a few bytes.
                let grow = self.produced.max(step).min(allowed);
                let grow = if allowed - grow < grow { allowed } else { grow };
                out.reserve_exact(grow);
            }
            let room = out.capacity() - out.len();
            let start = out.len();
            let (before_in, before_out) = (self.inner.total_in(), self.inner.total_out());
            let result = self.inner.decompress_vec(input, out, FlushDecompress::Sync);
            let used = usize::try_from(self.inner.total_in() - before_in).unwrap_or(usize::MAX);
            let mut made = usize::try_from(self.inner.total_out() - before_out).unwrap_or(usize::MAX);
            if made > allowed {
                // Past the faulty token, or past the cap's extra byte: only
                // the output before it is the message's, however chunked.
                made = allowed;
                out.truncate(start + made);
            }
            // Also on an error: what zlib wrote before it is the output of
            // the tokens before the bad one, whatever the chunking.
            let status = result.map_err(|e| match fault {
                // zlib reached the walker's fault (zlib reads a block header
                // even with no output room left): the walker's report, the
                // same in every chunking.
                Some((_, kind)) => InflateError::from_fault(kind, self.params.max_window_bits),
                None => InflateError::Corrupt(e.to_string()),
            })?;
            input = input.get(used..).unwrap_or_default();
            self.produced = self.produced.saturating_add(made);
            if self.produced > self.cap {
                return Err(InflateError::TooLarge { cap: self.cap });
            }
            match status {
                Status::StreamEnd => self.ended = true,
                // All input taken and room left over: zlib has given all it can.
                _ if input.is_empty() && made < room => break,
                // No progress although there is input and room: a stall,
                // which zlib reports for no valid stream.
                _ if used == 0 && made == 0 => {
                    return Err(InflateError::Corrupt("inflate made no progress".into()))
                }
                _ => {}
            }
            if made >= step {
                hint = (hint * 2).min(INFLATE_STEP);
            }
        }
        match fault {
            Some((_, kind)) => Err(InflateError::from_fault(kind, self.params.max_window_bits)),
            None => Ok(()),
        }
    }
}
