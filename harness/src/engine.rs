//! The engine: interprets one case's steps over an open WebSocket connection
//! and records everything into an [`Outcome`].
//!
//! Three tasks cooperate. The *script* walks the steps and produces writes
//! and timer requests in order; the *writer* owns the socket's write half and
//! performs writes with Autobahn's chopping; the *connection loop* (this
//! module's `run`) owns the read half, decodes and validates what the peer
//! sends, keeps the close state machine and every timer, and forwards the
//! script's writes to the writer with bounded buffering so a 16 MiB frame is
//! never held more than a few chunks at a time. Everything is bounded by
//! the case's timers and a hard deadline, whatever the peer does.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::mpsc;
use tokio::time::sleep_until;
use wsconform_cases::{
    bomb_frames, message_frames, Case, Corpus, FrameSpec, Judge, Masking, Payload, Step, Write,
};
use wsconform_wire::deflate::{Compressor, Decompressor, InflateError, Params};
use wsconform_wire::frame::FrameHeader;
use wsconform_wire::{apply_mask, CloseCode, Decoded, Decoder, DecoderConfig, Opcode, Role, Utf8Validator};

use crate::budget::{CaseBudget, RunBudget};
use crate::delivery::{Link, Pacer};
use crate::record::{CloseFrame, Digest, DigestBuilder, Observed, Outcome, TrafficStats, WireEntry};
use crate::verdict::Expectations;

/// Protocol timers and limits, as Autobahn's defaults (reference §2).
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The harness's role on the connection.
    pub role: Role,
    /// Multiplies every timer (kill, close, protocol timeouts) for slow peers.
    pub timeout_scale: f64,
    /// After the harness sent close, the peer has this long to answer;
    /// `None`: no limit (a spec's 0, as Autobahn arms the timer only when
    /// it is `> 0`), but the case's hard deadline.
    pub close_handshake_timeout: Option<Duration>,
    /// As a client, after the closing handshake the server must close TCP
    /// within this time; `None` as above.
    pub server_drop_timeout: Option<Duration>,
    /// Largest message accepted from the peer.
    pub max_message: u64,
    /// Receives every wire log entry as it happens (`wsconform replay`).
    pub live: Option<mpsc::UnboundedSender<WireEntry>>,
    /// What the run may keep about the peer, shared by its cases.
    pub memory: RunBudget,
}

impl EngineConfig {
    pub fn new(role: Role) -> EngineConfig {
        EngineConfig {
            role,
            timeout_scale: 1.0,
            close_handshake_timeout: Some(Duration::from_secs(1)),
            server_drop_timeout: Some(Duration::from_secs(1)),
            max_message: 64 << 20,
            live: None,
            memory: RunBudget::default(),
        }
    }

    fn scaled(&self, d: Duration) -> Duration {
        d.mul_f64(self.timeout_scale)
    }

    /// The case's hard deadline: when its last wait ends or timer falls due
    /// ([`Case::duration`]: the case's own waits keep their length, its
    /// timers scale as [`arm`] scales them), plus the protocol timers and
    /// slack, scaled. Scaling the waits too cut 6.4.1 (two 1 s waits) short
    /// at `--timeout-scale 0.1`.
    pub fn deadline_for(&self, case: &Case) -> Duration {
        case.duration(self.timeout_scale)
            + self.scaled(
                self.close_handshake_timeout.unwrap_or_default()
                    + self.server_drop_timeout.unwrap_or_default()
                    + Duration::from_secs(3),
            )
    }
}

/// How the note that marks where the wire log was cut begins (the oracle
/// tells it from the notes that say why the engine failed a connection).
pub const BUDGET_NOTE: &str = "wire log cut here";

/// Largest piece of a frame handed to the writer at once.
const WRITE_PIECE: usize = 256 * 1024;
/// Writes queued between the script and the writer at most.
const MAX_PENDING: usize = 4;
/// Bytes read from the socket at once.
const READ_BUF: usize = 64 * 1024;
/// Most bytes taken in by [`Conn::read_arrived`] before a timer or script
/// step: what a starved harness finds waiting is at most a few frames, a
/// flooding peer must not hold a due timer back (the hard deadline among
/// them).
const ARRIVED_BUDGET: usize = 16 * READ_BUF;
/// Writes the connection loop may have queued for the writer before it stops
/// reading from the peer: a peer that floods pings while it does not read
/// the pongs is pushed back by TCP instead of growing a queue.
const MAX_QUEUED_WRITES: usize = 64;
/// What a kept wire log entry or payload head costs besides its bytes.
const ENTRY_COST: usize = 64;
/// Events a peer may send in one case before the harness fails the
/// connection as a flood (the most any case expects is 10).
const MAX_EVENTS: usize = 10_000;
/// Compressed bytes inflated at once: DEFLATE expands at most 1032:1, so
/// the inflated piece held at a time stays near 1 MiB whatever the peer
/// sends (the message's cap is checked on the total).
const INFLATE_PIECE: usize = 1024;
/// zlib level of the messages the harness compresses: the fastest; the
/// level changes nothing a peer must do (RFC 7692 §7.2.1).
const DEFLATE_LEVEL: u32 = 1;
/// RSV1, the "Per-Message Compressed" bit (RFC 7692 §6), as the decoder's
/// three-bit `rsv` field has it.
const RSV1: u8 = 0b100;

/// What the script asks the connection loop to do, in order.
#[derive(Debug)]
enum ScriptOp {
    Write(Outgoing),
    Arm {
        timer: Timer,
        ms: u64,
    },
    Timeout(String),
    /// The next message the peer must echo (12.x/13.x), and what sending
    /// it cost, for the traffic statistics.
    Expect(ExpectedEcho),
}

/// A message sent for echoing, as the verdict compares it.
#[derive(Debug)]
struct ExpectedEcho {
    binary: bool,
    len: u64,
    sha1: Option<[u8; 20]>,
    /// Payload bytes on the wire (compressed) and frames.
    wire_len: u64,
    frames: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timer {
    Kill,
    Close,
}

/// Bytes for the writer, with what to log about them.
#[derive(Debug)]
struct Outgoing {
    bytes: Vec<u8>,
    write: Write,
    /// The frames that start in these bytes.
    frames: Vec<TxFrameInfo>,
    /// A close step among these bytes, sent in the same write if the
    /// connection is still open when they are queued.
    close: Option<CloseStep>,
}

/// Where a close step stands in a turn's write, and its payload.
#[derive(Debug)]
struct CloseStep {
    /// Bytes and frames of the write that come before the close frame.
    at: usize,
    frames_before: usize,
    code: Option<CloseCode>,
    reason: Vec<u8>,
}

#[derive(Debug)]
struct TxFrameInfo {
    header: FrameHeader,
    payload: Option<Digest>,
}

enum WriterCmd {
    Write(Outgoing),
    Shutdown,
}

/// State shared with the writer task: the wire log and octet statistics.
struct Log {
    start: Instant,
    enabled: bool,
    live: Option<mpsc::UnboundedSender<WireEntry>>,
    entries: Vec<WireEntry>,
    tx_octets: std::collections::BTreeMap<usize, u64>,
    /// Bytes the case may still keep: wire log entries and payload heads.
    budget: CaseBudget,
    /// Where the note that the log was cut stands, once it was.
    cut_at: Option<usize>,
}

impl Log {
    fn t_us(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }

    fn push(&mut self, make: impl FnOnce(u64) -> WireEntry) {
        if !self.enabled {
            return;
        }
        let t_us = self.t_us();
        let entry = make(t_us);
        if self.budget.keep(ENTRY_COST + entry.kept_bytes()) {
            if let Some(live) = &self.live {
                let _ = live.send(entry.clone());
            }
            self.entries.push(entry);
        } else if self.cut_at.is_none() {
            self.cut_at = Some(self.entries.len());
            self.entries.push(WireEntry::Note {
                t_us,
                text: String::new(),
            });
        }
    }

    /// Whether a received payload's first bytes may be kept in the events;
    /// its length and SHA-1, which verdicts use, are kept regardless.
    fn keep_head(&mut self, head: &[u8]) -> bool {
        head.is_empty() || self.budget.keep(ENTRY_COST + head.len())
    }

    /// The wire log, with the note of where it was cut and how much was
    /// not kept.
    fn finish(&mut self) -> (Vec<WireEntry>, u64) {
        let dropped = self.budget.dropped;
        if let Some(WireEntry::Note { text, .. }) = self.cut_at.and_then(|i| self.entries.get_mut(i)) {
            *text = format!(
                "{BUDGET_NOTE}: the case's memory budget ({} KiB per case, {} MiB per run) was spent; {dropped} later entries and payload heads were counted, not kept",
                crate::budget::CASE_BYTES >> 10,
                crate::budget::RUN_BYTES >> 20
            );
        }
        (std::mem::take(&mut self.entries), dropped)
    }
}

fn lock(log: &Mutex<Log>) -> std::sync::MutexGuard<'_, Log> {
    log.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `case` on an open connection. `leftover` holds bytes read past the
/// opening handshake; `link`, when the peer is on this machine, shows when
/// it has read what was written ([`Pacer`]). The returned outcome extends `outcome`.
pub async fn run<S>(
    case: &Case,
    stream: S,
    leftover: Vec<u8>,
    link: Option<Link>,
    config: &EngineConfig,
    mut outcome: Outcome,
) -> Outcome
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let start = Instant::now();
    let wirelog = !matches!(case.judge, Judge::Echoes { .. } | Judge::Compressed { .. });
    let deflate = outcome.deflate.as_ref().map(|d| d.params);
    if deflate.is_some() {
        outcome.traffic = Some(TrafficStats::default());
    }
    let log = Arc::new(Mutex::new(Log {
        start,
        enabled: wirelog,
        live: config.live.clone(),
        entries: std::mem::take(&mut outcome.wirelog),
        tx_octets: Default::default(),
        budget: CaseBudget::new(&config.memory),
        cut_at: None,
    }));
    let (reader, writer) = tokio::io::split(stream);
    let (writer_tx, writer_rx) = mpsc::channel(MAX_PENDING);
    let mut writer_task = tokio::spawn(write_loop(writer, writer_rx, log.clone(), link));
    let (script_tx, script_rx) = mpsc::channel(MAX_PENDING);
    let (echo_tx, echo_rx) = mpsc::channel(1);
    let script = tokio::spawn(run_script(
        case.steps.clone(),
        Sender {
            role: config.role,
            scale: config.timeout_scale,
            digests: wirelog,
            deflate,
            offered_deflate: case.deflate.is_some(),
        },
        script_tx,
        echo_rx,
    ));

    let mut conn = Conn::new(case, config, log.clone(), outcome, echo_tx);
    let mut leftover = leftover;
    conn.feed_slice(&mut leftover);
    conn.drive(reader, writer_tx, &mut writer_task, script_rx).await;

    script.abort();
    writer_task.abort();
    let mut outcome = conn.outcome;
    outcome.duration_ms = start.elapsed().as_millis() as u64;
    let mut log = lock(&log);
    (outcome.wirelog, outcome.not_kept) = log.finish();
    outcome.tx_octet_stats = std::mem::take(&mut log.tx_octets);
    outcome.wirelog_enabled = wirelog;
    outcome
}

async fn write_loop<W: AsyncWrite>(
    writer: W,
    mut rx: mpsc::Receiver<WriterCmd>,
    log: Arc<Mutex<Log>>,
    link: Option<Link>,
) -> std::io::Result<()> {
    tokio::pin!(writer);
    let mut pacer = Pacer::new(link);
    // One command is one write (or its chops): what goes out together was
    // decided by the script, never by what happens to be queued, so the
    // bytes reach the peer the same way whatever the load.
    while let Some(cmd) = rx.recv().await {
        match cmd {
            WriterCmd::Write(out) => {
                let sync = out.write == Write::Sync;
                pacer
                    .write(&mut writer, &out.bytes, out.write, |piece| {
                        let mut log = lock(&log);
                        *log.tx_octets.entry(piece.len()).or_default() += 1;
                        let head = piece[..piece.len().min(64)].to_vec();
                        log.push(|t_us| WireEntry::TxOctets {
                            t_us,
                            len: piece.len(),
                            sync,
                            head,
                        });
                    })
                    .await?;
            }
            WriterCmd::Shutdown => {
                pacer.ready().await;
                writer.shutdown().await?;
                return Ok(());
            }
        }
    }
    Ok(())
}

/// How the script sends: the harness's role, the timer scale, whether
/// frames are logged with digests, and the negotiated permessage-deflate.
struct Sender {
    role: Role,
    scale: f64,
    digests: bool,
    deflate: Option<Params>,
    /// The case negotiates permessage-deflate (`Case::deflate`).
    offered_deflate: bool,
}

/// Walks the steps, producing writes and timer requests in order.
async fn run_script(
    steps: Vec<Step>,
    sender: Sender,
    tx: mpsc::Sender<ScriptOp>,
    mut echoes: mpsc::Receiver<()>,
) {
    let Sender {
        role,
        scale,
        digests,
        deflate,
        offered_deflate,
    } = sender;
    let mut open_frame: Option<([u8; 4], u64, bool)> = None;
    let mask = || (role == Role::Client).then(rand::random::<[u8; 4]>);
    let mut batch = Batch { tx: &tx, held: None };
    if offered_deflate && deflate.is_none() {
        // The case tests permessage-deflate and the peer declined it: as
        // Autobahn 12.x/13.x `onOpen`, the case is UNIMPLEMENTED and the
        // harness closes at once with 1000 (`verdict.rs`).
        let _ = batch.close(Some(CloseCode::NORMAL), Vec::new()).await && batch.flush().await;
        return;
    }
    for step in steps {
        let sent = match step {
            Step::Frame { frame, write } => {
                let key = match frame.masking {
                    Masking::FollowRole => mask(),
                    Masking::Unmasked => None,
                    Masking::Key(key) => Some(key),
                };
                send_frame(&mut batch, &frame, write, key, digests).await
            }
            Step::Message {
                opcode,
                payload,
                fragment_size,
            } => {
                send_frames(
                    &mut batch,
                    message_frames(opcode, &payload, fragment_size),
                    mask,
                    digests,
                )
                .await
            }
            Step::FrameHeader { opcode, fin, len } => {
                let key = mask();
                let header = FrameHeader {
                    fin,
                    rsv: 0,
                    opcode,
                    mask: key,
                    payload_len: len,
                };
                let mut bytes = Vec::new();
                header.encode(Default::default(), &mut bytes);
                open_frame = key.map(|k| (k, 0, true)).or(Some(([0; 4], 0, false)));
                let info = TxFrameInfo {
                    header,
                    payload: None,
                };
                batch
                    .push(Outgoing {
                        bytes,
                        write: Write::Whole,
                        frames: vec![info],
                        close: None,
                    })
                    .await
            }
            Step::FrameData { payload } => {
                let mut bytes = payload.to_vec();
                if let Some((key, offset, masked)) = open_frame.as_mut() {
                    if *masked {
                        apply_mask(&mut bytes, *key, *offset);
                    }
                    *offset += bytes.len() as u64;
                }
                batch
                    .push(Outgoing {
                        bytes,
                        write: Write::Whole,
                        frames: Vec::new(),
                        close: None,
                    })
                    .await
            }
            Step::Wait { ms, tag } => {
                // What this "reactor turn" wrote goes out before the pause
                // (Autobahn's `continueLater` runs the rest in a new turn).
                if !batch.flush().await {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(ms)).await;
                match tag {
                    Some(tag) => tx.send(ScriptOp::Timeout(tag)).await.is_ok(),
                    None => true,
                }
            }
            Step::Close { code, reason } => batch.close(code.map(CloseCode), reason.to_vec()).await,
            Step::KillAfter { ms } => arm(&tx, Timer::Kill, ms, scale).await,
            Step::CloseAfter { ms } => arm(&tx, Timer::Close, ms, scale).await,
            Step::RoundTrips {
                opcode,
                payload,
                count,
            } => {
                let frame = FrameSpec::new(opcode, payload);
                let mut ok = true;
                for _ in 0..count {
                    ok = send_frame(&mut batch, &frame, Write::Whole, mask(), digests).await
                        && batch.flush().await
                        && echoes.recv().await.is_some();
                    if !ok {
                        break;
                    }
                }
                ok
            }
            Step::CorpusMessages {
                corpus,
                len,
                count,
                fragment_size,
            } => match deflate {
                // A case without `deflate` (a case file) negotiates nothing:
                // close at once with 1000, as a declined offer does.
                None => batch.close(Some(CloseCode::NORMAL), Vec::new()).await && batch.flush().await,
                Some(params) => {
                    let mut compressor = Compressor::new(params.sent_by(role), DEFLATE_LEVEL);
                    let mut ok = true;
                    for index in 0..u64::from(count) {
                        let message = CorpusMessage {
                            corpus,
                            index,
                            len,
                            fragment_size,
                        };
                        ok = send_compressed(&mut batch, &tx, &mut compressor, message, mask).await
                            && batch.flush().await
                            && echoes.recv().await.is_some();
                        if !ok {
                            break;
                        }
                    }
                    ok
                }
            },
            Step::DeflateBomb { opcode, inflated } => match deflate {
                // Nothing negotiated (a case file): as `CorpusMessages`.
                None => batch.close(Some(CloseCode::NORMAL), Vec::new()).await && batch.flush().await,
                Some(_) => send_frames(&mut batch, bomb_frames(opcode, inflated), mask, digests).await,
            },
        };
        if !sent {
            return;
        }
    }
    batch.flush().await;
}

/// Sends `frames` in turn, each its own whole write and mask.
async fn send_frames(
    batch: &mut Batch<'_>,
    frames: impl IntoIterator<Item = FrameSpec>,
    mask: impl Fn() -> Option<[u8; 4]>,
    digests: bool,
) -> bool {
    for frame in frames {
        if !send_frame(batch, &frame, Write::Whole, mask(), digests).await {
            return false;
        }
    }
    true
}

/// One message of a [`Step::CorpusMessages`].
struct CorpusMessage {
    corpus: Corpus,
    index: u64,
    len: u64,
    fragment_size: u64,
}

/// Compresses one corpus message (RFC 7692 §7.2.1) and queues its frames:
/// the compressed payload cut every `fragment_size` bytes as Autobahn's
/// `sendMessage` cuts it (an exact multiple ends in an empty frame), RSV1
/// on the first frame only (§6.1). The echo it expects goes first.
async fn send_compressed(
    batch: &mut Batch<'_>,
    tx: &mpsc::Sender<ScriptOp>,
    compressor: &mut Compressor,
    m: CorpusMessage,
    mask: impl Fn() -> Option<[u8; 4]>,
) -> bool {
    let plain = m.corpus.message(m.index, m.len);
    let sha1 = Digest::of_bytes(&plain).sha1;
    let compressed = match compressor.compress(&plain) {
        Ok(c) => c,
        // zlib refusing its own input is a harness bug: end the script.
        Err(_) => return false,
    };
    let opcode = if m.corpus.binary() {
        Opcode::BINARY
    } else {
        Opcode::TEXT
    };
    let size = if m.fragment_size == 0 {
        compressed.len().max(1)
    } else {
        usize::try_from(m.fragment_size).unwrap_or(usize::MAX)
    };
    let mut frames = Vec::new();
    let mut start = 0usize;
    loop {
        let end = start.saturating_add(size);
        let last = end > compressed.len() || (m.fragment_size == 0 && end >= compressed.len());
        let piece = compressed[start.min(compressed.len())..end.min(compressed.len())].to_vec();
        frames.push(FrameSpec {
            opcode: if start == 0 { opcode } else { Opcode::CONTINUATION },
            fin: last,
            rsv: if start == 0 { RSV1 } else { 0 },
            payload: Payload::bytes(piece),
            masking: Masking::FollowRole,
        });
        if last {
            break;
        }
        start = end;
    }
    let expect = ExpectedEcho {
        binary: m.corpus.binary(),
        len: m.len,
        sha1,
        wire_len: compressed.len() as u64,
        frames: frames.len() as u64,
    };
    if !batch.flush().await || tx.send(ScriptOp::Expect(expect)).await.is_err() {
        return false;
    }
    for frame in &frames {
        if !send_frame(batch, frame, Write::Whole, mask(), false).await {
            return false;
        }
    }
    true
}

/// Joins a step's consecutive whole writes into pieces of up to
/// [`WRITE_PIECE`] bytes on their way to the connection loop, as Autobahn
/// hands its reactor a whole message at once: 9.3.1's 65 536 frames of 64
/// bytes are then 17 writes, not tens of thousands of system calls.
struct Batch<'a> {
    tx: &'a mpsc::Sender<ScriptOp>,
    held: Option<Outgoing>,
}

impl Batch<'_> {
    /// Queues `out`; false when the loop has gone.
    async fn push(&mut self, out: Outgoing) -> bool {
        if let Some(held) = self.held.as_mut() {
            if out.write == Write::Whole && held.bytes.len() + out.bytes.len() <= WRITE_PIECE {
                held.bytes.extend_from_slice(&out.bytes);
                held.frames.extend(out.frames);
                return true;
            }
        }
        if !self.flush().await {
            return false;
        }
        if out.write == Write::Whole {
            self.held = Some(out);
            return true;
        }
        self.tx.send(ScriptOp::Write(out)).await.is_ok()
    }

    /// A close step: its frame goes out in the same write as what the
    /// step's turn writes before and after it, as Autobahn's `sendClose` and
    /// `sendFrame` in one callback do (7.1.2-7.1.5 send frames after their
    /// close); false when the loop has gone.
    async fn close(&mut self, code: Option<CloseCode>, reason: Vec<u8>) -> bool {
        if self.held.as_ref().is_some_and(|h| h.close.is_some()) && !self.flush().await {
            return false;
        }
        let held = self.held.get_or_insert_with(|| Outgoing {
            bytes: Vec::new(),
            write: Write::Whole,
            frames: Vec::new(),
            close: None,
        });
        held.close = Some(CloseStep {
            at: held.bytes.len(),
            frames_before: held.frames.len(),
            code,
            reason,
        });
        true
    }

    /// Sends what is held; false when the loop has gone.
    async fn flush(&mut self) -> bool {
        match self.held.take() {
            Some(out) => self.tx.send(ScriptOp::Write(out)).await.is_ok(),
            None => true,
        }
    }
}

async fn arm(tx: &mpsc::Sender<ScriptOp>, timer: Timer, ms: u64, scale: f64) -> bool {
    let ms = (ms as f64 * scale) as u64;
    tx.send(ScriptOp::Arm { timer, ms }).await.is_ok()
}

/// Encodes `frame` with `mask` and hands it to `batch` in pieces of at most
/// [`WRITE_PIECE`] bytes (a multiple of the chop size, so chops keep their
/// boundaries), generating the payload as it goes.
async fn send_frame(
    batch: &mut Batch<'_>,
    frame: &FrameSpec,
    write: Write,
    mask: Option<[u8; 4]>,
    digests: bool,
) -> bool {
    let header = FrameHeader {
        fin: frame.fin,
        rsv: frame.rsv,
        opcode: frame.opcode,
        mask,
        payload_len: frame.payload.len,
    };
    let piece = match write {
        Write::Chop(n) if n > 0 => (WRITE_PIECE / n).max(1) * n,
        _ => WRITE_PIECE,
    };
    let mut bytes = Vec::with_capacity(piece.min(14 + frame.payload.len as usize));
    header.encode(Default::default(), &mut bytes);
    let mut info = Some(TxFrameInfo {
        header,
        payload: digests.then(|| Digest::of_payload(&frame.payload)),
    });
    let mut at = 0u64;
    loop {
        let room = piece.saturating_sub(bytes.len()) as u64;
        let end = (at + room).min(frame.payload.len);
        let start = bytes.len();
        bytes.resize(start + (end - at) as usize, 0);
        frame.payload.fill(at, &mut bytes[start..]);
        if let Some(key) = mask {
            apply_mask(&mut bytes[start..], key, at);
        }
        at = end;
        let out = Outgoing {
            bytes: std::mem::take(&mut bytes),
            write,
            frames: info.take().into_iter().collect(),
            close: None,
        };
        if !batch.push(out).await {
            return false;
        }
        if at >= frame.payload.len {
            return true;
        }
    }
}

/// Where the connection is, as Autobahn's protocol states (autobahn
/// 0.10.9, `websocket/protocol.py`): what the harness still reads and checks
/// depends on it alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// `STATE_OPEN`.
    Open,
    /// `STATE_CLOSING`: the harness sent a close frame (first, or as a client
    /// answering the server's). Every frame the peer sends is still read
    /// and checked until the TCP connection ends.
    Closing,
    /// `STATE_CLOSED` reached by the harness as a server after the closing
    /// handshake: the close frame still queued goes out, then the harness
    /// closes TCP. Nothing more is read.
    Flushing,
    /// `STATE_CLOSED`: the case is over.
    Ended,
}

/// Why the harness sends a close frame (Autobahn's `isReply`): only a close
/// that starts the closing handshake makes the harness the closer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CloseKind {
    Initiate,
    Answer,
}

/// A message being received.
struct MessageAcc {
    binary: bool,
    utf8: Utf8Check,
    digest: DigestBuilder,
    /// Its first frame had RSV1: the payload is inflated (RFC 7692 §6.2).
    compressed: bool,
}

/// The UTF-8 check of a message from the peer (RFC 6455 §8.1), as
/// Autobahn's `onFrameData` / `onFrameEnd` make it: once a text message
/// broke UTF-8, every later payload byte of it and its end fail the
/// connection again (which, once closing, drops it).
enum Utf8Check {
    /// A binary message.
    Binary,
    Text(Utf8Validator),
    Broken,
}

/// The connection loop's state.
struct Conn<'a> {
    case: &'a Case,
    config: &'a EngineConfig,
    expectations: Expectations,
    log: Arc<Mutex<Log>>,
    outcome: Outcome,
    decoder: Decoder,
    phase: Phase,
    frame: Option<(FrameHeader, DigestBuilder)>,
    message: Option<MessageAcc>,
    pending: VecDeque<WriterCmd>,
    kill_at: Option<Instant>,
    close_at: Option<Instant>,
    close_handshake_at: Option<Instant>,
    drop_at: Option<Instant>,
    /// Whether the protocol timers were already moved on once for the
    /// harness's own lateness ([`Conn::excuse_lateness`]).
    lateness_excused: bool,
    deadline: Instant,
    echo_tx: mpsc::Sender<()>,
    /// The peer's messages when permessage-deflate was negotiated.
    inflater: Option<Decompressor>,
    /// Inflated bytes on their way to the digest and UTF-8 check.
    inflated: Vec<u8>,
    /// The echo the script waits for (12.x/13.x).
    expected_echo: Option<ExpectedEcho>,
}

impl<'a> Conn<'a> {
    fn new(
        case: &'a Case,
        config: &'a EngineConfig,
        log: Arc<Mutex<Log>>,
        outcome: Outcome,
        echo_tx: mpsc::Sender<()>,
    ) -> Conn<'a> {
        // Strict RFC 6455 checks, minimal length encodings included
        // (Autobahn's `processDataHybi`: "invalid data frame length (not
        // using minimal length encoding)", for both extended forms).
        let mut decoder_config = DecoderConfig::strict(config.role.peer());
        decoder_config.max_frame_payload = config.max_message;
        decoder_config.max_message_payload = config.max_message;
        // RFC 7692 §6: with permessage-deflate negotiated RSV1 is allowed
        // (where is checked per frame, `check_rsv1`).
        let deflate = outcome.deflate.as_ref().map(|d| d.params);
        if deflate.is_some() {
            decoder_config.allowed_rsv = RSV1;
        }
        let inflater = deflate.map(|p| {
            Decompressor::new(
                p.sent_by(config.role.peer()),
                usize::try_from(config.max_message).unwrap_or(usize::MAX),
            )
        });
        Conn {
            case,
            config,
            expectations: Expectations::of(case),
            log,
            outcome,
            decoder: Decoder::new(decoder_config),
            phase: Phase::Open,
            frame: None,
            message: None,
            pending: VecDeque::new(),
            kill_at: None,
            close_at: None,
            close_handshake_at: None,
            drop_at: None,
            lateness_excused: false,
            deadline: Instant::now() + config.deadline_for(case),
            echo_tx,
            inflater,
            inflated: Vec::new(),
            expected_echo: None,
        }
    }

    fn note(&self, text: String) {
        lock(&self.log).push(|t_us| WireEntry::Note { t_us, text });
    }

    /// Whether the peer's bytes are still read and checked (Autobahn's
    /// `consumeData`: in `STATE_OPEN` and `STATE_CLOSING`).
    fn reading(&self) -> bool {
        matches!(self.phase, Phase::Open | Phase::Closing)
    }

    async fn drive<R: AsyncRead>(
        &mut self,
        reader: R,
        writer_tx: mpsc::Sender<WriterCmd>,
        writer_task: &mut tokio::task::JoinHandle<std::io::Result<()>>,
        mut script_rx: mpsc::Receiver<ScriptOp>,
    ) {
        tokio::pin!(reader);
        let mut buf = vec![0u8; READ_BUF];
        let mut script_live = true;
        let mut writer_done = false;
        while self.phase != Phase::Ended {
            let next_timer = self.next_timer();
            tokio::select! {
                read = reader.read(&mut buf), if self.pending.len() < MAX_QUEUED_WRITES => {
                    self.on_read(read, &mut buf);
                },
                op = script_rx.recv(), if script_live && self.pending.len() < MAX_PENDING => {
                    self.read_arrived(reader.as_mut(), &mut buf).await;
                    script_live = match op {
                        Some(op) if self.phase != Phase::Ended => self.on_script(op),
                        _ => false,
                    };
                },
                permit = writer_tx.reserve(), if !self.pending.is_empty() && !writer_done => {
                    match (permit, self.pending.pop_front()) {
                        (Ok(permit), Some(cmd)) => permit.send(cmd),
                        _ => writer_done = true,
                    }
                },
                _ = &mut *writer_task, if !writer_done => {
                    writer_done = true;
                    if self.phase == Phase::Flushing {
                        // The harness (as server) closed TCP after the closing handshake.
                        self.phase = Phase::Ended;
                    }
                },
                _ = sleep_until(next_timer.into()) => {
                    self.read_arrived(reader.as_mut(), &mut buf).await;
                    if self.phase != Phase::Ended {
                        self.on_timer();
                    }
                },
            }
        }
    }

    /// One read's result: the peer's bytes, or the end of the connection.
    fn on_read(&mut self, read: std::io::Result<usize>, buf: &mut [u8]) {
        match read {
            Ok(0) | Err(_) => self.connection_lost(),
            Ok(n) => {
                *self.outcome.rx_octet_stats.entry(n).or_default() += 1;
                let head = buf[..n.min(64)].to_vec();
                lock(&self.log).push(|t_us| WireEntry::RxOctets { t_us, len: n, head });
                self.feed_slice(&mut buf[..n]);
                self.excuse_lateness();
            }
        }
    }

    /// Takes in what the peer has already sent, without waiting for more,
    /// before a due timer or script step acts. When both are ready at once
    /// (the harness got no CPU for a while: a loaded machine, `--jobs`),
    /// `select!` picks one at random, so a close the peer sent in time could
    /// lose to a timer that fired late, and the verdict would depend on the
    /// load. Bytes that arrived before the harness looked count first, as
    /// they do when the harness is idle. Bounded by [`ARRIVED_BUDGET`].
    async fn read_arrived<R: AsyncRead>(&mut self, mut reader: Pin<&mut R>, buf: &mut [u8]) {
        let mut taken = 0;
        while taken < ARRIVED_BUDGET && self.phase != Phase::Ended && self.pending.len() < MAX_QUEUED_WRITES {
            let mut read_buf = ReadBuf::new(buf);
            let polled =
                std::future::poll_fn(|cx| Poll::Ready(reader.as_mut().poll_read(cx, &mut read_buf))).await;
            let read = match polled {
                Poll::Pending => break,
                Poll::Ready(r) => r.map(|()| read_buf.filled().len()),
            };
            taken += read.as_ref().map_or(0, |n| *n);
            self.on_read(read, buf);
        }
    }

    /// The peer's bytes were taken in while protocol timers were overdue:
    /// they arrived while the harness was late (starved of CPU) or at the
    /// very moment a timer fell due. What the peer does next may wait on
    /// the harness (the echo of its close, which it answers by closing
    /// TCP), so each overdue protocol timer moves on by as long as it was
    /// overdue, giving the exchange the time an idle harness would have
    /// given it; for an idle harness that is next to nothing. Once per
    /// case, so that no peer can hold a timer back; the hard deadline never
    /// moves.
    fn excuse_lateness(&mut self) {
        if self.lateness_excused {
            return;
        }
        let now = Instant::now();
        let mut moved = false;
        for at in [
            &mut self.kill_at,
            &mut self.close_at,
            &mut self.close_handshake_at,
            &mut self.drop_at,
        ]
        .into_iter()
        .flatten()
        {
            if *at <= now {
                *at = now + (now - *at);
                moved = true;
            }
        }
        self.lateness_excused = moved;
    }

    fn next_timer(&self) -> Instant {
        [self.kill_at, self.close_at, self.close_handshake_at, self.drop_at]
            .into_iter()
            .flatten()
            .fold(self.deadline, Instant::min)
    }

    fn on_timer(&mut self) {
        let now = Instant::now();
        let due = |t: Option<Instant>| t.is_some_and(|t| t <= now);
        if now >= self.deadline {
            self.note("the harness's hard deadline for this case passed".into());
            self.outcome.hit_deadline = true;
            self.not_clean("the case did not end before the harness's deadline");
            self.drop_tcp();
            return;
        }
        if due(self.kill_at) {
            // Autobahn's `executeKillAfter`: `failConnection()` unless closed.
            self.kill_at = None;
            if self.phase != Phase::Ended {
                self.timer_fired("kill", None);
                self.fail_connection(CloseCode::GOING_AWAY, "Going Away");
            }
        }
        if due(self.close_at) {
            // Autobahn's `executeCloseAfter`: `sendClose()` with no code.
            self.close_at = None;
            if self.phase != Phase::Ended {
                self.timer_fired("close", None);
                self.send_close(None, Vec::new());
            }
        }
        if due(self.close_handshake_at) {
            // Autobahn's `onCloseHandshakeTimeout`.
            self.close_handshake_at = None;
            if self.phase != Phase::Ended {
                self.outcome.was_close_handshake_timeout = true;
                self.not_clean("peer did not respond (in time) in closing handshake");
                self.drop_tcp();
            }
        }
        if due(self.drop_at) {
            // Autobahn's `onServerConnectionDropTimeout` (the harness is the client).
            self.drop_at = None;
            if self.phase == Phase::Flushing {
                // The harness's own close could not be flushed in time.
                self.phase = Phase::Ended;
            } else if self.phase != Phase::Ended {
                self.outcome.was_server_connection_drop_timeout = true;
                self.not_clean("server did not drop TCP connection (in time)");
                self.drop_tcp();
            }
        }
    }

    fn timer_fired(&self, timer: &'static str, tag: Option<String>) {
        lock(&self.log).push(|t_us| WireEntry::TimerFired { t_us, timer, tag });
    }

    fn not_clean(&mut self, reason: &str) {
        self.outcome.was_clean = false;
        self.outcome.was_not_clean_reason = Some(reason.into());
    }

    /// When a protocol timer fires, or `None` when the spec disabled it.
    fn timer(&self, timeout: Option<Duration>) -> Option<Instant> {
        timeout.map(|t| Instant::now() + self.config.scaled(t))
    }

    /// The harness closes the TCP connection itself (Autobahn's
    /// `dropConnection`).
    fn drop_tcp(&mut self) {
        if self.phase != Phase::Ended {
            self.outcome.dropped_by_me = true;
            self.phase = Phase::Ended;
        }
    }

    /// The peer closed the TCP connection (Autobahn's `_connectionLost`).
    fn connection_lost(&mut self) {
        if !self.outcome.was_clean && !self.outcome.dropped_by_me {
            self.outcome.was_not_clean_reason.get_or_insert_with(|| {
                "peer dropped the TCP connection without previous WebSocket closing handshake".into()
            });
        }
        self.phase = Phase::Ended;
    }

    /// Carries out one script operation; false when the script ends here.
    fn on_script(&mut self, op: ScriptOp) -> bool {
        match op {
            ScriptOp::Write(mut out) => match out.close.take() {
                Some(close) if self.phase == Phase::Open => {
                    // One write: the turn's frames with the close frame
                    // where the close step stands.
                    let after = Outgoing {
                        bytes: out.bytes.split_off(close.at),
                        write: out.write,
                        frames: out.frames.split_off(close.frames_before),
                        close: None,
                    };
                    let first = self.pending.len();
                    self.queue(out);
                    self.send_close(close.code, close.reason);
                    self.queue(after);
                    self.join_writes_from(first);
                }
                // Autobahn's sendCloseFrame does nothing once closing; the
                // other frames still go out.
                _ => self.queue(out),
            },
            ScriptOp::Arm { timer, ms } => {
                let at = Instant::now() + Duration::from_millis(ms);
                let name = match timer {
                    Timer::Kill => {
                        self.kill_at = Some(at);
                        "kill"
                    }
                    Timer::Close => {
                        self.close_at = Some(at);
                        "close"
                    }
                };
                lock(&self.log).push(|t_us| WireEntry::Timer {
                    t_us,
                    timer: name,
                    ms,
                    tag: None,
                });
            }
            ScriptOp::Timeout(tag) => {
                // Autobahn's tagged `continueLater` callbacks (6.4.x) record
                // the timeout and go on only while the connection is open.
                if self.phase != Phase::Open {
                    self.note(format!("wait {tag:?} ended with the connection closing: the case's remaining steps are skipped"));
                    return false;
                }
                self.timer_fired("wait", Some(tag.clone()));
                self.outcome.received.push(Observed::Timeout { tag });
            }
            ScriptOp::Expect(echo) => {
                if let Some(t) = self.outcome.traffic.as_mut() {
                    t.outgoing_octets_app_level += echo.len;
                    t.outgoing_octets_websocket_level += echo.wire_len;
                    t.outgoing_websocket_frames += echo.frames;
                    t.outgoing_websocket_messages += 1;
                }
                self.expected_echo = Some(echo);
            }
        }
        true
    }

    fn queue(&mut self, out: Outgoing) {
        for info in &out.frames {
            *self.outcome.tx_frame_stats.entry(info.header.opcode).or_default() += 1;
            let h = info.header;
            let payload = info.payload.clone();
            lock(&self.log).push(|t_us| WireEntry::TxFrame {
                t_us,
                opcode: h.opcode,
                fin: h.fin,
                rsv: h.rsv,
                mask: h.mask,
                payload: payload.unwrap_or_else(|| Digest {
                    len: h.payload_len,
                    sha1: None,
                    head: Vec::new(),
                }),
                chop: match out.write {
                    Write::Chop(n) => Some(n),
                    _ => None,
                },
                sync: out.write == Write::Sync,
            });
        }
        self.pending.push_back(WriterCmd::Write(out));
    }

    /// Joins the writes queued from index `first` on into one (whole writes).
    fn join_writes_from(&mut self, first: usize) {
        while self.pending.len() > first + 1 {
            if let (Some(WriterCmd::Write(last)), Some(WriterCmd::Write(prev))) =
                (self.pending.pop_back(), self.pending.back_mut())
            {
                prev.bytes.extend_from_slice(&last.bytes);
                prev.frames.extend(last.frames);
            }
        }
    }

    /// Sends a frame the connection loop itself produces (close, pong).
    fn send_control(&mut self, opcode: Opcode, payload: Vec<u8>) {
        let mask = (self.config.role == Role::Client).then(rand::random::<[u8; 4]>);
        let frame = wsconform_wire::Frame::new(opcode, payload.clone()).mask(mask);
        let info = TxFrameInfo {
            header: frame.header,
            payload: Some(Digest::of_bytes(&payload)),
        };
        self.queue(Outgoing {
            bytes: frame.encode(),
            write: Write::Whole,
            frames: vec![info],
            close: None,
        });
    }

    /// Starts the closing handshake (Autobahn's `sendClose`).
    fn send_close(&mut self, code: Option<CloseCode>, reason: Vec<u8>) {
        self.write_close(code, reason, CloseKind::Initiate);
    }

    /// Autobahn's `sendCloseFrame`: only from the open state.
    fn write_close(&mut self, code: Option<CloseCode>, reason: Vec<u8>, kind: CloseKind) {
        if self.phase != Phase::Open {
            return;
        }
        let payload = match code {
            Some(c) => [&c.0.to_be_bytes()[..], &reason].concat(),
            None => reason.clone(),
        };
        self.send_control(Opcode::CLOSE, payload);
        self.phase = Phase::Closing;
        self.outcome.local_close = Some(CloseFrame { code, reason });
        if kind == CloseKind::Initiate {
            self.outcome.closed_by_me = true;
            self.close_handshake_at = self.timer(self.config.close_handshake_timeout);
        }
    }

    /// Autobahn's `failConnection` with `failByDrop=False`: from the open
    /// state the harness sends a close frame with `code` and goes on
    /// reading; once closing, a further failure drops the TCP connection.
    fn fail_connection(&mut self, code: CloseCode, reason: &str) {
        match self.phase {
            Phase::Open => {
                self.outcome.failed_by_me = true;
                // Autobahn cuts the reason to 123 bytes; never inside a code point.
                let mut end = reason.len().min(123);
                while !reason.is_char_boundary(end) {
                    end -= 1;
                }
                self.send_close(Some(code), reason.as_bytes()[..end].to_vec());
            }
            Phase::Closing => {
                // Autobahn: `dropConnection(abort=False)`, Twisted's
                // `loseConnection`: the close frame already queued still
                // leaves, then FIN (docs/verdict-rules.md V3, W4).
                self.outcome.failed_by_me = true;
                self.shut_down();
            }
            Phase::Flushing | Phase::Ended => {}
        }
    }

    /// The peer broke a rule: noted in the wire log, then the connection is
    /// failed as Autobahn's `protocolViolation` / `invalidPayload` do.
    fn protocol_violation(&mut self, code: CloseCode, why: String) {
        self.note(why.clone());
        self.fail_connection(code, &why);
    }

    fn feed_slice(&mut self, input: &mut [u8]) {
        // Loop until the decoder needs more input: it reports a frame's end
        // without consuming anything, possibly after the last byte.
        let mut pos = 0;
        while self.reading() {
            match self.decoder.decode(&mut input[pos..]) {
                Err(v) => {
                    // Like Autobahn, go on parsing the frame as it says it
                    // is: every later frame is still checked.
                    pos += self.decoder.resume(&v);
                    self.protocol_violation(v.close_code(), v.to_string());
                }
                Ok((_, None)) => return,
                Ok((n, Some(item))) => {
                    pos += n;
                    self.on_decoded(item);
                }
            }
        }
    }

    fn on_decoded(&mut self, item: Decoded<'_>) {
        match item {
            Decoded::Header(h) => {
                *self.outcome.rx_frame_stats.entry(h.opcode).or_default() += 1;
                let data = !h.opcode.is_control();
                let compressed = self.check_rsv1(&h);
                if data && self.phase == Phase::Open {
                    if let Some(t) = self.outcome.traffic.as_mut() {
                        t.incoming_websocket_frames += 1;
                    }
                }
                if data && self.message.is_none() {
                    // Autobahn's `onFrameBegin`: a data frame outside a
                    // message starts one, whatever its opcode says.
                    self.message = Some(MessageAcc {
                        binary: h.opcode == Opcode::BINARY,
                        utf8: if h.opcode == Opcode::TEXT {
                            Utf8Check::Text(Utf8Validator::new())
                        } else {
                            Utf8Check::Binary
                        },
                        // 9.x judges type and length only: no hashing.
                        digest: if matches!(self.case.judge, Judge::Echoes { .. }) {
                            DigestBuilder::counting()
                        } else {
                            DigestBuilder::hashing()
                        },
                        compressed,
                    });
                }
                self.frame = Some((h, DigestBuilder::hashing()));
            }
            Decoded::Payload(p) => {
                let logging = lock(&self.log).enabled;
                if let Some((h, d)) = &mut self.frame {
                    if logging || h.opcode.is_control() {
                        d.update(p);
                    }
                    if !h.opcode.is_control() {
                        let compressed = self.message.as_ref().is_some_and(|m| m.compressed);
                        if compressed {
                            self.inflate(p);
                        } else {
                            if self.phase == Phase::Open {
                                if let Some(t) = self.outcome.traffic.as_mut() {
                                    t.incoming_octets_websocket_level += p.len() as u64;
                                    t.incoming_octets_app_level += p.len() as u64;
                                }
                            }
                            self.message_data(p);
                        }
                    }
                }
            }
            Decoded::FrameEnd => {
                if let Some((h, d)) = self.frame.take() {
                    if h.fin && !h.opcode.is_control() && self.message.as_ref().is_some_and(|m| m.compressed)
                    {
                        self.finish_inflate();
                    }
                    self.on_frame(h, d.finish());
                }
            }
        }
    }

    /// A message's payload bytes (inflated when compressed): digest and
    /// UTF-8 check (RFC 6455 §8.1 applies to the inflated text, RFC 7692 §6).
    fn message_data(&mut self, p: &[u8]) {
        let Some(m) = &mut self.message else {
            return;
        };
        m.digest.update(p);
        let why = match &mut m.utf8 {
            Utf8Check::Text(v) => v.feed(p).err().map(|e| {
                m.utf8 = Utf8Check::Broken;
                format!("invalid UTF-8 in text message from the peer: {e}")
            }),
            Utf8Check::Broken => Some("more of a text message that is not UTF-8".into()),
            Utf8Check::Binary => None,
        };
        if let Some(why) = why {
            self.protocol_violation(CloseCode::INVALID_PAYLOAD, why);
        }
    }

    /// RFC 7692 §6.1: RSV1 marks a compressed message on its first frame
    /// only, and only once permessage-deflate was negotiated (without it the
    /// decoder already refused the bit, RFC 6455 §5.2). RSV1 on a
    /// continuation or control frame fails the connection (1002). Returns
    /// whether the frame starts a compressed message.
    fn check_rsv1(&mut self, h: &FrameHeader) -> bool {
        if h.rsv & RSV1 == 0 || self.inflater.is_none() {
            return false;
        }
        let why = if h.opcode.is_control() {
            Some(format!(
                "RSV1 set on a {} frame (RFC 7692 §6.1: control frames are never compressed)",
                h.opcode
            ))
        } else if h.opcode == Opcode::CONTINUATION || self.message.is_some() {
            Some(
                "RSV1 set on a continuation frame (RFC 7692 §6.1: only a message's first frame carries it)"
                    .to_string(),
            )
        } else {
            None
        };
        match why {
            Some(why) => {
                self.protocol_violation(CloseCode::PROTOCOL_ERROR, why);
                false
            }
            None => true,
        }
    }

    /// Inflates compressed payload bytes of the current message under the
    /// hard cap, in pieces (see [`INFLATE_PIECE`]), and passes them on.
    fn inflate(&mut self, p: &[u8]) {
        for piece in p.chunks(INFLATE_PIECE) {
            let Some(inflater) = self.inflater.as_mut() else {
                return;
            };
            self.inflated.clear();
            let r = inflater.feed(piece, &mut self.inflated);
            self.after_inflate(piece.len(), r);
            if !self.reading() || self.message.as_ref().is_none_or(|m| !m.compressed) {
                return;
            }
        }
    }

    /// The end of a compressed message: the removed `00 00 ff ff` tail
    /// (RFC 7692 §7.2.2).
    fn finish_inflate(&mut self) {
        let Some(inflater) = self.inflater.as_mut() else {
            return;
        };
        self.inflated.clear();
        let r = inflater.finish(&mut self.inflated);
        self.after_inflate(0, r);
    }

    fn after_inflate(&mut self, compressed: usize, r: Result<(), InflateError>) {
        if self.phase == Phase::Open {
            if let Some(t) = self.outcome.traffic.as_mut() {
                t.incoming_octets_websocket_level += compressed as u64;
                t.incoming_octets_app_level += self.inflated.len() as u64;
            }
        }
        let inflated = std::mem::take(&mut self.inflated);
        self.message_data(&inflated);
        self.inflated = inflated;
        if let Err(e) = r {
            // The message is lost; what follows is judged afresh.
            if let Some(m) = self.message.as_mut() {
                m.compressed = false;
                m.utf8 = Utf8Check::Binary;
            }
            let code = match e {
                // RFC 6455 §7.4.1: "a message that is too big for it to process".
                InflateError::TooLarge { .. } => CloseCode::MESSAGE_TOO_BIG,
                // The same close code as any other data that does not
                // inflate: to a zlib-based receiver such a reference is
                // corrupt data (RFC 7692 §7.1.2.1, §7.1.2.2).
                InflateError::Corrupt(_) | InflateError::BeyondWindow { .. } => {
                    // Where Autobahn's zlib raises and the connection drops
                    // (docs/verdict-rules.md D13); while closing, both end it uncleanly.
                    if self.phase == Phase::Open {
                        self.outcome.inflate_failed = Some(e.to_string());
                    }
                    CloseCode::INVALID_PAYLOAD
                }
            };
            self.protocol_violation(code, format!("compressed message from the peer: {e}"));
        }
    }

    fn on_frame(&mut self, h: FrameHeader, payload: Digest) {
        lock(&self.log).push(|t_us| WireEntry::RxFrame {
            t_us,
            opcode: h.opcode,
            fin: h.fin,
            rsv: h.rsv,
            mask: h.mask,
            payload: payload.clone(),
        });
        match h.opcode {
            Opcode::PING if self.phase == Phase::Open => self.send_control(Opcode::PONG, payload.head),
            // Autobahn hands every pong to the case, even after failing the
            // connection (`processControlFrame`).
            Opcode::PONG => {
                let payload = self.budgeted(payload);
                self.outcome.received.push(Observed::Pong { payload });
                self.after_event();
            }
            Opcode::CLOSE => self.on_close(&payload.head),
            op if op.is_control() => {}
            _ if h.fin => {
                if let Some(m) = self.message.take() {
                    let why = match &m.utf8 {
                        Utf8Check::Text(v) => v
                            .finish()
                            .err()
                            .map(|e| format!("text message from the peer ends inside a code point: {e}")),
                        Utf8Check::Broken => Some("the end of a text message that is not UTF-8".into()),
                        Utf8Check::Binary => None,
                    };
                    if let Some(why) = why {
                        self.protocol_violation(CloseCode::INVALID_PAYLOAD, why);
                        return;
                    }
                    // Autobahn's `onMessageEnd`: once the harness has failed
                    // the connection, messages are no longer delivered.
                    if self.outcome.failed_by_me {
                        self.note(
                            "message received after the harness failed the connection: not counted".into(),
                        );
                        return;
                    }
                    let digest = m.digest.finish();
                    self.on_message(m.binary, digest);
                }
            }
            _ => {}
        }
    }

    fn on_message(&mut self, binary: bool, payload: Digest) {
        if self.phase == Phase::Open {
            if let Some(t) = self.outcome.traffic.as_mut() {
                t.incoming_websocket_messages += 1;
            }
        }
        if let Judge::Compressed { count: want, .. } = self.case.judge {
            self.on_compressed_echo(binary, payload, want);
            return;
        }
        let (len, count) = (payload.len, self.outcome.received.len());
        let payload = self.budgeted(payload);
        self.outcome.received.push(Observed::Message { binary, payload });
        if let Judge::Echoes {
            count: want,
            binary: want_binary,
            len: want_len,
        } = self.case.judge
        {
            // Keep memory flat over 1000 round trips: only the count matters.
            if count > 0 {
                self.outcome.received.remove(0);
            }
            let echoes = self.outcome.echoes.get_or_insert_with(Default::default);
            if binary != want_binary || len != want_len {
                echoes.mismatch = Some((binary, len));
                self.send_close(Some(CloseCode::NORMAL), Vec::new());
                return;
            }
            echoes.matched += 1;
            if echoes.matched >= want {
                self.send_close(Some(CloseCode::NORMAL), Vec::new());
            } else {
                let _ = self.echo_tx.try_send(());
            }
            return;
        }
        self.after_event();
    }

    /// 12.x/13.x (Autobahn's `case12_x_x.py` `onMessage`): an echo must
    /// equal the message sent by type, length and SHA-1; the first that
    /// differs ends the case (close 1000), the `want`-th equal one too.
    fn on_compressed_echo(&mut self, binary: bool, payload: Digest, want: u32) {
        let expected = self.expected_echo.take();
        // Only the last echo is kept: memory stays flat over 1000 messages.
        self.outcome.received.clear();
        let (len, sha1) = (payload.len, payload.sha1);
        let payload = self.budgeted(payload);
        self.outcome.received.push(Observed::Message { binary, payload });
        let echoes = self.outcome.echoes.get_or_insert_with(Default::default);
        let Some(expected) = expected else {
            // An echo nothing was sent for.
            echoes.mismatch = Some((binary, len));
            self.send_close(Some(CloseCode::NORMAL), Vec::new());
            return;
        };
        if binary != expected.binary || len != expected.len {
            echoes.mismatch = Some((binary, len));
        } else if sha1 != expected.sha1 {
            let hex = |h: Option<[u8; 20]>| h.map(hex::encode).unwrap_or_default();
            echoes.sha1_mismatch = Some((hex(expected.sha1), hex(sha1)));
        } else {
            echoes.matched += 1;
            if echoes.matched < want {
                let _ = self.echo_tx.try_send(());
                return;
            }
        }
        self.send_close(Some(CloseCode::NORMAL), Vec::new());
    }

    /// `payload` as the events keep it: without its first bytes once the
    /// memory budget is spent.
    fn budgeted(&self, mut payload: Digest) -> Digest {
        if !lock(&self.log).keep_head(&payload.head) {
            payload.head = Vec::new();
        }
        payload
    }

    /// Autobahn's `finishWhenDone`, and the flood guard.
    fn after_event(&mut self) {
        if self.outcome.received.len() >= MAX_EVENTS {
            self.protocol_violation(
                CloseCode::POLICY_VIOLATION,
                format!("the peer sent {MAX_EVENTS} events; failing the connection as a flood"),
            );
            return;
        }
        let done = match self.case.judge {
            Judge::Events | Judge::EventsWrongCodeFatal => self.expectations.done(&self.outcome.received),
            // Fuzzing scripts: every echo and the last ping's pong are in,
            // whatever unsolicited pongs came between (RFC 6455 §5.5.3).
            Judge::Rfc => crate::fuzz::oracle::done(self.case, self.config.role, &self.outcome.received),
            // Autobahn's 9.x cases have no expected lists, so its
            // finishWhenDone closes at the first event that reaches it (a
            // pong; their echoes go to the case's own onMessage).
            Judge::Echoes { .. } | Judge::Compressed { .. } => true,
            // The bomb: the peer is to close.
            Judge::Informational | Judge::TooBig { .. } => false,
        };
        if done && self.case.expected_close.closed_by_me {
            let code = self.case.expected_close.close_codes.first().copied();
            self.send_close(code, Vec::new());
        }
    }

    /// Autobahn's `processControlFrame` and `onCloseFrame` for a close frame
    /// from the peer. The code is recorded before it is checked, so an
    /// invalid code still reaches the verdict (WRONG CODE); a bad payload
    /// fails the connection, and the frame still counts as the peer's close.
    fn on_close(&mut self, payload: &[u8]) {
        let code = payload
            .first_chunk::<2>()
            .map(|b| CloseCode(u16::from_be_bytes(*b)));
        let reason = payload.get(2..).unwrap_or_default().to_vec();
        let reason_error = std::str::from_utf8(&reason).err();
        self.outcome.remote_close = Some(CloseFrame { code, reason });
        if payload.len() == 1 {
            self.protocol_violation(
                CloseCode::PROTOCOL_ERROR,
                "close frame from the peer with a 1-byte payload (RFC 6455 §5.5.1)".into(),
            );
        }
        if let Some(code) = code.filter(|c| !c.is_sendable()) {
            self.protocol_violation(
                CloseCode::PROTOCOL_ERROR,
                format!("invalid close code {} from the peer (RFC 6455 §7.4)", code.0),
            );
        }
        if let Some(e) = reason_error {
            self.protocol_violation(
                CloseCode::INVALID_PAYLOAD,
                format!("close reason from the peer is not UTF-8 (RFC 6455 §5.5.1): {e}"),
            );
        }
        match self.phase {
            Phase::Closing => {
                // The answer to the harness's close.
                self.close_handshake_at = None;
                self.outcome.was_clean = true;
                match self.config.role {
                    Role::Server => self.shut_down(),
                    Role::Client => self.drop_at = self.timer(self.config.server_drop_timeout),
                }
            }
            Phase::Open => {
                // The peer starts the closing handshake; Autobahn answers
                // with 1000, not the peer's code.
                self.outcome.was_clean = true;
                self.write_close(Some(CloseCode::NORMAL), Vec::new(), CloseKind::Answer);
                if self.config.role == Role::Server {
                    self.shut_down();
                }
            }
            // A failure above dropped the connection.
            Phase::Flushing | Phase::Ended => self.outcome.was_clean = false,
        }
    }

    /// The harness closes TCP with FIN once its close frames are out (Twisted's
    /// `loseConnection`): as a server after the closing handshake, and in
    /// either role when failing an already closing connection. What the
    /// script still had queued is pointless (the peer stopped reading), so
    /// only close frames go out first; a writer stuck on a peer that no
    /// longer reads gets a short grace. Nothing more is parsed.
    fn shut_down(&mut self) {
        self.pending.retain(|cmd| match cmd {
            WriterCmd::Write(out) => out.frames.iter().any(|f| f.header.opcode == Opcode::CLOSE),
            WriterCmd::Shutdown => true,
        });
        self.pending.push_back(WriterCmd::Shutdown);
        self.outcome.dropped_by_me = true;
        self.phase = Phase::Flushing;
        // The grace to flush the close frame: the server-drop timeout, at
        // least a second, however the spec set it.
        let grace = self
            .config
            .server_drop_timeout
            .unwrap_or_default()
            .max(Duration::from_secs(1));
        self.drop_at = Some(Instant::now() + self.config.scaled(grace));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 6.4.1 waits 1 s twice between its frames whatever the scale; at
    /// `--timeout-scale 0.1` the deadline was 0.8 s and cut the case short.
    #[test]
    fn the_deadline_leaves_room_for_the_cases_own_waits_at_any_scale() {
        let case = wsconform_cases::catalog()
            .into_iter()
            .find(|c| c.id == "6.4.1")
            .expect("6.4.1 is in the catalog");
        let waits: Duration = case
            .steps
            .iter()
            .map(|s| match s {
                Step::Wait { ms, .. } => Duration::from_millis(*ms),
                _ => Duration::ZERO,
            })
            .sum();
        assert_eq!(waits, Duration::from_secs(2));
        for scale in [0.1, 1.0, 3.0] {
            let mut config = EngineConfig::new(Role::Client);
            config.timeout_scale = scale;
            let deadline = config.deadline_for(&case);
            assert!(
                deadline > waits + Duration::from_secs(1).mul_f64(scale),
                "scale {scale}: deadline {deadline:?}"
            );
        }
    }
}
