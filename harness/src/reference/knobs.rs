//! Misbehaviour knobs for the reference peers. Each knob breaks one rule of
//! RFC 6455 or RFC 7692 on purpose so that a test can show the cases that
//! check the rule failing. Most work by rewriting frames between the socket
//! and tungstenite (which has no switches for misbehaving): the peer's
//! frames on the way in, the reference's own on the way out; the handshake
//! knobs change the reference's own handshake, and the permessage-deflate
//! ones its negotiation and compression layer (`reference/deflate.rs`).

use std::collections::BTreeSet;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use wsconform_cases::{HeaderEdit, ResponseEdits};
use wsconform_wire::frame::FrameHeader;
use wsconform_wire::{
    CloseCode, ClosePayload, Decoded, Decoder, DecoderConfig, Frame, LengthForm, Opcode, Role, Violation,
};

/// One way to break the reference server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Knob {
    /// Clear RSV bits of incoming frames instead of failing (breaks RFC 6455 §5.2).
    AcceptReservedBits,
    /// Drop incoming frames with reserved opcodes instead of failing (§5.2).
    IgnoreReservedOpcodes,
    /// Repair invalid UTF-8 in incoming text messages instead of failing (§8.1).
    NoUtf8Validation,
    /// Turn invalid incoming close payloads into valid ones (§5.5.1, §7.4).
    AcceptAnyCloseCode,
    /// Never send pongs (§5.5.2).
    NeverPong,
    /// Send close code 1011 in every close frame (§7.4.1).
    WrongCloseCode,
    /// Close TCP instead of sending a close frame (§7.1.1).
    DropOnClose,
    /// Server: upgrade any request, however malformed (§4.2.1); client:
    /// accept any response (§4.1).
    LaxHandshake,
    /// Server only: answer with a wrong Sec-WebSocket-Accept (§4.2.2).
    WrongAccept,
    /// Client only: send the same Sec-WebSocket-Key on every connection (§4.1).
    FixedKey,
    /// Client only: a fresh Sec-WebSocket-Key on every case's connection,
    /// one fixed key on the others (`/getCaseCount`, `/updateReports`), so
    /// the repeat comes after `hs.client.fresh-key` ran (§4.1): the case
    /// must fail whenever in the run the repeat happens.
    RepeatKeyOutsideCases,
    /// Server only: answer the upgrade with `HTTP/1.0 101` (§4.2.2 sends
    /// HTTP/1.1's status line; Autobahn's client refuses any other version).
    Http10Response,
    /// Server only: answer with `Upgrade: websocket, h2c` (§4.1: the value
    /// must be an ASCII case-insensitive match for "websocket").
    UpgradeList,
    /// Put the reserved code 1004 in every close frame (§7.4.1: "MUST NOT be set").
    InvalidCloseCode,
    /// Put a reason that is not UTF-8 in every close frame (§5.5.1).
    InvalidCloseReason,
    /// Pad every close frame to 126 bytes, one more than a control frame may carry (§5.5).
    LongClose,
    /// Write data frames' lengths in a longer form than needed (§5.2: "the
    /// minimal number of bytes MUST be used").
    NonMinimalLength,
    /// Send data frames 1.5 s late.
    LateEcho,
    /// Append the byte 0xFF to the payload of every text frame sent (a first
    /// frame of a text message: §8.1, "MUST _Fail the WebSocket
    /// Connection_" on text that is not UTF-8).
    InvalidUtf8Echo,
    /// Send an unsolicited pong before every data frame (§5.5.3 allows
    /// it; Autobahn's 9.x cases close at the first event they see).
    PongFirst,
    /// Accept frames masked the wrong way for their sender, unmasked
    /// client frames or masked server frames, instead of failing (§5.1).
    LaxMasking,
    /// Handle each read as a unit: when a read holds a protocol violation,
    /// the valid frames before it in the same read are never processed (the
    /// NON-STRICT behaviour of Autobahn 3.2, 4.1.3, 5.15, …, but only when
    /// the frames arrive together: verdicts then show how writes arrive).
    BatchedReads,
    /// Server only: add a parameter RFC 7692 does not define,
    /// `x-wsconform-undefined`, to its permessage-deflate response (RFC 7692
    /// §5: the client MUST fail the connection).
    UndefinedDeflateParam,
    /// Server only: accept every permessage-deflate offer, one response
    /// element each (RFC 7692 §5: at most one; both would claim RSV1).
    AcceptEveryOffer,
    /// Server only: put `client_max_window_bits=15` in its response whether
    /// or not the offer had the parameter (RFC 7692 §7.1.2.2: "MUST NOT").
    UnofferedClientWindow,
    /// Server only: leave `server_max_window_bits=15` out of its response
    /// when the accepted offer asked for it (RFC 7692 §7.1.2.1: the server
    /// accepts such an offer by including it), as Faye, aiohttp and Beast
    /// do (docs/compliance-findings.md).
    OmitServerWindowBits,
    /// Server only: take window bits outside 8..15 in an offer as 15 instead
    /// of declining the offer (RFC 7692 §5, §7.1.2).
    LaxOfferWindowBits,
    /// Client only: accept any permessage-deflate response; one it cannot
    /// read counts as plain `permessage-deflate` (RFC 7692 §5: the client
    /// MUST fail the connection).
    LaxDeflateResponse,
    /// Client only: refuse a response without `client_max_window_bits`
    /// to an offer that had it, which a server may send (RFC 7692 §7.1.2.2:
    /// the client then uses up to 15 bits).
    RequireClientWindowBits,
    /// Ignore RSV1 on a continuation frame of a compressed message instead
    /// of failing (RFC 7692 §6.1).
    AcceptRsv1Continuation,
    /// Clear RSV1 on control frames instead of failing (RFC 7692 §6.1).
    AcceptRsv1Control,
    /// Inflate messages with RSV1 on a connection that negotiated no
    /// compression instead of failing (RFC 7692 §6, RFC 6455 §5.2).
    InflateUnnegotiated,
    /// Fail the connection on a compressed message whose final frame is the
    /// single byte `00`, an empty DEFLATE block, which is valid (RFC 7692
    /// §7.2.3.6).
    RefuseEmptyDeflateBlock,
    /// Fail the connection on a compressed message whose first DEFLATE
    /// block has BFINAL set, which is valid (RFC 7692 §7.2.3.4).
    RefuseBfinal,
    /// Change one byte (the first ASCII one, so text stays UTF-8) of every
    /// message it compresses: its compressed echoes differ from what was
    /// sent (12.x/13.x, RFC 7692 §7.2.1).
    DeflateCorruptEcho,
    /// Compress with a 32 KiB window whatever `*_max_window_bits` was
    /// negotiated for its messages (RFC 7692 §7.1.2.1, §7.1.2.2).
    IgnoreWindowBits,
    /// Keep its compression context from message to message although
    /// `*_no_context_takeover` was negotiated for its messages (RFC 7692
    /// §7.1.1.1, §7.1.1.2).
    KeepContext,
    /// Inflate compressed messages without a size limit instead of failing
    /// the connection with 1009 past 16 MiB (RFC 6455 §10.4: an
    /// implementation "MUST protect" itself against exceeding its limits;
    /// §7.4.1). The reference cannot hand tungstenite a message it would
    /// not hold, so one past 16 MiB is inflated to its end in pieces that
    /// are counted and dropped, and goes unanswered: a peer still busy
    /// with it.
    DeflateNoLimit,
}

impl Knob {
    /// Knobs of the opening handshake, applied by the server itself rather
    /// than by the frame-rewriting proxy.
    pub fn is_handshake(self) -> bool {
        matches!(
            self,
            Knob::LaxHandshake
                | Knob::WrongAccept
                | Knob::FixedKey
                | Knob::RepeatKeyOutsideCases
                | Knob::Http10Response
                | Knob::UpgradeList
        )
    }

    /// How a response knob changes the reference server's 101 (the same
    /// edits the hs.client cases make when testing clients).
    pub fn response_edits(knobs: &Knobs) -> ResponseEdits {
        let mut edits = ResponseEdits::default();
        if knobs.has(Knob::Http10Response) {
            edits.minor_version = Some(0);
        }
        if knobs.has(Knob::UpgradeList) {
            edits.headers.push(HeaderEdit::Set {
                name: "Upgrade".into(),
                value: "websocket, h2c".into(),
            });
        }
        edits
    }

    /// Knobs of permessage-deflate, applied by the reference peers'
    /// negotiation and compression layer (`reference/deflate.rs`) rather
    /// than by the frame-rewriting proxy.
    pub fn is_deflate(self) -> bool {
        matches!(
            self,
            Knob::UndefinedDeflateParam
                | Knob::AcceptEveryOffer
                | Knob::UnofferedClientWindow
                | Knob::OmitServerWindowBits
                | Knob::LaxOfferWindowBits
                | Knob::LaxDeflateResponse
                | Knob::RequireClientWindowBits
                | Knob::AcceptRsv1Continuation
                | Knob::AcceptRsv1Control
                | Knob::InflateUnnegotiated
                | Knob::RefuseEmptyDeflateBlock
                | Knob::RefuseBfinal
                | Knob::DeflateCorruptEcho
                | Knob::IgnoreWindowBits
                | Knob::KeepContext
                | Knob::DeflateNoLimit
        )
    }

    /// Whether the knob needs the frame-rewriting proxy (`proxy`).
    pub fn needs_proxy(self) -> bool {
        !self.is_handshake() && !self.is_deflate()
    }

    fn rewrites_input(self) -> bool {
        matches!(
            self,
            Knob::AcceptReservedBits
                | Knob::IgnoreReservedOpcodes
                | Knob::NoUtf8Validation
                | Knob::AcceptAnyCloseCode
                | Knob::BatchedReads
                | Knob::LaxMasking
        )
    }
}

/// A set of knobs; empty means a well-behaved server.
#[derive(Debug, Clone, Default)]
pub struct Knobs(pub Arc<BTreeSet<Knob>>);

impl Knobs {
    pub fn new(knobs: impl IntoIterator<Item = Knob>) -> Knobs {
        Knobs(Arc::new(knobs.into_iter().collect()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn has(&self, k: Knob) -> bool {
        self.0.contains(&k)
    }
}

/// Frames larger than this are passed through unchanged (knob tests use
/// small frames; the cap bounds the proxy's memory).
const MAX_REWRITE: u64 = 32 << 20;

/// Copies `socket` ↔ `inner` until either side ends, rewriting frames as the
/// knobs say; `local` is the role of the reference peer behind `inner`. The
/// HTTP handshake passes through untouched.
pub async fn proxy<S, I>(socket: S, inner: I, knobs: Knobs, local: Role)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
    I: AsyncRead + AsyncWrite + Send + 'static,
{
    let (sock_r, sock_w) = tokio::io::split(socket);
    let (inner_r, inner_w) = tokio::io::split(inner);
    let input = pump(sock_r, inner_w, Direction::In, local.peer(), knobs.clone());
    let output = pump(inner_r, sock_w, Direction::Out, local, knobs);
    tokio::pin!(input, output);
    tokio::select! {
        _ = &mut output => {},
        _ = &mut input => {
            // The peer's side ended, or the reference stopped reading (a
            // frame the peer sent after its close found the pipe closed):
            // what the reference still writes, its close reply above all,
            // must reach the peer, for a little while.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), &mut output).await;
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// From the peer to the reference.
    In,
    /// From the reference to the peer.
    Out,
}

/// A frame being collected for rewriting.
struct Pending {
    header: FrameHeader,
    payload: Vec<u8>,
}

/// What to do with a complete frame.
enum Action {
    Forward(Frame),
    /// Forward after a pause.
    Later(Frame),
    Drop,
    /// Close the connection instead of sending anything.
    Hangup,
}

/// Copies one direction; `sender` is the role of the endpoint writing it.
async fn pump<R, W>(reader: R, writer: W, dir: Direction, sender: Role, knobs: Knobs) -> std::io::Result<()>
where
    R: AsyncRead,
    W: AsyncWrite,
{
    tokio::pin!(reader);
    tokio::pin!(writer);
    let active = match dir {
        Direction::In => knobs.0.iter().any(|k| k.rewrites_input()),
        Direction::Out => knobs.0.iter().any(|k| !k.rewrites_input() && k.needs_proxy()),
    };
    let mut config = DecoderConfig::strict(sender);
    config.allowed_rsv = if knobs.has(Knob::AcceptReservedBits) {
        0b111
    } else {
        0
    };
    config.reject_non_minimal_length = false;
    config.allow_reserved_opcodes = knobs.has(Knob::IgnoreReservedOpcodes);
    config.max_frame_payload = MAX_REWRITE;
    config.max_message_payload = u64::MAX;
    let mut decoder = Decoder::new(config);
    let mut text = TextRepair::default();
    let mut head = HeadScanner::default();
    let mut raw_header = Vec::new();
    let mut frame: Option<Pending> = None;
    let mut passthrough = !active;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            return writer.shutdown().await;
        }
        let mut data = &mut buf[..n];
        if !head.done {
            let split = head.scan(data);
            writer.write_all(&data[..split]).await?;
            data = &mut data[split..];
        }
        if passthrough {
            writer.write_all(data).await?;
            continue;
        }
        // `BatchedReads`: what this read forwards, held until the read is done.
        let mut batch: Option<Vec<u8>> =
            (dir == Direction::In && knobs.has(Knob::BatchedReads)).then(Vec::new);
        let mut pos = 0;
        loop {
            match decoder.decode(&mut data[pos..]) {
                Err(Violation::UnmaskedClientFrame | Violation::MaskedServerFrame)
                    if knobs.has(Knob::LaxMasking) =>
                {
                    // Read the frame as it is; `rewrite` masks it as its
                    // sender should have.
                    let violation = match sender {
                        Role::Client => Violation::UnmaskedClientFrame,
                        Role::Server => Violation::MaskedServerFrame,
                    };
                    let taken = decoder.resume(&violation);
                    raw_header.extend_from_slice(&data[pos..pos + taken]);
                    pos += taken;
                }
                Err(_) => {
                    // The valid frames of this read are dropped with it.
                    batch = None;
                    // Not ours to judge: let tungstenite see the bytes as
                    // sent, after any frames still held for repair.
                    for (header, payload) in std::mem::take(&mut text.frames) {
                        writer.write_all(&reencode(header, payload).encode()).await?;
                    }
                    writer.write_all(&raw_header).await?;
                    writer.write_all(&data[pos..]).await?;
                    passthrough = true;
                    break;
                }
                Ok((used, None)) => {
                    raw_header.extend_from_slice(&data[pos..pos + used]);
                    break;
                }
                Ok((used, Some(item))) => {
                    match item {
                        Decoded::Header(header) => {
                            raw_header.clear();
                            frame = Some(Pending {
                                header,
                                payload: Vec::new(),
                            });
                        }
                        Decoded::Payload(p) => {
                            if let Some(f) = frame.as_mut() {
                                f.payload.extend_from_slice(p);
                            }
                        }
                        Decoded::FrameEnd => {
                            if let Some(f) = frame.take() {
                                for action in rewrite(f, dir, sender, &knobs, &mut text) {
                                    match action {
                                        Action::Forward(out) => match batch.as_mut() {
                                            Some(held) => held.extend_from_slice(&out.encode()),
                                            None => writer.write_all(&out.encode()).await?,
                                        },
                                        Action::Later(out) => {
                                            tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
                                            writer.write_all(&out.encode()).await?
                                        }
                                        Action::Drop => {}
                                        Action::Hangup => return writer.shutdown().await,
                                    }
                                }
                            }
                        }
                    }
                    pos += used;
                }
            }
        }
        if let Some(held) = batch {
            writer.write_all(&held).await?;
        }
        writer.flush().await?;
    }
}

/// Rewrites one complete frame according to the knobs.
fn rewrite(f: Pending, dir: Direction, sender: Role, knobs: &Knobs, text: &mut TextRepair) -> Vec<Action> {
    let mut header = f.header;
    let frame = reencode;
    match dir {
        Direction::In => {
            if knobs.has(Knob::LaxMasking) {
                header.mask = match sender {
                    Role::Client => header.mask.or(Some([0x11, 0x22, 0x33, 0x44])),
                    Role::Server => None,
                };
            }
            if knobs.has(Knob::AcceptReservedBits) {
                header.rsv = 0;
            }
            if knobs.has(Knob::IgnoreReservedOpcodes) && header.opcode.is_reserved() {
                return vec![Action::Drop];
            }
            if knobs.has(Knob::AcceptAnyCloseCode)
                && header.opcode == Opcode::CLOSE
                && ClosePayload::parse(&f.payload).is_err()
            {
                return vec![Action::Forward(frame(
                    header,
                    ClosePayload::new(CloseCode::NORMAL, "").encode(),
                ))];
            }
            if knobs.has(Knob::NoUtf8Validation) && (text.in_text || !header.opcode.is_control()) {
                return text
                    .feed(header, f.payload)
                    .into_iter()
                    .map(|(h, p)| Action::Forward(frame(h, p)))
                    .collect();
            }
            vec![Action::Forward(frame(header, f.payload))]
        }
        Direction::Out => match header.opcode {
            Opcode::PONG if knobs.has(Knob::NeverPong) => vec![Action::Drop],
            Opcode::CLOSE if knobs.has(Knob::InvalidCloseCode) => {
                let reason = f.payload.get(2..).unwrap_or_default().to_vec();
                vec![Action::Forward(frame(
                    header,
                    ClosePayload::new(CloseCode::RESERVED, reason).encode(),
                ))]
            }
            Opcode::CLOSE if knobs.has(Knob::InvalidCloseReason) => {
                vec![Action::Forward(frame(
                    header,
                    ClosePayload::new(CloseCode::NORMAL, [0xFF, 0xFE]).encode(),
                ))]
            }
            Opcode::CLOSE if knobs.has(Knob::LongClose) => {
                let mut long = ClosePayload::new(CloseCode::NORMAL, []).encode();
                long.resize(126, b'*');
                vec![Action::Forward(frame(header, long))]
            }
            op if !op.is_control() && knobs.has(Knob::NonMinimalLength) => {
                let mut out = frame(header, f.payload);
                out.length_form = match out.header.payload_len {
                    0..=125 => LengthForm::Extended16,
                    _ => LengthForm::Extended64,
                };
                vec![Action::Forward(out)]
            }
            Opcode::TEXT if knobs.has(Knob::InvalidUtf8Echo) => {
                let mut payload = f.payload;
                payload.push(0xFF);
                vec![Action::Forward(frame(header, payload))]
            }
            op if !op.is_control() && knobs.has(Knob::LateEcho) => {
                vec![Action::Later(frame(header, f.payload))]
            }
            op if !op.is_control() && knobs.has(Knob::PongFirst) => {
                let mut pong = header;
                pong.opcode = Opcode::PONG;
                pong.fin = true;
                pong.rsv = 0;
                vec![
                    Action::Forward(frame(pong, b"unsolicited".to_vec())),
                    Action::Forward(frame(header, f.payload)),
                ]
            }
            Opcode::CLOSE if knobs.has(Knob::DropOnClose) => vec![Action::Hangup],
            Opcode::CLOSE if knobs.has(Knob::WrongCloseCode) => {
                vec![Action::Forward(frame(
                    header,
                    ClosePayload::new(CloseCode::INTERNAL_ERROR, "").encode(),
                ))]
            }
            _ => vec![Action::Forward(frame(header, f.payload))],
        },
    }
}

/// A frame with `header` (its length fixed up) and `payload`, masked with the
/// header's key as it was.
fn reencode(header: FrameHeader, payload: Vec<u8>) -> Frame {
    let mut h = header;
    h.payload_len = payload.len() as u64;
    Frame {
        header: h,
        payload,
        length_form: Default::default(),
    }
}

/// Holds the frames of a text message until it is complete, then passes
/// them on, or — when the message is not UTF-8 — one frame with the text
/// repaired (U+FFFD for every bad sequence).
#[derive(Default)]
struct TextRepair {
    frames: Vec<(FrameHeader, Vec<u8>)>,
    in_text: bool,
}

impl TextRepair {
    fn feed(&mut self, header: FrameHeader, payload: Vec<u8>) -> Vec<(FrameHeader, Vec<u8>)> {
        // Control frames inside a held message stay held, in order, so the
        // knob changes nothing but the UTF-8 check.
        if self.in_text && header.opcode.is_control() {
            self.frames.push((header, payload));
            return Vec::new();
        }
        // A new data frame inside a held message is a protocol violation the
        // peer must still see: release the held frames as they came.
        let mut out = if header.opcode != Opcode::CONTINUATION {
            std::mem::take(&mut self.frames)
        } else {
            Vec::new()
        };
        if header.opcode == Opcode::TEXT {
            self.in_text = true;
        } else if header.opcode != Opcode::CONTINUATION {
            self.in_text = false;
        }
        if !self.in_text {
            out.push((header, payload));
            return out;
        }
        self.frames.push((header, payload));
        if !header.fin {
            return out;
        }
        self.in_text = false;
        let frames = std::mem::take(&mut self.frames);
        let (control, data): (Vec<_>, Vec<_>) =
            frames.iter().cloned().partition(|(h, _)| h.opcode.is_control());
        let whole: Vec<u8> = data.iter().flat_map(|(_, p)| p.iter().copied()).collect();
        if std::str::from_utf8(&whole).is_ok() {
            out.extend(frames);
        } else {
            out.extend(control);
            if let Some((first, _)) = data.first() {
                let mut first = *first;
                first.fin = true;
                out.push((first, String::from_utf8_lossy(&whole).into_owned().into_bytes()));
            }
        }
        out
    }
}

/// Finds the end of the HTTP head (`\r\n\r\n`) across reads.
#[derive(Default)]
struct HeadScanner {
    tail: Vec<u8>,
    done: bool,
}

impl HeadScanner {
    /// Returns how many bytes of `data` belong to the head.
    fn scan(&mut self, data: &[u8]) -> usize {
        for (i, &b) in data.iter().enumerate() {
            self.tail.push(b);
            if self.tail.len() > 4 {
                self.tail.remove(0);
            }
            if self.tail == b"\r\n\r\n" {
                self.done = true;
                return i + 1;
            }
        }
        data.len()
    }
}
