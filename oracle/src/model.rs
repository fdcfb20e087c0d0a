//! The first half of the RFC oracle: from a script's steps alone, what RFC
//! 6455 lets the peer do ([`Model`]); `check` holds the second half. The
//! script's bytes are read by `wire`'s strict decoder, as the peer must read
//! them; the reactions allowed are the rules the catalog's verdicts use,
//! each tied to its section. No rule depends on timing, load or how writes
//! were split: a peer that processes the frames in order has one set of
//! allowed reactions, whatever arrives together.

use wsconform_cases::{message_frames, FrameSpec, Masking, Step};
use wsconform_wire::{
    CloseClass, CloseCode, ClosePayload, ClosePayloadError, Decoded, Decoder, DecoderConfig, Frame,
    FrameHeader, Opcode, Role, Utf8Validator,
};

/// Messages larger than this are not generated; the model's decoder caps
/// at it so a lying script cannot make the oracle allocate.
const MODEL_CAP: u64 = 1 << 20;

/// How the connection must end, given the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// Nothing broke a rule and the harness sent no close: the peer echoes
    /// every message, answers the last ping, and answers the harness's
    /// closing handshake (sent once the echoes are in) with 1000.
    Open,
    /// The harness started the closing handshake with a close frame the
    /// peer must answer (RFC 6455 §5.5.1): with one of `codes`, or none.
    /// `then_broke`: the harness then sent a data frame or an invalid frame,
    /// itself breaking §5.5.1 ("MUST NOT send any more data frames"), so a
    /// peer that fails the connection on it (1002, or dropping TCP) is
    /// within its rights.
    Closed { codes: Vec<CloseCode>, then_broke: bool },
    /// The script broke a MUST at frame `at` (0-based among the frames
    /// sent): the peer must fail the connection (RFC 6455 §7.1.7), with
    /// one of `codes` in its close frame if it sends one, and process
    /// nothing after it.
    Fail {
        codes: Vec<CloseCode>,
        section: &'static str,
        why: String,
        at: usize,
        /// The violation is bad UTF-8 inside a message the script never
        /// finished: a peer that checks UTF-8 at the message's end (RFC
        /// 6455 §8.1 fixes no point; Autobahn 6.4.x calls it NON-STRICT)
        /// may still be waiting for the rest, so a kill timer is no finding.
        may_wait: bool,
    },
}

/// The reactions RFC 6455 allows an echo peer for one script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    /// The messages the peer receives whole before the end, in order: it
    /// echoes them, all of them when the end is [`End::Open`], a prefix
    /// otherwise (a closing or failing peer may drop what it had not sent).
    pub messages: Vec<(bool, Vec<u8>)>,
    /// Ping payloads received before the end.
    pub pings: Vec<Vec<u8>>,
    /// Ping payloads after a violation: answering one means the peer went
    /// on processing (RFC 6455 §7.1.7).
    pub pings_after: Vec<Vec<u8>>,
    /// Ping payloads sent while a peer that checks UTF-8 only at a
    /// message's end may still be waiting for it (after a fragment that
    /// broke UTF-8, before the message ended or another violation): such a
    /// peer answers them. A pong with one of these payloads is not taken
    /// for the answer to a later ping with the same payload.
    pub pings_lazy: Vec<Vec<u8>>,
    /// Codes of the harness's close frames after a violation: a peer that
    /// answers one of them went on processing.
    pub closes_after: Vec<CloseCode>,
    pub end: End,
    /// Messages and pings in the order they were sent.
    order: Vec<Kind>,
}

impl Model {
    /// Events in trigger order, for the engine's "finish when done".
    pub fn events(&self) -> Vec<wsconform_cases::Event> {
        let mut out = Vec::new();
        // Triggers were recorded separately; messages and pings interleave
        // in `order`.
        let (mut m, mut p) = (self.messages.iter(), self.pings.iter());
        for kind in &self.order {
            match kind {
                Kind::Message => {
                    if let Some((binary, bytes)) = m.next() {
                        out.push(wsconform_cases::Event::Message {
                            payload: wsconform_cases::Payload::bytes(bytes.clone()),
                            binary: *binary,
                        });
                    }
                }
                Kind::Ping => {
                    if let Some(bytes) = p.next() {
                        out.push(wsconform_cases::Event::Pong {
                            payload: wsconform_cases::Payload::bytes(bytes.clone()),
                        });
                    }
                }
            }
        }
        out
    }

    /// One line for reports: what the peer must do.
    pub fn expectation(&self) -> String {
        match &self.end {
            End::Open => format!(
                "Echo the {} message(s) intact and in order, answer the last ping with its payload (RFC 6455 §5.5.2), then a clean close with 1000.",
                self.messages.len()
            ),
            End::Closed { codes, .. } => format!(
                "Answer the harness's close frame with one of {} or no code (RFC 6455 §5.5.1); echo at most the {} message(s) before it, in order; no data frame after its close.",
                codes_text(codes),
                self.messages.len()
            ),
            End::Fail {
                codes, section, why, ..
            } => format!(
                "Fail the connection ({section}: {why}) with {} or by dropping TCP; process nothing after it (RFC 6455 §7.1.7).",
                codes_text(codes)
            ),
        }
    }

    /// The section the script's end is judged by.
    pub fn section(&self) -> &'static str {
        match &self.end {
            End::Open => "RFC 6455 §5.4, §5.5.2, §6",
            End::Closed { .. } => "RFC 6455 §5.5.1",
            End::Fail { section, .. } => section,
        }
    }
}

pub(crate) fn codes_text(codes: &[CloseCode]) -> String {
    codes
        .iter()
        .map(|c| c.0.to_string())
        .collect::<Vec<_>>()
        .join("/")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Message,
    Ping,
}

/// The model being built, frame after frame.
struct Builder {
    model: Model,
    decoder: Decoder,
    frame: Option<(FrameHeader, Vec<u8>)>,
    /// The data message in progress: binary?, bytes, its UTF-8 check.
    message: Option<(bool, Vec<u8>, Option<Utf8Validator>)>,
    /// Frames fed so far.
    frames: usize,
    /// After an invalid UTF-8 fragment: a peer may check UTF-8 only at the
    /// message's end (RFC 6455 §8.1 fixes no point), so until the message
    /// ends a later violation's code is acceptable too.
    lazy_utf8: bool,
    done: bool,
}

impl Model {
    /// The model of `steps` sent by a harness of role `harness` (the peer
    /// reads them as frames from that role: RFC 6455 §5.1).
    pub fn of(steps: &[Step], harness: Role) -> Model {
        let mut config = DecoderConfig::strict(harness);
        config.max_frame_payload = MODEL_CAP;
        config.max_message_payload = MODEL_CAP;
        let mut b = Builder {
            model: Model {
                messages: Vec::new(),
                pings: Vec::new(),
                pings_after: Vec::new(),
                pings_lazy: Vec::new(),
                closes_after: Vec::new(),
                end: End::Open,
                order: Vec::new(),
            },
            decoder: Decoder::new(config),
            frame: None,
            message: None,
            frames: 0,
            lazy_utf8: false,
            done: false,
        };
        for step in steps {
            match step {
                Step::Frame { frame, .. } => b.feed(&encode(frame, harness)),
                Step::Message {
                    opcode,
                    payload,
                    fragment_size,
                } => {
                    for f in message_frames(*opcode, payload, *fragment_size) {
                        b.feed(&encode(&f, harness));
                    }
                }
                Step::Close { code, reason } => {
                    // As the engine writes it: the code, then the reason.
                    let mut payload = code.map(|c| c.to_be_bytes().to_vec()).unwrap_or_default();
                    payload.extend(reason.to_vec());
                    let frame = FrameSpec::new(Opcode::CLOSE, wsconform_cases::Payload::bytes(payload));
                    b.feed(&encode(&frame, harness));
                }
                Step::RoundTrips { .. }
                | Step::FrameHeader { .. }
                | Step::FrameData { .. }
                | Step::CorpusMessages { .. }
                | Step::DeflateBomb { .. } => {
                    // Not generated by the fuzzer; a script with them is
                    // judged up to them.
                    break;
                }
                Step::Wait { .. } | Step::KillAfter { .. } | Step::CloseAfter { .. } => {}
            }
        }
        if b.lazy_utf8 {
            if let End::Fail { may_wait, .. } = &mut b.model.end {
                *may_wait = true;
            }
        }
        b.model
    }
}

/// The bytes of `frame` as the engine sends it (the key is irrelevant to
/// the model: only its presence is).
pub fn encode(frame: &FrameSpec, harness: Role) -> Vec<u8> {
    let key = match frame.masking {
        Masking::FollowRole => (harness == Role::Client).then_some([0x37, 0xfa, 0x21, 0x3d]),
        Masking::Unmasked => None,
        Masking::Key(k) => Some(k),
    };
    Frame::new(frame.opcode, frame.payload.to_vec())
        .fin(frame.fin)
        .rsv(frame.rsv)
        .mask(key)
        .encode()
}

impl Builder {
    fn feed(&mut self, bytes: &[u8]) {
        if self.done {
            // After the end only pings matter (a pong for one after a
            // violation shows the peer went on).
            if matches!(self.model.end, End::Fail { .. }) && !self.lazy_utf8 {
                match control_frame(bytes) {
                    Some((Opcode::PING, payload)) => self.model.pings_after.push(payload),
                    Some((Opcode::CLOSE, payload)) => {
                        let code = payload
                            .first_chunk::<2>()
                            .map(|c| CloseCode(u16::from_be_bytes(*c)));
                        self.model.closes_after.push(code.unwrap_or(CloseCode::NORMAL));
                    }
                    _ => {}
                }
            }
            if let End::Closed { then_broke, .. } = &mut self.model.end {
                let fine = bytes.first().is_some_and(|b0| {
                    let opcode = Opcode(b0 & 0x0F);
                    b0 & 0xF0 == 0x80 && opcode.is_control() && !opcode.is_reserved()
                });
                *then_broke |= !fine;
            }
            if !self.lazy_utf8 {
                self.frames += 1;
                return;
            }
        }
        let mut buf = bytes.to_vec();
        let mut pos = 0;
        loop {
            match self.decoder.decode(&mut buf[pos..]) {
                Err(v) => {
                    let code = v.close_code();
                    self.fail(vec![code], v.rfc_section(), v.to_string());
                    self.lazy_utf8 = false;
                    self.done = true;
                    break;
                }
                Ok((_, None)) => break,
                Ok((n, Some(item))) => {
                    pos += n;
                    match item {
                        Decoded::Header(h) => self.frame = Some((h, Vec::new())),
                        Decoded::Payload(p) => {
                            if let Some((_, acc)) = &mut self.frame {
                                acc.extend_from_slice(p);
                            }
                        }
                        Decoded::FrameEnd => {
                            if let Some((h, payload)) = self.frame.take() {
                                self.on_frame(h, payload);
                            }
                        }
                    }
                }
            }
            if pos >= buf.len() && self.frame.is_none() {
                break;
            }
        }
        self.frames += 1;
    }

    /// Records a violation as the end, or (while only a lazy UTF-8 check
    /// could still be running) adds its code to the acceptable ones.
    fn fail(&mut self, codes: Vec<CloseCode>, section: &'static str, why: String) {
        match &mut self.model.end {
            End::Fail { codes: have, .. } if self.lazy_utf8 => {
                for c in codes {
                    if !have.contains(&c) {
                        have.push(c);
                    }
                }
            }
            End::Fail { .. } => {}
            _ => {
                self.model.end = End::Fail {
                    codes,
                    section,
                    why,
                    at: self.frames,
                    may_wait: false,
                }
            }
        }
    }

    fn on_frame(&mut self, h: FrameHeader, payload: Vec<u8>) {
        if self.done && !self.lazy_utf8 {
            return;
        }
        match h.opcode {
            Opcode::PING => {
                if !self.done {
                    self.model.pings.push(payload);
                    self.model.order.push(Kind::Ping);
                } else if self.lazy_utf8 {
                    self.model.pings_lazy.push(payload);
                }
            }
            Opcode::PONG => {}
            Opcode::CLOSE => {
                if self.lazy_utf8 {
                    // A peer still waiting for the message's end answers
                    // this close as it would any other: with the codes a
                    // valid close allows, or fails on an invalid one with
                    // the codes that allows (RFC 6455 §5.5.1, §7.4.1).
                    let answers = match close_end(&payload, self.frames) {
                        End::Closed { codes, .. } => codes,
                        End::Fail { codes, .. } => codes,
                        End::Open => Vec::new(),
                    };
                    if let End::Fail { codes, .. } = &mut self.model.end {
                        for c in answers {
                            if !codes.contains(&c) {
                                codes.push(c);
                            }
                        }
                    }
                    self.lazy_utf8 = false;
                    return;
                }
                if self.done {
                    return;
                }
                self.done = true;
                self.model.end = close_end(&payload, self.frames);
            }
            op if op.is_control() => {}
            op => {
                if op != Opcode::CONTINUATION || self.message.is_none() {
                    // The decoder refused a continuation with no message
                    // and a new message inside one: this starts one.
                    let binary = op == Opcode::BINARY;
                    let utf8 = (!binary).then(Utf8Validator::new);
                    self.message = Some((binary, Vec::new(), utf8));
                }
                let mut broken = None;
                if let Some((_, bytes, utf8)) = &mut self.message {
                    bytes.extend_from_slice(&payload);
                    if let Some(v) = utf8 {
                        if let Err(e) = v.feed(&payload) {
                            broken = Some(e.to_string());
                        } else if h.fin {
                            broken = v.finish().err().map(|e| e.to_string());
                        }
                    }
                }
                if let Some(why) = broken {
                    if !self.done {
                        self.fail(
                            vec![CloseCode::INVALID_PAYLOAD],
                            "RFC 6455 §8.1",
                            format!("text message that is not UTF-8: {why}"),
                        );
                        self.done = true;
                        self.lazy_utf8 = !h.fin;
                    }
                    if h.fin {
                        self.lazy_utf8 = false;
                    }
                    if let Some((_, _, utf8)) = &mut self.message {
                        *utf8 = None;
                    }
                    if h.fin {
                        self.message = None;
                    }
                    return;
                }
                if h.fin {
                    if let Some((binary, bytes, _)) = self.message.take() {
                        if self.lazy_utf8 {
                            self.lazy_utf8 = false;
                        } else if !self.done {
                            self.model.messages.push((binary, bytes));
                            self.model.order.push(Kind::Message);
                        }
                    }
                }
            }
        }
    }
}

/// What the harness's close frame with `payload` asks of the peer (RFC
/// 6455 §5.5.1, §7.4): a reason that is not UTF-8 or a code that may not
/// be sent fails the connection; codes above 4999 are undefined (§7.4.2:
/// the catalog's 7.13.x accept any usual answer); otherwise the peer
/// answers, echoing the code or with 1000. Codes 1012–1014 were registered
/// with IANA after RFC 6455 (§11.7) without a specification, and no MUST
/// tells a receiver to accept them: echoing them, 1000 and failing with
/// 1002 (what tungstenite and Autobahn's `CLOSE_STATUS_CODES_ALLOWED` do)
/// are all allowed (docs/verdict-rules.md D3).
fn close_end(payload: &[u8], at: usize) -> End {
    let fail = |codes: Vec<CloseCode>, section, why: String| End::Fail {
        codes,
        section,
        why,
        at,
        may_wait: false,
    };
    let Some((code, reason)) = payload.split_first_chunk::<2>() else {
        return if payload.is_empty() {
            End::Closed {
                codes: vec![CloseCode::NORMAL],
                then_broke: false,
            }
        } else {
            fail(
                vec![CloseCode::PROTOCOL_ERROR],
                "RFC 6455 §5.5.1",
                ClosePayloadError::OneByte.to_string(),
            )
        };
    };
    let code = CloseCode(u16::from_be_bytes(*code));
    if let Err(e) = wsconform_wire::utf8::validate(reason) {
        return fail(
            vec![CloseCode::PROTOCOL_ERROR, CloseCode::INVALID_PAYLOAD],
            "RFC 6455 §5.5.1",
            ClosePayloadError::InvalidReason(e).to_string(),
        );
    }
    match ClosePayload::parse(payload) {
        Ok(_) if code == CloseCode::NORMAL => End::Closed {
            codes: vec![code],
            then_broke: false,
        },
        Ok(_) if code.class() == CloseClass::Registered => End::Closed {
            codes: vec![CloseCode::NORMAL, code, CloseCode::PROTOCOL_ERROR],
            then_broke: false,
        },
        Ok(_) => End::Closed {
            codes: vec![CloseCode::NORMAL, code],
            then_broke: false,
        },
        Err(ClosePayloadError::CodeNotSendable(c)) if c.0 >= 5000 => End::Closed {
            codes: vec![CloseCode::NORMAL, c, CloseCode::PROTOCOL_ERROR],
            then_broke: false,
        },
        Err(e) => fail(vec![CloseCode::PROTOCOL_ERROR], "RFC 6455 §7.4.1", e.to_string()),
    }
}

/// The opcode and payload of `bytes` if they are one control frame (read
/// leniently: only to recognise an answer to it).
fn control_frame(bytes: &[u8]) -> Option<(Opcode, Vec<u8>)> {
    let (&b0, &b1) = (bytes.first()?, bytes.get(1)?);
    let opcode = Opcode(b0 & 0x0F);
    if !opcode.is_control() || b1 & 0x7F > 125 {
        return None;
    }
    let len = usize::from(b1 & 0x7F);
    let (key, start) = if b1 & 0x80 != 0 {
        (Some(bytes.get(2..6)?), 6)
    } else {
        (None, 2)
    };
    let mut payload = bytes.get(start..start + len)?.to_vec();
    if let Some(k) = key {
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= k[i % 4];
        }
    }
    Some((opcode, payload))
}
