//! What a case is: a value the engine interprets (design §3).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use wsconform_wire::Opcode;

use crate::payload::Payload;

/// A conformance case. Everything the engine does for it is in `steps`;
/// everything it counts as a pass is in `expected`, `expected_close` and
/// `judge`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// Stable id: Autobahn's for the cases Autobahn has (`6.4.3`).
    pub id: String,
    /// Autobahn's description text (may contain HTML, as Autobahn's does).
    pub description: String,
    /// Autobahn's expectation text.
    pub expectation: String,
    pub rfc: RfcRef,
    pub steps: Vec<Step>,
    /// Event lists by verdict, as Autobahn's `expected` (compared exactly).
    pub expected: BTreeMap<Behavior, Vec<Event>>,
    pub expected_close: ExpectedClose,
    #[serde(default)]
    pub judge: Judge,
    /// Frames the harness itself must have sent, by opcode: a self-check of
    /// our fragmenter (Autobahn 10.1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_tx_frames: Option<BTreeMap<Opcode, u64>>,
    /// Where this case and Autobahn or the RFC part ways, and other remarks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// A non-standard opening handshake and what the peer must answer
    /// (the `hs.*` cases, RFC 6455 §4); the standard one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handshake: Option<Handshake>,
    /// The role of the implementation the case tests when it applies to one
    /// role only, its handshake aside (the `mask.*` cases, RFC 6455 §5.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<wsconform_wire::Role>,
    /// permessage-deflate (RFC 7692) on the case's connection: what the
    /// harness offers or accepts. Without it nothing is negotiated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deflate: Option<Deflate>,
}

/// How the harness negotiates permessage-deflate (RFC 7692 §5, §7.1), as
/// Autobahn's case classes 12.x/13.x set it up (`case/case12_x_x.py`:
/// `CLIENT_OFFERS`, `SERVER_ACCEPT`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deflate {
    /// Testing servers: the offers of the harness's request, in order of
    /// preference. Each also declares `client_no_context_takeover;
    /// client_max_window_bits`, as every Autobahn offer does.
    pub offers: Vec<DeflateOffer>,
    /// Testing clients: rules tried in order against the client's valid
    /// offers (in its order); the first acceptance is the response. None
    /// accepting: compression is declined.
    pub accept: Vec<DeflateAccept>,
    /// Testing servers: what a well-formed response must also satisfy.
    #[serde(default)]
    pub response: ResponseRules,
}

/// How the harness, testing a server, judges a well-formed
/// `Sec-WebSocket-Extensions` response against its offers. A malformed one
/// (an unknown or duplicated parameter, a bad value, two elements) fails
/// the handshake under either rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseRules {
    /// RFC 7692 §7.1: the response must answer an offer (parameters the
    /// offer asked for echoed, window bits no larger than offered, no
    /// `client_max_window_bits` unasked); otherwise the handshake fails and
    /// the case is FAILED. The `pmd.*` cases, which test these rules.
    #[default]
    AnswersAnOffer,
    /// Autobahn's client (`case/case12_x_x.py` `init`:
    /// `PerMessageDeflateResponseAccept` for any response): the response's
    /// own parameters are used (absent window bits as 15) and a broken §7.1
    /// rule is only reported, so the 12.x/13.x cases keep judging the
    /// compressed echo, as Autobahn's do. The rules themselves are the
    /// `pmd.server.*` cases'.
    AsAutobahn,
}

/// What an offer asks of the server (Autobahn's `PerMessageDeflateOffer`
/// `requestNoContextTakeover`, `requestMaxWindowBits`, 0 for none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeflateOffer {
    /// RFC 7692 §7.1.1.1.
    pub server_no_context_takeover: bool,
    /// RFC 7692 §7.1.2.1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_max_window_bits: Option<wsconform_wire::deflate::WindowBits>,
    /// What the offer says of the client's own compression.
    #[serde(default, skip_serializing_if = "ClientOffer::is_autobahns")]
    pub client: ClientOffer,
}

/// The client-side parameters of an offer (RFC 7692 §7.1.1.2, §7.1.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientOffer {
    /// `client_no_context_takeover; client_max_window_bits`, as every
    /// Autobahn offer declares.
    #[default]
    Autobahns,
    /// Neither: the server may then not limit the client's window
    /// (§7.1.2.2: its response "MUST NOT include" `client_max_window_bits`).
    Bare,
}

impl ClientOffer {
    pub fn is_autobahns(&self) -> bool {
        *self == ClientOffer::Autobahns
    }
}

/// What an accepting server asks of the client (Autobahn's accept
/// functions `accept1`–`accept6`: `PerMessageDeflateOfferAccept(offer,
/// requestNoContextTakeover, requestMaxWindowBits)`). The client's own
/// requests are always granted, as RFC 7692 §7.1.1.1 and §7.1.2.1 require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeflateAccept {
    /// RFC 7692 §7.1.1.2 (a server may ask it unasked).
    pub client_no_context_takeover: bool,
    /// RFC 7692 §7.1.2.2: only when the offer has `client_max_window_bits`,
    /// else this rule declines the offer (Autobahn: `if
    /// offer.acceptMaxWindowBits`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_max_window_bits: Option<wsconform_wire::deflate::WindowBits>,
}

impl DeflateOffer {
    pub fn to_wire(self) -> wsconform_wire::deflate::Offer {
        match self.client {
            ClientOffer::Autobahns => wsconform_wire::deflate::Offer::autobahn(
                self.server_no_context_takeover,
                self.server_max_window_bits,
            ),
            ClientOffer::Bare => wsconform_wire::deflate::Offer {
                server_no_context_takeover: self.server_no_context_takeover,
                server_max_window_bits: self.server_max_window_bits,
                ..Default::default()
            },
        }
    }
}

impl DeflateAccept {
    pub fn to_wire(self) -> wsconform_wire::deflate::AcceptPolicy {
        wsconform_wire::deflate::AcceptPolicy {
            client_no_context_takeover: self.client_no_context_takeover,
            client_max_window_bits: self.client_max_window_bits,
            ..Default::default()
        }
    }
}

/// An opening handshake to test (RFC 6455 §4): how the harness's request
/// differs from the standard one, and what the server must answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handshake {
    /// The role of the implementation the case tests: `server` cases edit
    /// the harness's request, `client` cases its 101 response.
    pub peer: wsconform_wire::Role,
    #[serde(default)]
    pub request: RequestEdits,
    #[serde(default)]
    pub response: ResponseEdits,
    pub expect: HandshakeExpect,
}

/// Changes to the harness's 101 response (testing clients).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ResponseEdits {
    /// Another status line instead of `101 Switching Protocols`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<(u16, String)>,
    /// Another HTTP/1.x minor version in the status line than 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minor_version: Option<u8>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HeaderEdit>,
    /// How the response is written (`Chop(1)`: one byte per write).
    #[serde(default, skip_serializing_if = "Write::is_whole")]
    pub write: Write,
    /// A frame sent in the same write as the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipelined: Option<FrameSpec>,
}

/// Changes to the standard client request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RequestEdits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// HTTP/1.x minor version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minor_version: Option<u8>,
    /// Applied in order to the standard headers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HeaderEdit>,
    /// How the request is written (`Chop(1)`: one byte per write).
    #[serde(default, skip_serializing_if = "Write::is_whole")]
    pub write: Write,
    /// A frame sent in the same write as the request, before any answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipelined: Option<FrameSpec>,
}

/// One change to the request's headers; names match case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum HeaderEdit {
    /// Replace every header of this name (or add it).
    Set {
        name: String,
        value: String,
    },
    /// Add another header line, keeping existing ones.
    Add {
        name: String,
        value: String,
    },
    Remove {
        name: String,
    },
    /// Rename every header of this name, keeping its value (letter case tests).
    Rename {
        from: String,
        to: String,
    },
}

impl HeaderEdit {
    /// Applies the edit to `headers`.
    pub fn apply(&self, headers: &mut wsconform_wire::handshake::Headers) {
        match self {
            HeaderEdit::Set { name, value } => headers.set(name, value.as_bytes()),
            HeaderEdit::Add { name, value } => headers.push(name, value.as_bytes()),
            HeaderEdit::Remove { name } => headers.remove(name),
            HeaderEdit::Rename { from, to } => {
                for h in headers.0.iter_mut().filter(|h| h.name.eq_ignore_ascii_case(from)) {
                    h.name = to.clone();
                }
            }
        }
    }
}

/// What the server must answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum HandshakeExpect {
    /// 101 with the right `Sec-WebSocket-Accept`, choosing none of or one of
    /// `offered_protocols` and no extension; then the case's steps run.
    Accept {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        offered_protocols: Vec<String>,
    },
    /// Anything but 101. A status in `ok` is OK; another 4xx is NON-STRICT
    /// (the RFC asks for "an appropriate HTTP error code"); with
    /// `with_header`, an OK status must also carry that header.
    Reject {
        ok: Vec<u16>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        with_header: Option<(String, String)>,
    },
    /// The RFC leaves the answer open: any answer is INFORMATIONAL; no
    /// answer within the handshake timeout is FAILED.
    Either,
    /// Testing clients: the response is invalid and the client MUST fail
    /// the connection (RFC 6455 §4.1, "the client MUST _Fail the WebSocket
    /// Connection_"): closing it is OK, echoing the probe message the
    /// harness sends after the response is FAILED.
    ClientFails,
    /// Testing clients: a standard 101, then the case's steps, as `Accept`;
    /// but first the client's `Sec-WebSocket-Key` must differ from the keys
    /// of every earlier connection to the harness in this run (RFC 6455
    /// §4.1: the nonce "MUST be selected randomly for each connection"). A
    /// repeated key is FAILED; with no earlier connection to compare with,
    /// the case is INFORMATIONAL.
    FreshKey,
}

impl Case {
    /// Whether the case applies when the implementation under test has
    /// `role`: the hs.* cases test one role's side of the handshake.
    pub fn applies_to(&self, role: wsconform_wire::Role) -> bool {
        self.handshake.as_ref().is_none_or(|h| h.peer == role) && self.peer.is_none_or(|p| p == role)
    }

    /// Whether Autobahn|Testsuite has this case (its ids are numeric; the
    /// families it lacks, `hs.*`, `mask.*` and `pmd.*`, are named).
    pub fn is_autobahn(&self) -> bool {
        self.category().parse::<u32>().is_ok()
    }

    /// The id's first component: `"6"` for `6.4.3`.
    pub fn category(&self) -> &str {
        self.id.split('.').next().unwrap_or(&self.id)
    }

    /// The largest message or frame payload the case sends, in bytes.
    pub fn largest_payload(&self) -> u64 {
        self.steps
            .iter()
            .map(|s| match s {
                Step::Frame { frame, .. } => frame.payload.len,
                Step::Message { payload, .. } | Step::RoundTrips { payload, .. } => payload.len,
                Step::FrameHeader { len, .. } | Step::CorpusMessages { len, .. } => *len,
                // The message the peer holds once inflated, not its few
                // compressed bytes.
                Step::DeflateBomb { inflated, .. } => *inflated,
                _ => 0,
            })
            .max()
            .unwrap_or(0)
    }

    /// When the steps' last wait ends or last timer falls due, whichever is
    /// later: the harness's hard deadline builds on it. The waits
    /// (`Step::Wait`, Autobahn's `continueLater`) are the case's own pacing
    /// and keep their length; the kill and close timers are multiplied by
    /// `timer_scale`, as the harness arms them.
    pub fn duration(&self, timer_scale: f64) -> Duration {
        let mut waited = Duration::ZERO;
        let mut last_timer = Duration::ZERO;
        for step in &self.steps {
            match step {
                Step::Wait { ms, .. } => waited += Duration::from_millis(*ms),
                Step::KillAfter { ms } | Step::CloseAfter { ms } => {
                    last_timer = last_timer.max(waited + Duration::from_millis(*ms).mul_f64(timer_scale));
                }
                _ => {}
            }
        }
        waited.max(last_timer)
    }
}

/// The RFC text a case checks and how strong the requirement is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RfcRef {
    /// e.g. `RFC 6455 §5.5.2`.
    pub section: String,
    pub level: Requirement,
}

/// RFC 2119 strength of what a case checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Requirement {
    Must,
    Should,
    May,
    /// The RFC leaves it open; the case only reports.
    Informational,
}

/// How to hand bytes to the socket (Autobahn's three ways of writing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Write {
    /// In one write with every other whole frame the steps write up to the
    /// next pause.
    #[default]
    Whole,
    /// Its own write, with a pause before the next ("frame-wise chops").
    Sync,
    /// Writes of at most this many bytes with pauses between ("octet-wise
    /// chops" for 1).
    Chop(usize),
}

impl Write {
    pub fn is_whole(&self) -> bool {
        *self == Write::Whole
    }
}

/// One frame to send, valid or not. The masking follows the harness's role
/// (a client masks with a random key) unless the case says otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameSpec {
    pub opcode: Opcode,
    #[serde(default = "yes")]
    pub fin: bool,
    #[serde(default)]
    pub rsv: u8,
    pub payload: Payload,
    #[serde(default, skip_serializing_if = "Masking::follows_role")]
    pub masking: Masking,
}

/// How the harness masks a frame (RFC 6455 §5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Masking {
    /// As the harness's role says: a client masks with a fresh random key,
    /// a server does not mask.
    #[default]
    FollowRole,
    /// No mask, whatever the role (from a client: a violation, §5.1).
    Unmasked,
    /// This key, whatever the role (from a server: a violation, §5.1).
    Key([u8; 4]),
}

impl Masking {
    pub fn follows_role(&self) -> bool {
        *self == Masking::FollowRole
    }

    /// Whether a frame masked this way breaks RFC 6455 §5.1 when `sender`
    /// sends it.
    pub fn breaks_rule_for(self, sender: wsconform_wire::Role) -> bool {
        matches!(
            (self, sender),
            (Masking::Unmasked, wsconform_wire::Role::Client)
                | (Masking::Key(_), wsconform_wire::Role::Server)
        )
    }
}

fn yes() -> bool {
    true
}

impl FrameSpec {
    pub fn new(opcode: Opcode, payload: Payload) -> FrameSpec {
        FrameSpec {
            opcode,
            fin: true,
            rsv: 0,
            payload,
            masking: Masking::FollowRole,
        }
    }

    pub fn masking(mut self, masking: Masking) -> FrameSpec {
        self.masking = masking;
        self
    }

    pub fn fin(mut self, fin: bool) -> FrameSpec {
        self.fin = fin;
        self
    }

    pub fn rsv(mut self, rsv: u8) -> FrameSpec {
        self.rsv = rsv;
        self
    }
}

/// A step of a case, interpreted in order by the engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Send one frame.
    Frame {
        frame: FrameSpec,
        #[serde(default, skip_serializing_if = "Write::is_whole")]
        write: Write,
    },
    /// Send a message auto-fragmented into frames of `fragment_size` bytes
    /// (see [`message_frames`]), each its own write.
    Message {
        opcode: Opcode,
        payload: Payload,
        fragment_size: u64,
    },
    /// Write a frame header that announces `len` payload bytes; the payload
    /// follows in `FrameData` steps (Autobahn 6.4.3: one frame's payload
    /// trickling in over seconds).
    FrameHeader { opcode: Opcode, fin: bool, len: u64 },
    /// The next payload bytes of the frame opened by `FrameHeader`.
    FrameData { payload: Payload },
    /// Pause; what the steps before it wrote leaves first (one "reactor
    /// turn" of writes ends here). With a tag, a `timeout` event is recorded
    /// when the pause ends, and the remaining steps run only if the
    /// connection is still open then (Autobahn's `continueLater` callbacks
    /// in 6.4.x check `STATE_OPEN`).
    Wait {
        ms: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tag: Option<String>,
    },
    /// Start the closing handshake with this close payload: `code` (none for
    /// an empty payload) and raw reason bytes, which may be invalid.
    Close {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<u16>,
        #[serde(default, skip_serializing_if = "Payload::is_empty")]
        reason: Payload,
    },
    /// If the connection is still open after `ms`, fail it with 1001
    /// (Autobahn's `killAfter`).
    KillAfter { ms: u64 },
    /// After `ms`, start a closing handshake with an empty close payload
    /// (Autobahn's `closeAfter`).
    CloseAfter { ms: u64 },
    /// Send `count` messages one at a time, each only after the previous
    /// one's echo arrived (Autobahn 9.7/9.8).
    RoundTrips {
        opcode: Opcode,
        payload: Payload,
        count: u32,
    },
    /// Send `count` messages of `len` bytes read in turn from `corpus` (see
    /// [`crate::Corpus::message`]), one at a time, each only after the
    /// previous one's echo arrived; compressed with the negotiated
    /// permessage-deflate, the compressed payload cut into frames of
    /// `fragment_size` bytes (0: one frame), RSV1 on the first (RFC 7692
    /// §6.1). With nothing negotiated, the harness closes with 1000 instead
    /// (Autobahn 12.x/13.x `onOpen`).
    CorpusMessages {
        corpus: crate::Corpus,
        len: u64,
        count: u32,
        fragment_size: u64,
    },
    /// Send one compressed message that inflates to at least `inflated`
    /// zero bytes, about 1032 times its compressed size (a decompression
    /// bomb, `wire` `deflate::bomb`), in the frames of [`bomb_frames`]. Its
    /// back-references reach 1 byte back, within the message, so it is
    /// valid whatever window and context takeover were negotiated (RFC 7692
    /// §7.1); the harness's own compression context does not see it, so no
    /// compressed message may follow it.
    DeflateBomb { opcode: Opcode, inflated: u64 },
}

impl Default for Payload {
    fn default() -> Self {
        Payload::empty()
    }
}

/// The frames of a `Step::Message`, as Autobahn's `sendMessage` cuts them:
/// a message no longer than `fragment_size` goes out unfragmented; otherwise
/// frames of `fragment_size` bytes follow each other, and when the length is
/// an exact multiple of the size the final frame is an empty continuation
/// (Autobahn marks FIN only once a cut passes the end). 4 MiB in 256-byte
/// frames is therefore 16385 frames, which matters to peers that cap the
/// number of fragments (RFC 6455 §5.4 allows any fragmentation).
pub fn message_frames(
    opcode: Opcode,
    payload: &Payload,
    fragment_size: u64,
) -> impl Iterator<Item = FrameSpec> + '_ {
    let size = fragment_size.max(1);
    let unfragmented = payload.len <= size;
    let mut start = 0u64;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        if unfragmented {
            done = true;
            return Some(FrameSpec::new(opcode, payload.clone()));
        }
        let end = start + size;
        done = end > payload.len;
        let frame = FrameSpec {
            opcode: if start == 0 { opcode } else { Opcode::CONTINUATION },
            fin: done,
            rsv: 0,
            payload: payload.window(start, end),
            masking: Masking::FollowRole,
        };
        start = end;
        Some(frame)
    })
}

/// The frames of a `Step::DeflateBomb`: the DEFLATE block's head with RSV1
/// (RFC 7692 §6.1), its run of zero bytes, its end (RFC 7692 §7.2.1 lets a
/// compressed message be fragmented anywhere).
pub fn bomb_frames(opcode: Opcode, inflated: u64) -> [FrameSpec; 3] {
    let bomb = wsconform_wire::deflate::bomb(inflated);
    [
        FrameSpec::new(opcode, Payload::bytes(bomb.head))
            .fin(false)
            .rsv(0b100),
        FrameSpec::new(Opcode::CONTINUATION, Payload::repeat([0], bomb.zeros)).fin(false),
        FrameSpec::new(Opcode::CONTINUATION, Payload::bytes(bomb.end)),
    ]
}

/// An event observed from the peer (Autobahn's `received` entries).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Message {
        payload: Payload,
        binary: bool,
    },
    Pong {
        payload: Payload,
    },
    /// A tagged `Wait` step ended while the connection was still open.
    Timeout {
        tag: String,
    },
}

/// Autobahn's `behavior` verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Behavior {
    #[serde(rename = "OK")]
    Ok,
    #[serde(rename = "NON-STRICT")]
    NonStrict,
    #[serde(rename = "INFORMATIONAL")]
    Informational,
    #[serde(rename = "UNIMPLEMENTED")]
    Unimplemented,
    #[serde(rename = "FAILED")]
    Failed,
}

impl Behavior {
    pub fn as_str(self) -> &'static str {
        match self {
            Behavior::Ok => "OK",
            Behavior::NonStrict => "NON-STRICT",
            Behavior::Informational => "INFORMATIONAL",
            Behavior::Unimplemented => "UNIMPLEMENTED",
            Behavior::Failed => "FAILED",
        }
    }
}

/// Autobahn's `behaviorClose` verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum BehaviorClose {
    #[serde(rename = "OK")]
    Ok,
    #[serde(rename = "INFORMATIONAL")]
    Informational,
    #[serde(rename = "FAILED")]
    Failed,
    #[serde(rename = "UNCLEAN")]
    Unclean,
    #[serde(rename = "WRONG CODE")]
    WrongCode,
    #[serde(rename = "FAILED BY CLIENT")]
    FailedByClient,
}

impl BehaviorClose {
    pub fn as_str(self) -> &'static str {
        match self {
            BehaviorClose::Ok => "OK",
            BehaviorClose::Informational => "INFORMATIONAL",
            BehaviorClose::Failed => "FAILED",
            BehaviorClose::Unclean => "UNCLEAN",
            BehaviorClose::WrongCode => "WRONG CODE",
            BehaviorClose::FailedByClient => "FAILED BY CLIENT",
        }
    }
}

/// How the connection is expected to end (Autobahn's `expectedClose`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectedClose {
    /// The harness is to start the closing handshake (else the peer is to
    /// fail the connection).
    #[serde(rename = "closedByMe")]
    pub closed_by_me: bool,
    /// Codes acceptable in the peer's close frame; no code is also fine.
    #[serde(rename = "closeCode")]
    pub close_codes: Vec<wsconform_wire::CloseCode>,
    #[serde(rename = "requireClean")]
    pub require_clean: bool,
    /// The wrong endpoint closing also fails `behavior` (the peer did not
    /// notice the violation at all).
    #[serde(
        rename = "closedByWrongEndpointIsFatal",
        default,
        skip_serializing_if = "is_false"
    )]
    pub wrong_closer_fatal: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl ExpectedClose {
    /// "echo + clean 1000": the harness closes normally once done.
    pub fn clean_by_me() -> ExpectedClose {
        ExpectedClose {
            closed_by_me: true,
            close_codes: vec![wsconform_wire::CloseCode::NORMAL],
            require_clean: true,
            wrong_closer_fatal: false,
        }
    }

    /// "peer fails, code C".
    pub fn peer_fails(code: u16) -> ExpectedClose {
        ExpectedClose {
            closed_by_me: false,
            close_codes: vec![wsconform_wire::CloseCode(code)],
            require_clean: false,
            wrong_closer_fatal: false,
        }
    }
}

/// How `behavior` is decided.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "judge", rename_all = "snake_case")]
pub enum Judge {
    /// Autobahn's rule: the verdict whose event list equals the received
    /// events, else FAILED.
    #[default]
    Events,
    /// As `Events`, and a WRONG CODE close also fails `behavior` (category 7).
    EventsWrongCodeFatal,
    /// Undefined by the RFC: both verdicts are INFORMATIONAL (7.1.6, 7.13.x).
    Informational,
    /// Performance and limits (9.x): OK once `count` echoes with the sent
    /// type and length have arrived (content is not compared, as in
    /// Autobahn), FAILED at the first wrong echo or when `closeAfter` fires.
    Echoes { count: u32, binary: bool, len: u64 },
    /// Fuzzing reproducers (`wsconform fuzz`): the reactions RFC 6455 allows
    /// are computed from the steps themselves by the harness's oracle
    /// (`harness/src/fuzz/oracle.rs`); any other reaction is FAILED, with
    /// the finding's class and the RFC section in the result.
    Rfc,
    /// permessage-deflate (12.x/13.x): UNIMPLEMENTED when no compression
    /// was negotiated; else OK once `count` echoes arrived equal to what was
    /// sent by type, length and SHA-1, FAILED at the first that differs or
    /// when `closeAfter` ends the case first.
    Compressed { count: u32, binary: bool, len: u64 },
    /// A message inflating to `inflated` bytes that the peer must refuse
    /// (RFC 6455 §10.4, §7.4.1): OK when it closes with 1009 without
    /// sending a data frame; NON-STRICT with 1008 or 1011 (§7.4.1's generic
    /// codes) or when it drops TCP without a close frame; FAILED when it
    /// sends any data frame (it inflated the message, an echo), closes with
    /// another code, or lets the case's `closeAfter` fire.
    TooBig { inflated: u64 },
}
