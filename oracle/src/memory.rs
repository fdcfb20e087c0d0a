//! In-process runs (feature `inprocess`): a script's bytes go to an
//! implementation through an in-memory stream, in the script's own chops;
//! what it writes back is decoded as the harness's engine would decode it
//! and judged by the same oracle ([`crate::check::check`]). No sockets, no
//! timers, no threads: a cargo-fuzz target runs thousands of scripts a
//! second with coverage feedback.
//!
//! ```
//! # use wsconform_oracle::memory::{Session, Pumped};
//! # use wsconform_wire::Role;
//! // An "implementation" that reads everything and never answers: it
//! // keeps the connection open, which the oracle calls a hang.
//! let session = Session::new(wsconform_oracle::generate::script(1), Role::Server);
//! let mut stream = session.stream();
//! let finding = session.judge(|| {
//!     let mut sink = [0u8; 4096];
//!     while std::io::Read::read(&mut stream, &mut sink).is_ok_and(|n| n > 0) {}
//!     Pumped::Blocked
//! });
//! assert!(finding.is_some());
//! ```

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::rc::Rc;

use wsconform_cases::{message_frames, FrameSpec, Payload, Step, Write as HowWritten};
use wsconform_wire::{ClosePayload, Decoded, Decoder, DecoderConfig, Opcode, Role, Utf8Validator};

use crate::check::{check, Digest, Reaction, Timers};
use crate::model::{encode, End, Model};
use crate::Finding;

/// Bytes an implementation may write in one script before its writes fail
/// (a script sends at most a few hundred KiB; an echo is as large).
pub const MAX_WRITTEN: usize = 16 << 20;

/// A script's steps from a fuzzer's bytes (`arbitrary::Unstructured`
/// drives every choice the generator makes; bytes running out read as
/// zeros, so every input is a script).
pub fn script_from_bytes(data: &[u8]) -> Vec<Step> {
    crate::generate::script_from(BytesRng(arbitrary::Unstructured::new(data)))
}

/// `rand`'s interface over a fuzzer's bytes.
struct BytesRng<'a>(arbitrary::Unstructured<'a>);

impl rand::RngCore for BytesRng<'_> {
    fn next_u32(&mut self) -> u32 {
        self.0.arbitrary().unwrap_or(0)
    }
    fn next_u64(&mut self) -> u64 {
        self.0.arbitrary().unwrap_or(0)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for b in dest {
            *b = self.0.arbitrary().unwrap_or(0);
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

/// How far the implementation got when it stopped being pumped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pumped {
    /// It wants more input (its reads would block): the connection is
    /// still open as far as it is concerned.
    Blocked,
    /// It gave the connection up: closed it after the closing handshake,
    /// or failed it (an error it does not go on from).
    Ended,
}

/// One script, judged in memory against an implementation of `peer`'s role.
#[derive(Debug)]
pub struct Session {
    model: Model,
    harness: Role,
    pipe: MemoryStream,
}

impl Session {
    /// The harness plays the other role: its frames are masked when the
    /// implementation is a server, not when it is a client (RFC 6455 §5.1).
    pub fn new(steps: Vec<Step>, peer: Role) -> Session {
        let harness = peer.peer();
        let model = Model::of(&steps, harness);
        let pipe = MemoryStream::default();
        pipe.inner.borrow_mut().input = writes(&steps, harness).into();
        Session { model, harness, pipe }
    }

    /// The implementation's end of the connection (clones share it).
    pub fn stream(&self) -> MemoryStream {
        self.pipe.clone()
    }

    /// What RFC 6455 lets the implementation do with this script.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Runs the implementation: `pump` makes it process whatever input it
    /// has (read, echo, answer) until its reads block or it gives the
    /// connection up. When the script ends with the connection open, the
    /// harness then starts the closing handshake with 1000, as the engine
    /// does once every echo is in, and pumps again. Returns what the
    /// implementation did wrong, if anything.
    pub fn judge(&self, mut pump: impl FnMut() -> Pumped) -> Option<Finding> {
        let mut ended = pump() == Pumped::Ended;
        if !ended && self.model.end == End::Open {
            let close = FrameSpec::new(Opcode::CLOSE, Payload::bytes(1000u16.to_be_bytes().to_vec()));
            self.pipe
                .inner
                .borrow_mut()
                .input
                .push_back(encode(&close, self.harness));
            ended = pump() == Pumped::Ended;
        }
        let written = std::mem::take(&mut self.pipe.inner.borrow_mut().written);
        check(&self.model, &reaction(&written, self.harness.peer(), ended))
    }
}

/// The script's bytes as the engine writes them: one write per frame
/// (`Write::Chop(n)`: pieces of `n` bytes), pauses dropped (nothing here
/// depends on time).
fn writes(steps: &[Step], harness: Role) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut frame = |f: &FrameSpec, how: HowWritten| {
        let bytes = encode(f, harness);
        match how {
            HowWritten::Chop(n) if n > 0 => out.extend(bytes.chunks(n).map(<[u8]>::to_vec)),
            _ => out.push(bytes),
        }
    };
    for step in steps {
        match step {
            Step::Frame { frame: f, write } => frame(f, *write),
            Step::Message {
                opcode,
                payload,
                fragment_size,
            } => {
                for f in message_frames(*opcode, payload, *fragment_size) {
                    frame(&f, HowWritten::Whole);
                }
            }
            Step::Close { code, reason } => {
                let mut payload = code.map(|c| c.to_be_bytes().to_vec()).unwrap_or_default();
                payload.extend(reason.to_vec());
                frame(
                    &FrameSpec::new(Opcode::CLOSE, Payload::bytes(payload)),
                    HowWritten::Whole,
                );
            }
            // Not generated; the model stops at them too.
            Step::RoundTrips { .. }
            | Step::FrameHeader { .. }
            | Step::FrameData { .. }
            | Step::CorpusMessages { .. }
            | Step::DeflateBomb { .. } => break,
            Step::Wait { .. } | Step::KillAfter { .. } | Step::CloseAfter { .. } => {}
        }
    }
    out
}

/// The implementation's end of an in-memory connection: reads return the
/// script's writes one at a time, then `WouldBlock`; writes are kept, up
/// to [`MAX_WRITTEN`] bytes.
#[derive(Debug, Clone, Default)]
pub struct MemoryStream {
    inner: Rc<RefCell<Pipe>>,
}

#[derive(Debug, Default)]
struct Pipe {
    input: VecDeque<Vec<u8>>,
    written: Vec<u8>,
}

impl Read for MemoryStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut pipe = self.inner.borrow_mut();
        let Some(next) = pipe.input.front_mut() else {
            return Err(io::ErrorKind::WouldBlock.into());
        };
        let n = next.len().min(buf.len());
        buf[..n].copy_from_slice(&next[..n]);
        next.drain(..n);
        if next.is_empty() {
            pipe.input.pop_front();
        }
        Ok(n)
    }
}

impl Write for MemoryStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut pipe = self.inner.borrow_mut();
        if pipe.written.len() + buf.len() > MAX_WRITTEN {
            return Err(io::Error::other("the in-memory stream's write budget is spent"));
        }
        pipe.written.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What the implementation's bytes show, read as the engine reads a peer:
/// `wire`'s strict decoder for frames from `peer`, whole messages, pongs,
/// its close frame and anything after it. `ended`: it gave the connection
/// up; otherwise it kept it open past the script, which in a live run is
/// the kill timer firing.
fn reaction(written: &[u8], peer: Role, ended: bool) -> Reaction {
    let mut r = Reaction::default();
    let mut decoder = Decoder::new(DecoderConfig::strict(peer));
    let mut buf = written.to_vec();
    let mut pos = 0;
    let mut frame: Option<(Opcode, bool, Vec<u8>)> = None;
    let mut message: Option<(bool, Vec<u8>, Utf8Validator)> = None;
    let mut closed = false;
    // A frame's end may come after its last byte (an empty payload): the
    // loop ends when the decoder wants more and no frame is open.
    while pos < buf.len() || frame.is_some() {
        match decoder.decode(&mut buf[pos..]) {
            Err(v) => {
                r.invalid_frame = Some(v.to_string());
                break;
            }
            Ok((_, None)) => break,
            Ok((n, Some(item))) => {
                pos += n;
                match item {
                    Decoded::Header(h) => frame = Some((h.opcode, h.fin, Vec::new())),
                    Decoded::Payload(p) => {
                        if let Some((_, _, acc)) = &mut frame {
                            acc.extend_from_slice(p);
                        }
                    }
                    Decoded::FrameEnd => {
                        let Some((opcode, fin, payload)) = frame.take() else {
                            continue;
                        };
                        if closed && !opcode.is_control() {
                            r.data_after_close
                                .get_or_insert_with(|| opcode.name().unwrap_or("reserved").to_string());
                            continue;
                        }
                        match opcode {
                            Opcode::PONG => r.pongs.push(Digest::of(&payload)),
                            Opcode::PING => {}
                            Opcode::CLOSE => match ClosePayload::parse(&payload) {
                                Ok(p) if !closed => {
                                    closed = true;
                                    r.close = Some(p.code);
                                }
                                Ok(_) => {}
                                Err(e) => {
                                    r.invalid_frame = Some(format!("the peer's close frame: {e}"));
                                    break;
                                }
                            },
                            op => {
                                if op != Opcode::CONTINUATION {
                                    message = Some((op == Opcode::BINARY, Vec::new(), Utf8Validator::new()));
                                }
                                let Some((binary, bytes, utf8)) = &mut message else {
                                    continue;
                                };
                                bytes.extend_from_slice(&payload);
                                let bad = if *binary {
                                    None
                                } else {
                                    utf8.feed(&payload)
                                        .err()
                                        .or_else(|| fin.then(|| utf8.finish().err()).flatten())
                                };
                                if let Some(e) = bad {
                                    r.invalid_frame =
                                        Some(format!("text message that is not UTF-8 (RFC 6455 §8.1): {e}"));
                                    break;
                                }
                                if fin {
                                    if let Some((binary, bytes, _)) = message.take() {
                                        r.messages.push((binary, Digest::of(&bytes)));
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    // Open past the script with no close frame sent: the kill timer.
    r.timers = Timers {
        kill: !ended && r.close.is_none(),
        ..Timers::default()
    };
    r
}
