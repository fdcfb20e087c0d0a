//! permessage-deflate (RFC 7692) for the reference peers. tungstenite has
//! none, so once the handshake negotiated it, a layer between the socket
//! and tungstenite inflates every compressed message the peer sends into
//! one plain frame for tungstenite, and compresses every message
//! tungstenite sends into one frame with RSV1 (RFC 7692 §6.1), with
//! `wire`'s codec and the negotiated parameters (context takeover, window
//! bits: §7.1). Control frames pass unchanged. Bytes that are not valid
//! frames pass through raw, for tungstenite to judge.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use wsconform_wire::deflate::{Compressor, Decompressor, Params};
use wsconform_wire::frame::FrameHeader;
use wsconform_wire::{Decoded, Decoder, DecoderConfig, Frame, Opcode, Role};

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
pub async fn layer<S, I>(socket: S, leftover: Vec<u8>, inner: I, params: Params, local: Role)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
    I: AsyncRead + AsyncWrite + Send + 'static,
{
    let (sock_r, sock_w) = tokio::io::split(socket);
    let (inner_r, inner_w) = tokio::io::split(inner);
    let input = pump(sock_r, leftover, inner_w, Direction::In, local.peer(), params);
    let output = pump(inner_r, Vec::new(), sock_w, Direction::Out, local, params);
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
    params: Params,
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
    let mut inflater = Decompressor::new(params.sent_by(sender), cap);
    let mut compressor = Compressor::new(params.sent_by(sender), LEVEL);
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
                            match on_frame(h, payload, dir, &mut message, &mut inflater, &mut compressor) {
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

/// One complete frame: the frame to forward, if any.
fn on_frame(
    h: FrameHeader,
    payload: Vec<u8>,
    dir: Direction,
    message: &mut Option<Message>,
    inflater: &mut Decompressor,
    compressor: &mut Compressor,
) -> Result<Option<Frame>, ()> {
    if h.opcode.is_control() {
        return Ok(Some(frame(h, h.opcode, h.rsv, payload)));
    }
    let m = message.get_or_insert_with(|| Message {
        first: h,
        payload: Vec::new(),
        // In: the peer's RSV1 (RFC 7692 §6.2). Out: every message is compressed.
        compressed: dir == Direction::Out || h.rsv & RSV1 != 0,
    });
    if !m.compressed {
        if h.fin {
            *message = None;
        }
        return Ok(Some(frame(h, h.opcode, h.rsv, payload)));
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
        Direction::Out => (
            compressor.compress(&m.payload).map_err(|_| ())?,
            m.first.rsv | RSV1,
        ),
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
