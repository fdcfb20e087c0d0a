//! permessage-deflate (RFC 7692) for the reference peers. tungstenite has
//! none, so once the handshake negotiated it, a layer between the socket
//! and tungstenite inflates every compressed message the peer sends into
//! one plain frame for tungstenite, and compresses every message
//! tungstenite sends into one frame with RSV1 (RFC 7692 §6.1), with
//! `wire`'s codec and the negotiated parameters (context takeover, window
//! bits: §7.1). Control frames pass unchanged (RSV1 on one is left for
//! tungstenite to refuse); RSV1 on a continuation frame fails the
//! connection (§6.1). Bytes that are not valid frames pass through raw, for
//! tungstenite to judge. Also here: the server's answer to offers and the
//! client's check of a response, and the permessage-deflate knobs.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use wsconform_wire::deflate::{
    choose, encode_extensions, parse_extension_headers, validate_response_headers, AcceptPolicy, Compressor,
    Decompressor, DirectionParams, ExtensionParam, NegotiationError, Offer, Params, Response, WindowBits,
    EXTENSION_NAME,
};
use wsconform_wire::frame::FrameHeader;
use wsconform_wire::handshake::Request;
use wsconform_wire::{Decoded, Decoder, DecoderConfig, Frame, Opcode, Role};

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

/// The largest message the layer inflates or compresses (tungstenite's own
/// limit, `server::config`).
const MAX_MESSAGE: u64 = 64 << 20;
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
    let cap = usize::try_from(MAX_MESSAGE).unwrap_or(usize::MAX);
    let params = setup.params.unwrap_or_default();
    let mut inflater = Decompressor::new(params.sent_by(sender), cap);
    let mut compressor = Compressor::new(compression(params.sent_by(sender), &setup.knobs), LEVEL);
    let mut frame: Option<(FrameHeader, Vec<u8>)> = None;
    let mut message: Option<Message> = None;
    let mut passthrough = false;
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
                                setup: &setup,
                            };
                            match on_frame(h, payload, dir, &mut message, codec) {
                                Ok(Some(f)) => out.extend_from_slice(&f.encode()),
                                Ok(None) => {}
                                // A message that does not inflate: the
                                // reference fails the connection by dropping it.
                                Err(()) => return writer.shutdown().await,
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

/// The codec of one direction and what it was set up with.
struct Codec<'a> {
    inflater: &'a mut Decompressor,
    compressor: &'a mut Compressor,
    setup: &'a Setup,
}

/// One complete frame: the frame to forward, if any; `Err` fails the
/// connection.
fn on_frame(
    h: FrameHeader,
    payload: Vec<u8>,
    dir: Direction,
    message: &mut Option<Message>,
    codec: Codec<'_>,
) -> Result<Option<Frame>, ()> {
    let Codec {
        inflater,
        compressor,
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
            return Err(());
        }
        if first && knob(Knob::RefuseBfinal) && payload.first().is_some_and(|b| b & 1 == 1) {
            return Err(());
        }
        if !first && h.fin && payload == [0x00] && knob(Knob::RefuseEmptyDeflateBlock) {
            return Err(());
        }
    }
    match dir {
        Direction::In => inflater.feed(&payload, &mut m.payload).map_err(|_| ())?,
        Direction::Out => m.payload.extend_from_slice(&payload),
    }
    if !h.fin {
        return Ok(None);
    }
    let Some(m) = message.take() else {
        return Ok(None);
    };
    let (payload, rsv) = match dir {
        Direction::In => {
            let mut plain = m.payload;
            inflater.finish(&mut plain).map_err(|_| ())?;
            (plain, m.first.rsv & !RSV1)
        }
        Direction::Out => {
            let mut plain = m.payload;
            if knob(Knob::DeflateCorruptEcho) {
                if let Some(b) = plain.iter_mut().find(|b| b.is_ascii()) {
                    *b ^= 1;
                }
            }
            (compressor.compress(&plain).map_err(|_| ())?, m.first.rsv | RSV1)
        }
    };
    let mut first = m.first;
    first.fin = true;
    Ok(Some(frame(first, m.first.opcode, rsv, payload)))
}

/// A frame like `h` (its mask key kept) with another opcode, RSV bits and
/// payload.
fn frame(h: FrameHeader, opcode: Opcode, rsv: u8, payload: Vec<u8>) -> Frame {
    Frame::new(opcode, payload).fin(h.fin).rsv(rsv).mask(h.mask)
}
