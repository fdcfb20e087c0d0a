//! What the engine observed during one case: the peer's events, the close
//! record, traffic statistics and the wire log. Verdicts are computed from
//! this alone (see `verdict`).

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::Serialize;
use sha1::{Digest as _, Sha1};
use wsconform_cases::Payload;
use wsconform_wire::Opcode;

/// Payloads up to this size are kept whole in records and wire logs;
/// larger ones are kept as length, SHA-1 and the first bytes, so a 16 MiB
/// echo costs a few hundred bytes of memory.
pub const KEEP_WHOLE: usize = 64 * 1024;

/// A payload as recorded: its length and SHA-1, and its bytes when small.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Digest {
    pub len: u64,
    /// `None` where only the length matters and hashing was skipped (the
    /// echoes of 9.x, whose content Autobahn does not compare either).
    #[serde(serialize_with = "hex_or_null")]
    pub sha1: Option<[u8; 20]>,
    /// The whole payload if it is at most [`KEEP_WHOLE`] bytes, else its
    /// first [`KEEP_WHOLE`] bytes.
    #[serde(serialize_with = "crate::record::bytes_field")]
    pub head: Vec<u8>,
}

/// Optional bytes (a SHA-1, a masking key) as a hex string, or null.
fn hex_or_null<S: serde::Serializer, const N: usize>(
    bytes: &Option<[u8; N]>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match bytes {
        Some(b) => s.serialize_str(&hex::encode(b)),
        None => s.serialize_none(),
    }
}

/// Bytes as `{"text": ...}` when UTF-8, else `{"base64": ...}`: lossless.
pub fn bytes_field<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    use base64::Engine as _;
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(1))?;
    match std::str::from_utf8(bytes) {
        Ok(text) => map.serialize_entry("text", text)?,
        Err(_) => map.serialize_entry("base64", &base64::engine::general_purpose::STANDARD.encode(bytes))?,
    }
    map.end()
}

impl Digest {
    pub fn is_whole(&self) -> bool {
        self.head.len() as u64 == self.len
    }

    /// The digest of a catalog payload, generated in pieces.
    pub fn of_payload(p: &Payload) -> Digest {
        let mut acc = DigestBuilder::hashing();
        let mut buf = vec![0u8; (p.len as usize).min(KEEP_WHOLE)];
        let mut at = 0;
        while at < p.len {
            let n = ((p.len - at) as usize).min(buf.len());
            p.fill(at, &mut buf[..n]);
            acc.update(&buf[..n]);
            at += n as u64;
        }
        acc.finish()
    }

    pub fn of_bytes(b: &[u8]) -> Digest {
        let mut acc = DigestBuilder::hashing();
        acc.update(b);
        acc.finish()
    }
}

/// Builds a [`Digest`] from pieces.
#[derive(Default, Clone)]
pub struct DigestBuilder {
    /// `None`: count and keep the head only.
    sha: Option<Sha1>,
    len: u64,
    head: Vec<u8>,
}

impl std::fmt::Debug for DigestBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestBuilder")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl DigestBuilder {
    /// Hashes as it goes.
    pub fn hashing() -> DigestBuilder {
        DigestBuilder {
            sha: Some(Sha1::new()),
            ..DigestBuilder::default()
        }
    }

    /// Counts and keeps the head, without hashing.
    pub fn counting() -> DigestBuilder {
        DigestBuilder::default()
    }

    pub fn update(&mut self, data: &[u8]) {
        if let Some(sha) = &mut self.sha {
            sha.update(data);
        }
        self.len += data.len() as u64;
        let room = KEEP_WHOLE.saturating_sub(self.head.len());
        self.head.extend_from_slice(&data[..room.min(data.len())]);
    }

    pub fn finish(self) -> Digest {
        Digest {
            len: self.len,
            sha1: self.sha.map(|sha| sha.finalize().into()),
            head: self.head,
        }
    }
}

/// An event observed from the peer (Autobahn's `received`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Observed {
    Message { binary: bool, payload: Digest },
    Pong { payload: Digest },
    Timeout { tag: String },
}

/// One entry of the wire log. Times are microseconds since the case started.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WireEntry {
    /// Bytes handed to the socket in one write.
    TxOctets {
        t_us: u64,
        len: usize,
        sync: bool,
        #[serde(serialize_with = "bytes_field")]
        head: Vec<u8>,
    },
    /// Bytes returned by one socket read.
    RxOctets {
        t_us: u64,
        len: usize,
        #[serde(serialize_with = "bytes_field")]
        head: Vec<u8>,
    },
    /// A frame the harness sent.
    TxFrame {
        t_us: u64,
        opcode: Opcode,
        fin: bool,
        rsv: u8,
        #[serde(serialize_with = "hex_or_null")]
        mask: Option<[u8; 4]>,
        payload: Digest,
        chop: Option<usize>,
        sync: bool,
    },
    /// A frame received from the peer, unmasked.
    RxFrame {
        t_us: u64,
        opcode: Opcode,
        fin: bool,
        rsv: u8,
        #[serde(serialize_with = "hex_or_null")]
        mask: Option<[u8; 4]>,
        payload: Digest,
    },
    /// A timer armed by a step: `kill`, `close` or `wait`.
    Timer {
        t_us: u64,
        timer: &'static str,
        ms: u64,
        tag: Option<String>,
    },
    /// A timer that fired.
    TimerFired {
        t_us: u64,
        timer: &'static str,
        tag: Option<String>,
    },
    /// Something the engine decided, e.g. the violation that failed the connection.
    Note { t_us: u64, text: String },
}

/// What a peer did with an opening handshake that is itself the test
/// (RFC 6455 §4): facts only; `verdict` judges them against the case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum HandshakeAnswer {
    /// Testing servers: the server upgraded the connection.
    Upgraded,
    /// Testing servers: a complete HTTP response that is not an upgrade.
    Refused {
        response: wsconform_wire::handshake::Response,
    },
    /// Testing servers: bytes that are not a valid HTTP response.
    NotHttp { why: String },
    /// Testing servers: the server closed the connection without a word.
    NoAnswer,
    /// Testing clients, after an invalid response and a probe message: the
    /// client closed the TCP connection.
    ClientClosed,
    /// … the client sent this frame first (a close frame fails the
    /// connection; anything else uses it).
    ClientSent { opcode: Opcode },
    /// … the client kept the connection open this long without a frame.
    ClientKeptOpen { ms: u64 },
    /// Testing clients: the client's `Sec-WebSocket-Key` was already sent
    /// on an earlier connection of the run.
    KeyRepeated,
    /// Testing clients: the client's first connection, so no earlier key to
    /// compare with.
    NoEarlierKey,
}

/// The echoes of a 9.x case (Autobahn compares type and length only) or a
/// 12.x/13.x case (type, length and SHA-1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Echoes {
    /// Echoes with the sent type and length (12.x/13.x: and content).
    pub matched: u32,
    /// The first echo of another type or length: (binary, length).
    pub mismatch: Option<(bool, u64)>,
    /// 12.x/13.x: the first echo of the right type and length whose SHA-1
    /// differs: (sent, received), hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha1_mismatch: Option<(String, String)>,
}

/// permessage-deflate as negotiated on the connection (RFC 7692 §7.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeflateFacts {
    /// The accepted extension element, as the server's response has it.
    pub response: String,
    /// What each direction agreed to (absent window bits as 15).
    pub params: wsconform_wire::deflate::Params,
    /// Testing a server under Autobahn's rule (`ResponseRules::AsAutobahn`):
    /// the RFC 7692 §7.1 rule the accepted response breaks, reported and
    /// not judged (the `pmd.server.*` cases judge it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_breaks: Option<String>,
}

/// Autobahn's `trafficStats` of a permessage-deflate case: data messages
/// only (no control frames, no handshake), from the open state on; app
/// level is the payload before compression, WebSocket level after.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TrafficStats {
    pub outgoing_octets_app_level: u64,
    pub outgoing_octets_websocket_level: u64,
    pub outgoing_websocket_frames: u64,
    pub outgoing_websocket_messages: u64,
    pub incoming_octets_app_level: u64,
    pub incoming_octets_websocket_level: u64,
    pub incoming_websocket_frames: u64,
    pub incoming_websocket_messages: u64,
}

impl TrafficStats {
    /// Compressed / uncompressed size of what the harness sent (Autobahn's
    /// `outgoingCompressionRatio`); `None` before any payload.
    pub fn outgoing_ratio(&self) -> Option<f64> {
        ratio(
            self.outgoing_octets_websocket_level,
            self.outgoing_octets_app_level,
        )
    }

    /// The same for what the peer sent (`incomingCompressionRatio`).
    pub fn incoming_ratio(&self) -> Option<f64> {
        ratio(
            self.incoming_octets_websocket_level,
            self.incoming_octets_app_level,
        )
    }

    /// Autobahn's JSON (`TrafficStats.__json__`), without the wire-level
    /// counts, which wsconform does not keep per message.
    pub fn autobahn_json(&self) -> serde_json::Value {
        serde_json::json!({
            "outgoingOctetsAppLevel": self.outgoing_octets_app_level,
            "outgoingOctetsWebSocketLevel": self.outgoing_octets_websocket_level,
            "outgoingCompressionRatio": self.outgoing_ratio(),
            "outgoingWebSocketFrames": self.outgoing_websocket_frames,
            "outgoingWebSocketMessages": self.outgoing_websocket_messages,
            "incomingOctetsAppLevel": self.incoming_octets_app_level,
            "incomingOctetsWebSocketLevel": self.incoming_octets_websocket_level,
            "incomingCompressionRatio": self.incoming_ratio(),
            "incomingWebSocketFrames": self.incoming_websocket_frames,
            "incomingWebSocketMessages": self.incoming_websocket_messages,
        })
    }
}

fn ratio(compressed: u64, plain: u64) -> Option<f64> {
    (plain > 0).then(|| compressed as f64 / plain as f64)
}

impl WireEntry {
    /// The bytes the entry holds besides its fixed fields.
    pub fn kept_bytes(&self) -> usize {
        match self {
            WireEntry::TxOctets { head, .. } | WireEntry::RxOctets { head, .. } => head.len(),
            WireEntry::TxFrame { payload, .. } | WireEntry::RxFrame { payload, .. } => payload.head.len(),
            WireEntry::Timer { tag, .. } | WireEntry::TimerFired { tag, .. } => {
                tag.as_ref().map_or(0, String::len)
            }
            WireEntry::Note { text, .. } => text.len(),
        }
    }
}

/// A close frame sent or received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CloseFrame {
    pub code: Option<wsconform_wire::CloseCode>,
    #[serde(serialize_with = "bytes_field")]
    pub reason: Vec<u8>,
}

impl CloseFrame {
    pub fn reason_text(&self) -> Option<String> {
        (!self.reason.is_empty() || self.code.is_some())
            .then(|| String::from_utf8_lossy(&self.reason).into_owned())
    }
}

/// Everything observed in one case run.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    #[serde(serialize_with = "iso_time")]
    pub started: SystemTime,
    /// From the end of the opening handshake to the end of the TCP connection.
    pub duration_ms: u64,
    pub handshake_completed: bool,
    /// Why the connection could not be used at all (connect or handshake).
    pub setup_error: Option<String>,
    pub http_request: String,
    pub http_response: String,
    pub received: Vec<Observed>,
    pub closed_by_me: bool,
    pub failed_by_me: bool,
    pub dropped_by_me: bool,
    pub was_clean: bool,
    pub was_not_clean_reason: Option<String>,
    pub was_open_handshake_timeout: bool,
    pub was_close_handshake_timeout: bool,
    pub was_server_connection_drop_timeout: bool,
    /// The harness's own hard deadline ended the case (the peer stalled
    /// beyond every protocol timer).
    pub hit_deadline: bool,
    pub local_close: Option<CloseFrame>,
    pub remote_close: Option<CloseFrame>,
    /// Why the peer's compressed message could not be inflated while the
    /// connection was open (corrupt DEFLATE, or a back-reference outside the
    /// negotiated window, RFC 7692 §7.1.2), for which the harness failed the
    /// connection with 1007 (RFC 6455 §7.4.1). The judge closes such a case
    /// as Autobahn does (docs/verdict-rules.md D13).
    pub inflate_failed: Option<String>,
    /// For `hs.*` cases whose handshake is the whole test: what the peer
    /// did with it (no WebSocket connection follows).
    pub handshake_answer: Option<HandshakeAnswer>,
    /// 9.x, 12.x, 13.x: the echoes counted while the case ran.
    pub echoes: Option<Echoes>,
    /// permessage-deflate, when the handshake negotiated it.
    pub deflate: Option<DeflateFacts>,
    /// Cases that negotiate permessage-deflate: Autobahn's `trafficStats`.
    pub traffic: Option<TrafficStats>,
    pub rx_frame_stats: BTreeMap<Opcode, u64>,
    pub tx_frame_stats: BTreeMap<Opcode, u64>,
    pub rx_octet_stats: BTreeMap<usize, u64>,
    pub tx_octet_stats: BTreeMap<usize, u64>,
    pub wirelog_enabled: bool,
    pub wirelog: Vec<WireEntry>,
    /// Wire log entries and payload heads not kept because the memory
    /// budget (`budget.rs`) was spent; verdicts do not depend on them.
    pub not_kept: u64,
}

fn iso_time<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::report::iso8601(*t))
}

impl Outcome {
    pub fn new(started: SystemTime) -> Outcome {
        Outcome {
            started,
            duration_ms: 0,
            handshake_completed: false,
            setup_error: None,
            http_request: String::new(),
            http_response: String::new(),
            received: Vec::new(),
            closed_by_me: false,
            failed_by_me: false,
            dropped_by_me: false,
            was_clean: false,
            was_not_clean_reason: None,
            was_open_handshake_timeout: false,
            was_close_handshake_timeout: false,
            was_server_connection_drop_timeout: false,
            hit_deadline: false,
            handshake_answer: None,
            local_close: None,
            remote_close: None,
            inflate_failed: None,
            echoes: None,
            deflate: None,
            traffic: None,
            rx_frame_stats: BTreeMap::new(),
            tx_frame_stats: BTreeMap::new(),
            rx_octet_stats: BTreeMap::new(),
            tx_octet_stats: BTreeMap::new(),
            wirelog_enabled: true,
            wirelog: Vec::new(),
            not_kept: 0,
        }
    }

    /// An outcome for a case whose connection never opened.
    pub fn setup_failed(started: SystemTime, error: String, open_timeout: bool) -> Outcome {
        let mut o = Outcome::new(started);
        o.setup_error = Some(error);
        o.was_open_handshake_timeout = open_timeout;
        o
    }
}
