//! permessage-deflate (RFC 7692) for the reference peers. tungstenite has
//! none, so once the handshake negotiated it, a layer between the socket
//! and tungstenite inflates every compressed message the peer sends into
//! one plain frame for tungstenite, and compresses every message
//! tungstenite sends into one frame with RSV1 (RFC 7692 §6.1), with
//! `wire`'s codec and the negotiated parameters (context takeover, window
//! bits: §7.1). Control frames pass unchanged (RSV1 on one is left for
//! tungstenite to refuse); RSV1 on a continuation frame fails the
//! connection (§6.1). Bytes that are not valid frames pass through raw, for
//! tungstenite to judge. A compressed message that inflates past
//! [`MAX_INFLATED`] fails the connection with 1009 (RFC 6455 §7.4.1,
//! §10.4), after at most that much of it was inflated. Also here: the server's answer to offers and the
//! client's check of a response, and the permessage-deflate knobs.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use wsconform_wire::deflate::{
    choose, encode_extensions, parse_extension_headers, validate_response_headers, AcceptPolicy, Compressor,
    Decompressor, DirectionParams, ExtensionParam, InflateError, NegotiationError, Offer, Params, Response,
    WindowBits, EXTENSION_NAME,
};
use wsconform_wire::frame::FrameHeader;
use wsconform_wire::handshake::Request;
use wsconform_wire::{CloseCode, ClosePayload, Decoded, Decoder, DecoderConfig, Frame, Opcode, Role};

use super::knobs::{Knob, Knobs};
use crate::record::DeflateFacts;

/// The reference server's answer to the request's offers: the first valid
/// offer, granting what it asks and asking nothing (Autobahn's `accept1`);
/// `None` declines. The knobs break the rules of RFC 7692 §5 and §7.1.
pub fn answer_offers(req: &Request, knobs: &Knobs) -> Option<DeflateFacts> {
    let mut elements = parse_extension_headers(req.headers.all("Sec-WebSocket-Extensions")).ok()?;
    elements.retain(|e| e.name == EXTENSION_NAME);
    if knobs.has(Knob::LaxOfferWindowBits) {
        for p in elements.iter_mut().flat_map(|e| e.params.iter_mut()) {
            let bits = p.value.as_deref().and_then(|v| v.parse::<u32>().ok());
            if p.name.ends_with("_max_window_bits") && bits.is_some_and(|b| !(8..=15).contains(&b)) {
                p.value = Some("15".into());
            }
        }
    }
    let offers: Vec<_> = elements.iter().map(Offer::from_extension).collect();
    let policy = AcceptPolicy::default();
    let accepted: Vec<Response> = if knobs.has(Knob::AcceptEveryOffer) {
        offers
            .iter()
            .filter_map(|o| o.as_ref().ok().and_then(|o| policy.accept(o)))
            .collect()
    } else {
        choose(&offers, &[policy]).map(|(_, r)| r).into_iter().collect()
    };
    let params = accepted.first()?.params();
    let mut answer: Vec<_> = accepted.iter().map(Response::to_extension).collect();
    for e in &mut answer {
        let has_client_window = e.params.iter().any(|p| p.name == "client_max_window_bits");
        if knobs.has(Knob::UnofferedClientWindow) && !has_client_window {
            e.params.push(ExtensionParam {
                name: "client_max_window_bits".into(),
                value: Some("15".into()),
            });
        }
        if knobs.has(Knob::OmitServerWindowBits) {
            e.params
                .retain(|p| !(p.name == "server_max_window_bits" && p.value.as_deref() == Some("15")));
        }
        if knobs.has(Knob::UndefinedDeflateParam) {
            e.params.push(ExtensionParam {
                name: "x-wsconform-undefined".into(),
                value: None,
            });
        }
    }
    Some(DeflateFacts {
        response: encode_extensions(&answer),
        params,
        response_breaks: None,
    })
}

/// The reference client's check of a response to its `offer` (RFC 7692 §5,
/// §7.1): the parameters in use, `None` when the server declined.
pub fn check_response(
    offer: &Offer,
    values: &[&[u8]],
    knobs: &Knobs,
) -> Result<Option<Params>, NegotiationError> {
    let checked = validate_response_headers(std::slice::from_ref(offer), values.iter().copied());
    if knobs.has(Knob::RequireClientWindowBits) && offer.client_max_window_bits.is_some() {
        if let Ok(Some(response)) = Response::find_in(values.iter().copied()) {
            if response.client_max_window_bits.is_none() {
                return Err(NegotiationError::MissingValue("client_max_window_bits".into()));
            }
        }
    }
    match checked {
        Err(_) if knobs.has(Knob::LaxDeflateResponse) => Ok(Some(Params::default())),
        other => other,
    }
}

/// What the layer works with: the negotiated parameters, or `None` when
/// nothing was negotiated (the layer then runs only under the
/// `inflate-unnegotiated` knob, inflating with the defaults and compressing
/// nothing), and the knobs.
#[derive(Debug, Clone)]
pub struct Setup {
    pub params: Option<Params>,
    pub knobs: Knobs,
}

impl Setup {
    /// Whether a connection with `params` negotiated needs the layer.
    pub fn needed(params: Option<Params>, knobs: &Knobs) -> Option<Setup> {
        (params.is_some() || knobs.has(Knob::InflateUnnegotiated)).then(|| Setup {
            params,
            knobs: knobs.clone(),
        })
    }
}

/// The largest frame or message the layer reads or compresses (tungstenite's
/// own limit, `server::config`).
const MAX_MESSAGE: u64 = 64 << 20;
/// The largest message the layer inflates: Autobahn's largest (9.1.6,
/// 9.2.6: 16 MiB), which a peer is expected to handle. Past it the reference
/// fails the connection with 1009 (RFC 6455 §10.4: an implementation "MUST
/// protect" itself against exceeding its limits; §7.4.1), having held at
/// most this much of the message; without a limit, a decompression bomb
/// (`pmd.*.decompression-bomb`) would cost it 256 MiB.
const MAX_INFLATED: usize = 16 << 20;
/// `deflate-no-limit`: compressed bytes inflated at once, so each piece of
/// output stays near 1 MiB (DEFLATE expands at most 1032:1).
const UNLIMITED_PIECE: usize = 1024;
/// RSV1 in the decoder's three-bit `rsv` field.
const RSV1: u8 = 0b100;
/// zlib level: 1, the fastest (RFC 7692 leaves it to the sender).
const LEVEL: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// From the peer to tungstenite: inflate.
    In,
    /// From tungstenite to the peer: compress.
    Out,
}

/// Copies `socket` ↔ `inner` (tungstenite's side) until either ends;
/// `leftover` are bytes read from the socket past the handshake; `local`
/// is the reference peer's role.
pub async fn layer<S, I>(socket: S, leftover: Vec<u8>, inner: I, setup: Setup, local: Role)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
    I: AsyncRead + AsyncWrite + Send + 'static,
{
    let (sock_r, sock_w) = tokio::io::split(socket);
    let (inner_r, inner_w) = tokio::io::split(inner);
    let input = pump(
        sock_r,
        leftover,
        inner_w,
        Direction::In,
        local.peer(),
        setup.clone(),
    );
    let output = pump(inner_r, Vec::new(), sock_w, Direction::Out, local, setup);
    tokio::pin!(input, output);
    tokio::select! {
        _ = &mut output => {},
        _ = &mut input => {
            // The reference's close reply must still reach the peer.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), &mut output).await;
        }
    }
}

/// A message being inflated or collected for compression.
struct Message {
    first: FrameHeader,
    payload: Vec<u8>,
    /// `deflate-no-limit`: inflated bytes past [`MAX_INFLATED`], counted
    /// and not kept.
    dropped: u64,
    compressed: bool,
}

/// One direction; `sender` is the role of the endpoint writing it.
async fn pump<R, W>(
    reader: R,
    leftover: Vec<u8>,
    writer: W,
    dir: Direction,
    sender: Role,
    setup: Setup,
) -> std::io::Result<()>
where
    R: AsyncRead,
    W: AsyncWrite,
{
    tokio::pin!(reader);
    tokio::pin!(writer);
    let mut config = DecoderConfig::strict(sender);
    config.allowed_rsv = RSV1;
    config.reject_non_minimal_length = false;
    config.max_frame_payload = MAX_MESSAGE;
    config.max_message_payload = MAX_MESSAGE;
    let mut decoder = Decoder::new(config);
    let cap = if setup.knobs.has(Knob::DeflateNoLimit) {
        usize::MAX
    } else {
        MAX_INFLATED
    };
    let params = setup.params.unwrap_or_default();
    let mut inflater = Decompressor::new(params.sent_by(sender), cap);
    // `deflate-no-limit`'s pieces; the capacity keeps the inflater from
    // growing it (it grows buffers with the message, `Decompressor::feed`).
    let mut scratch = Vec::with_capacity(64 * 1024);
    let mut compressor = Compressor::new(compression(params.sent_by(sender), &setup.knobs), LEVEL);
    let mut frame: Option<(FrameHeader, Vec<u8>)> = None;
    let mut message: Option<Message> = None;
    let mut passthrough = false;
    // The reference failed the connection with 1009: what the peer sends
    // after it is not processed (RFC 6455 §7.1.7).
    let mut discarding = false;
    let mut buf = vec![0u8; 64 * 1024];
    let mut pending = leftover;
    loop {
        let mut data = if pending.is_empty() {
            let n = reader.read(&mut buf).await?;
            if n == 0 {
                return writer.shutdown().await;
            }
            buf[..n].to_vec()
        } else {
            std::mem::take(&mut pending)
        };
        if discarding {
            continue;
        }
        if passthrough {
            writer.write_all(&data).await?;
            continue;
        }
        let mut pos = 0;
        let mut out = Vec::new();
        loop {
            match decoder.decode(&mut data[pos..]) {
                Err(_) => {
                    // Not ours to judge: tungstenite sees the rest as sent.
                    writer.write_all(&out).await?;
                    out.clear();
                    writer.write_all(&data[pos..]).await?;
                    passthrough = true;
                    break;
                }
                Ok((_, None)) => break,
                Ok((used, Some(item))) => {
                    pos += used;
                    match item {
                        Decoded::Header(h) => frame = Some((h, Vec::new())),
                        Decoded::Payload(p) => {
                            if let Some((_, payload)) = frame.as_mut() {
                                payload.extend_from_slice(p);
                            }
                        }
                        Decoded::FrameEnd => {
                            let Some((h, payload)) = frame.take() else {
                                continue;
                            };
                            let codec = Codec {
                                inflater: &mut inflater,
                                compressor: &mut compressor,
                                scratch: &mut scratch,
                                setup: &setup,
                            };
                            match on_frame(h, payload, dir, &mut message, codec) {
                                Ok(Some(f)) => out.extend_from_slice(&f.encode()),
                                Ok(None) => {}
                                // A message that does not inflate: the
                                // reference fails the connection by dropping it.
                                Err(Failure::Drop) => return writer.shutdown().await,
                                Err(Failure::TooBig) => {
                                    out.extend_from_slice(&too_big_close(sender).encode());
                                    discarding = true;
                                    break;
                                }
                            }
                        }
                    }
                }
            }
        }
        writer.write_all(&out).await?;
        writer.flush().await?;
    }
}

/// What the layer compresses with: the negotiated parameters of its own
/// messages, unless a knob breaks them.
fn compression(negotiated: DirectionParams, knobs: &Knobs) -> DirectionParams {
    DirectionParams {
        no_context_takeover: negotiated.no_context_takeover && !knobs.has(Knob::KeepContext),
        max_window_bits: if knobs.has(Knob::IgnoreWindowBits) {
            WindowBits::MAX
        } else {
            negotiated.max_window_bits
        },
    }
}

/// How the layer fails the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// By dropping it without a close frame, as tungstenite does on a
    /// broken rule.
    Drop,
    /// With 1009: a message inflates past [`MAX_INFLATED`].
    TooBig,
}

impl From<InflateError> for Failure {
    fn from(e: InflateError) -> Failure {
        match e {
            InflateError::TooLarge { .. } => Failure::TooBig,
            InflateError::Corrupt(_) | InflateError::BeyondWindow { .. } => Failure::Drop,
        }
    }
}

/// The close frame that fails the connection with 1009 (RFC 6455 §7.4.1),
/// as the peer (`sender`) would send it, handed to tungstenite: the message
/// never reached tungstenite, so it cannot refuse it itself, but it answers
/// a close frame with one carrying the same code (RFC 6455 §5.5.1), and that
/// answer is the reference's close frame. Masked when `sender` is a client
/// (§5.3), as tungstenite requires.
fn too_big_close(sender: Role) -> Frame {
    let reason = format!("message inflates past {} MiB", MAX_INFLATED >> 20);
    Frame::new(
        Opcode::CLOSE,
        ClosePayload::new(CloseCode::MESSAGE_TOO_BIG, reason).encode(),
    )
    .mask((sender == Role::Client).then(rand::random::<[u8; 4]>))
}

/// The codec of one direction and what it was set up with.
struct Codec<'a> {
    inflater: &'a mut Decompressor,
    compressor: &'a mut Compressor,
    /// `deflate-no-limit`'s inflated pieces.
    scratch: &'a mut Vec<u8>,
    setup: &'a Setup,
}

/// `deflate-no-limit`: `scratch` (one inflated piece) joins the message
/// while it stays within [`MAX_INFLATED`]; past it the message's bytes are
/// only counted.
fn keep(m: &mut Message, scratch: &[u8]) {
    if m.dropped == 0 && m.payload.len() + scratch.len() <= MAX_INFLATED {
        m.payload.extend_from_slice(scratch);
    } else {
        m.dropped += (m.payload.len() + scratch.len()) as u64;
        m.payload = Vec::new();
    }
}

/// One complete frame: the frame to forward, if any; `Err` fails the
/// connection.
fn on_frame(
    h: FrameHeader,
    payload: Vec<u8>,
    dir: Direction,
    message: &mut Option<Message>,
    codec: Codec<'_>,
) -> Result<Option<Frame>, Failure> {
    let Codec {
        inflater,
        compressor,
        scratch,
        setup,
    } = codec;
    let knob = |k: Knob| setup.knobs.has(k);
    if h.opcode.is_control() {
        let rsv = match dir {
            Direction::In if knob(Knob::AcceptRsv1Control) => h.rsv & !RSV1,
            _ => h.rsv,
        };
        return Ok(Some(frame(h, h.opcode, rsv, payload)));
    }
    let first = message.is_none();
    let m = message.get_or_insert_with(|| Message {
        first: h,
        payload: Vec::new(),
        dropped: 0,
        // In: the peer's RSV1 (RFC 7692 §6.2). Out: every message is
        // compressed, once compression was negotiated.
        compressed: match dir {
            Direction::In => h.rsv & RSV1 != 0,
            Direction::Out => setup.params.is_some(),
        },
    });
    if !m.compressed {
        if h.fin {
            *message = None;
        }
        return Ok(Some(frame(h, h.opcode, h.rsv, payload)));
    }
    if dir == Direction::In {
        // RFC 7692 §6.1: RSV1 on the first frame only.
        if !first && h.rsv & RSV1 != 0 && !knob(Knob::AcceptRsv1Continuation) {
            return Err(Failure::Drop);
        }
        if first && knob(Knob::RefuseBfinal) && payload.first().is_some_and(|b| b & 1 == 1) {
            return Err(Failure::Drop);
        }
        if !first && h.fin && payload == [0x00] && knob(Knob::RefuseEmptyDeflateBlock) {
            return Err(Failure::Drop);
        }
    }
    let unlimited = dir == Direction::In && knob(Knob::DeflateNoLimit);
    match dir {
        Direction::In if unlimited => {
            for piece in payload.chunks(UNLIMITED_PIECE) {
                scratch.clear();
                inflater.feed(piece, scratch)?;
                keep(m, scratch);
            }
        }
        Direction::In => inflater.feed(&payload, &mut m.payload)?,
        Direction::Out => m.payload.extend_from_slice(&payload),
    }
    if !h.fin {
        return Ok(None);
    }
    let Some(mut m) = message.take() else {
        return Ok(None);
    };
    let first = m.first;
    let (payload, rsv) = match dir {
        Direction::In if unlimited => {
            scratch.clear();
            inflater.finish(scratch)?;
            keep(&mut m, scratch);
            if m.dropped > 0 {
                // Past what the reference holds: nothing to pass on.
                return Ok(None);
            }
            (m.payload, m.first.rsv & !RSV1)
        }
        Direction::In => {
            let mut plain = m.payload;
            inflater.finish(&mut plain)?;
            (plain, m.first.rsv & !RSV1)
        }
        Direction::Out => {
            let mut plain = m.payload;
            if knob(Knob::DeflateCorruptEcho) {
                if let Some(b) = plain.iter_mut().find(|b| b.is_ascii()) {
                    *b ^= 1;
                }
            }
            (
                compressor.compress(&plain).map_err(|_| Failure::Drop)?,
                m.first.rsv | RSV1,
            )
        }
    };
    let mut header = first;
    header.fin = true;
    Ok(Some(frame(header, first.opcode, rsv, payload)))
}

/// A frame like `h` (its mask key kept) with another opcode, RSV bits and
/// payload.
fn frame(h: FrameHeader, opcode: Opcode, rsv: u8, payload: Vec<u8>) -> Frame {
    Frame::new(opcode, payload).fin(h.fin).rsv(rsv).mask(h.mask)
}
