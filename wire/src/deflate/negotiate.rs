//! permessage-deflate negotiation (RFC 7692 §5, §7.1): the client's offers,
//! the server's response, every parameter rule of §7.1 as a typed error, the
//! server's choice of a response under a policy, and the client's check of a
//! response against what it offered.

use std::fmt;

use super::header::{parse_extension_headers, Extension, ExtensionParam, ExtensionsError};

/// The extension token (RFC 7692 §7).
pub const EXTENSION_NAME: &str = "permessage-deflate";

const SERVER_NO_CONTEXT_TAKEOVER: &str = "server_no_context_takeover";
const CLIENT_NO_CONTEXT_TAKEOVER: &str = "client_no_context_takeover";
const SERVER_MAX_WINDOW_BITS: &str = "server_max_window_bits";
const CLIENT_MAX_WINDOW_BITS: &str = "client_max_window_bits";

/// An LZ77 window size as a base-2 logarithm, 8..=15 (RFC 7692 §7.1.2.1,
/// §7.1.2.2): 256 bytes to 32 KiB. Serialized as the number;
/// deserializing refuses values outside 8..=15.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct WindowBits(u8);

impl TryFrom<u8> for WindowBits {
    type Error = String;
    fn try_from(bits: u8) -> Result<WindowBits, String> {
        WindowBits::new(bits).ok_or_else(|| format!("window bits {bits} outside 8..=15 (RFC 7692 §7.1.2)"))
    }
}

impl From<WindowBits> for u8 {
    fn from(bits: WindowBits) -> u8 {
        bits.0
    }
}

impl WindowBits {
    pub const MIN: WindowBits = WindowBits(8);
    /// Also what an absent `*_max_window_bits` means (RFC 7692 §7.1.2.1, §7.1.2.2).
    pub const MAX: WindowBits = WindowBits(15);

    /// `None` outside 8..=15.
    pub fn new(bits: u8) -> Option<WindowBits> {
        (8..=15).contains(&bits).then_some(WindowBits(bits))
    }

    pub fn get(self) -> u8 {
        self.0
    }

    /// Every valid value, smallest first.
    pub fn all() -> impl Iterator<Item = WindowBits> {
        (8..=15).map(WindowBits)
    }
}

impl fmt::Display for WindowBits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Why an offer or a response is not acceptable, one variant per rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NegotiationError {
    #[error("Sec-WebSocket-Extensions: {0}")]
    Syntax(#[from] ExtensionsError),
    #[error("extension {0:?} is not permessage-deflate")]
    NotPermessageDeflate(String),
    #[error("parameter {0} appears more than once (RFC 7692 §5, §5.1)")]
    DuplicateParameter(String),
    #[error("parameter {0} is not defined here (RFC 7692 §5, §5.1, §7.1)")]
    UnknownParameter(String),
    #[error("parameter {param} takes no value, got {value:?} (RFC 7692 §7.1.1)")]
    UnexpectedValue { param: String, value: String },
    #[error("parameter {0} needs a value here (RFC 7692 §7.1.2)")]
    MissingValue(String),
    #[error("{param}={value:?} is not a decimal integer without leading zeros (RFC 7692 §7.1.2)")]
    MalformedWindowBits { param: String, value: String },
    #[error("{param}={value} is outside 8..=15 (RFC 7692 §7.1.2)")]
    WindowBitsOutOfRange { param: String, value: String },
    #[error(
        "response has client_max_window_bits but the offer did not (RFC 7692 §7.1.2.2: \
         the response MUST NOT include it)"
    )]
    UnofferedClientMaxWindowBits,
    #[error(
        "response has server_max_window_bits={got}, above the offered {offered} \
         (RFC 7692 §7.1.2.1: the same or a smaller value)"
    )]
    ServerWindowAboveOffer { offered: WindowBits, got: WindowBits },
    #[error(
        "offer had server_max_window_bits={offered}, the response has none \
         (RFC 7692 §7.1.2.1: a server accepts the offer by including it)"
    )]
    MissingServerMaxWindowBits { offered: WindowBits },
    #[error(
        "offer had server_no_context_takeover, the response has not \
         (RFC 7692 §7.1.1.1: a server accepts the offer by including it)"
    )]
    MissingServerNoContextTakeover,
    #[error("response accepts permessage-deflate more than once (RFC 7692 §5, RFC 6455 §9.1)")]
    DuplicateResponse,
    #[error("response has no permessage-deflate element")]
    NotAccepted,
    #[error("response accepts permessage-deflate, which was not offered (RFC 6455 §9.1)")]
    NotOffered,
}

/// A client's permessage-deflate offer (RFC 7692 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Offer {
    /// Asks the server not to use context takeover (§7.1.1.1).
    pub server_no_context_takeover: bool,
    /// Tells the server the client will not use context takeover (§7.1.1.2).
    pub client_no_context_takeover: bool,
    /// Limits the server's window (§7.1.2.1).
    pub server_max_window_bits: Option<WindowBits>,
    /// §7.1.2.2: `None` when absent (the server may not limit the client's
    /// window), `Some(None)` when present without a value (it may),
    /// `Some(Some(b))` a hint that the client uses at most `b`.
    pub client_max_window_bits: Option<Option<WindowBits>>,
}

/// A server's permessage-deflate response (RFC 7692 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Response {
    pub server_no_context_takeover: bool,
    pub client_no_context_takeover: bool,
    pub server_max_window_bits: Option<WindowBits>,
    /// Always with a value in a response (§7.1.2.2).
    pub client_max_window_bits: Option<WindowBits>,
}

/// What one direction of a connection agreed to (RFC 7692 §7.1, §7.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct DirectionParams {
    /// The sender resets its LZ77 window after each message.
    pub no_context_takeover: bool,
    /// The largest window the sender may use and the receiver must keep.
    pub max_window_bits: WindowBits,
}

impl Default for DirectionParams {
    /// Context takeover and a 32 KiB window: what an empty response means.
    fn default() -> Self {
        DirectionParams {
            no_context_takeover: false,
            max_window_bits: WindowBits::MAX,
        }
    }
}

/// The negotiated parameters of both directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct Params {
    /// What the server's messages use.
    pub server: DirectionParams,
    /// What the client's messages use.
    pub client: DirectionParams,
}

impl Params {
    /// The parameters of messages `role` sends.
    pub fn sent_by(&self, role: crate::Role) -> DirectionParams {
        match role {
            crate::Role::Server => self.server,
            crate::Role::Client => self.client,
        }
    }
}

/// Parameters by name, with the §5 duplicate rule applied.
fn params_by_name<'a>(
    params: &'a [ExtensionParam],
    allowed: &[&str],
) -> Result<Vec<(&'a str, Option<&'a str>)>, NegotiationError> {
    let mut seen: Vec<(&str, Option<&str>)> = Vec::with_capacity(params.len());
    for p in params {
        if !allowed.contains(&p.name.as_str()) {
            return Err(NegotiationError::UnknownParameter(p.name.clone()));
        }
        if seen.iter().any(|(n, _)| *n == p.name) {
            return Err(NegotiationError::DuplicateParameter(p.name.clone()));
        }
        seen.push((&p.name, p.value.as_deref()));
    }
    Ok(seen)
}

fn no_value(param: &str, value: Option<&str>) -> Result<bool, NegotiationError> {
    match value {
        None => Ok(true),
        Some(v) => Err(NegotiationError::UnexpectedValue {
            param: param.into(),
            value: v.into(),
        }),
    }
}

/// RFC 7692 §7.1.2.1: "a decimal integer value without leading zeros
/// between 8 to 15, inclusive".
fn window_bits(param: &str, value: &str) -> Result<WindowBits, NegotiationError> {
    let malformed = || NegotiationError::MalformedWindowBits {
        param: param.into(),
        value: value.into(),
    };
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed());
    }
    if value.len() > 1 && value.starts_with('0') {
        return Err(malformed());
    }
    let out_of_range = || NegotiationError::WindowBitsOutOfRange {
        param: param.into(),
        value: value.into(),
    };
    // At most two digits can be in range; longer strings never parse.
    if value.len() > 2 {
        return Err(out_of_range());
    }
    value
        .parse::<u8>()
        .ok()
        .and_then(WindowBits::new)
        .ok_or_else(out_of_range)
}

fn required_bits(param: &str, value: Option<&str>) -> Result<WindowBits, NegotiationError> {
    match value {
        None => Err(NegotiationError::MissingValue(param.into())),
        Some(v) => window_bits(param, v),
    }
}

const ALL_PARAMS: [&str; 4] = [
    SERVER_NO_CONTEXT_TAKEOVER,
    CLIENT_NO_CONTEXT_TAKEOVER,
    SERVER_MAX_WINDOW_BITS,
    CLIENT_MAX_WINDOW_BITS,
];

fn check_name(ext: &Extension) -> Result<(), NegotiationError> {
    if ext.name != EXTENSION_NAME {
        return Err(NegotiationError::NotPermessageDeflate(ext.name.clone()));
    }
    Ok(())
}

impl Offer {
    /// An offer element's parameters (RFC 7692 §5: the server MUST decline an
    /// offer with an undefined parameter, an invalid value or a duplicate).
    pub fn from_extension(ext: &Extension) -> Result<Offer, NegotiationError> {
        check_name(ext)?;
        let mut offer = Offer::default();
        for (name, value) in params_by_name(&ext.params, &ALL_PARAMS)? {
            match name {
                SERVER_NO_CONTEXT_TAKEOVER => offer.server_no_context_takeover = no_value(name, value)?,
                CLIENT_NO_CONTEXT_TAKEOVER => offer.client_no_context_takeover = no_value(name, value)?,
                SERVER_MAX_WINDOW_BITS => offer.server_max_window_bits = Some(required_bits(name, value)?),
                // §7.1.2.2: the value is optional in an offer.
                _ => {
                    offer.client_max_window_bits = Some(match value {
                        None => None,
                        Some(v) => Some(window_bits(name, v)?),
                    })
                }
            }
        }
        Ok(offer)
    }

    /// Every permessage-deflate offer in the request's
    /// `Sec-WebSocket-Extensions` values, in the client's order of
    /// preference, each parsed on its own: an invalid offer is declined, the
    /// next one may still be accepted (RFC 7692 §5). Other extensions are
    /// skipped. A syntax error spoils the whole header.
    pub fn all_in<'a>(
        values: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Vec<Result<Offer, NegotiationError>>, NegotiationError> {
        Ok(parse_extension_headers(values)?
            .iter()
            .filter(|e| e.name == EXTENSION_NAME)
            .map(Offer::from_extension)
            .collect())
    }

    pub fn to_extension(&self) -> Extension {
        let mut params = Vec::new();
        flag(
            &mut params,
            SERVER_NO_CONTEXT_TAKEOVER,
            self.server_no_context_takeover,
        );
        flag(
            &mut params,
            CLIENT_NO_CONTEXT_TAKEOVER,
            self.client_no_context_takeover,
        );
        bits(&mut params, SERVER_MAX_WINDOW_BITS, self.server_max_window_bits);
        match self.client_max_window_bits {
            None => {}
            Some(None) => flag(&mut params, CLIENT_MAX_WINDOW_BITS, true),
            Some(b) => bits(&mut params, CLIENT_MAX_WINDOW_BITS, b),
        }
        Extension {
            name: EXTENSION_NAME.into(),
            params,
        }
    }

    /// Autobahn's client offers (every one declares
    /// `client_no_context_takeover; client_max_window_bits`) with the
    /// server-side requests of cases 12.x/13.x added.
    pub fn autobahn(server_no_context_takeover: bool, server_max_window_bits: Option<WindowBits>) -> Offer {
        Offer {
            server_no_context_takeover,
            client_no_context_takeover: true,
            server_max_window_bits,
            client_max_window_bits: Some(None),
        }
    }
}

fn flag(params: &mut Vec<ExtensionParam>, name: &str, on: bool) {
    if on {
        params.push(ExtensionParam {
            name: name.into(),
            value: None,
        });
    }
}

fn bits(params: &mut Vec<ExtensionParam>, name: &str, value: Option<WindowBits>) {
    if let Some(b) = value {
        params.push(ExtensionParam {
            name: name.into(),
            value: Some(b.to_string()),
        });
    }
}

impl fmt::Display for Offer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_extension().fmt(f)
    }
}

impl fmt::Display for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_extension().fmt(f)
    }
}

impl Response {
    /// A response element's parameters on their own (RFC 7692 §5: a client
    /// MUST fail the connection on an undefined parameter, an invalid value
    /// or a duplicate). `client_max_window_bits` needs a value here
    /// (§7.1.2.2); checks against the offer are [`Response::validate`]'s.
    pub fn from_extension(ext: &Extension) -> Result<Response, NegotiationError> {
        check_name(ext)?;
        let mut r = Response::default();
        for (name, value) in params_by_name(&ext.params, &ALL_PARAMS)? {
            match name {
                SERVER_NO_CONTEXT_TAKEOVER => r.server_no_context_takeover = no_value(name, value)?,
                CLIENT_NO_CONTEXT_TAKEOVER => r.client_no_context_takeover = no_value(name, value)?,
                SERVER_MAX_WINDOW_BITS => r.server_max_window_bits = Some(required_bits(name, value)?),
                _ => r.client_max_window_bits = Some(required_bits(name, value)?),
            }
        }
        Ok(r)
    }

    /// The one permessage-deflate element of a response's
    /// `Sec-WebSocket-Extensions` values: `Ok(None)` when the server did not
    /// accept compression, [`NegotiationError::DuplicateResponse`] when it
    /// accepted it twice (a server accepts at most one of the offers,
    /// RFC 7692 §5; two would both claim RSV1).
    pub fn find_in<'a>(
        values: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Option<Response>, NegotiationError> {
        let exts = parse_extension_headers(values)?;
        let mut found = exts.iter().filter(|e| e.name == EXTENSION_NAME);
        let Some(first) = found.next() else {
            return Ok(None);
        };
        if found.next().is_some() {
            return Err(NegotiationError::DuplicateResponse);
        }
        Response::from_extension(first).map(Some)
    }

    pub fn to_extension(&self) -> Extension {
        let mut params = Vec::new();
        flag(
            &mut params,
            SERVER_NO_CONTEXT_TAKEOVER,
            self.server_no_context_takeover,
        );
        flag(
            &mut params,
            CLIENT_NO_CONTEXT_TAKEOVER,
            self.client_no_context_takeover,
        );
        bits(&mut params, SERVER_MAX_WINDOW_BITS, self.server_max_window_bits);
        bits(&mut params, CLIENT_MAX_WINDOW_BITS, self.client_max_window_bits);
        Extension {
            name: EXTENSION_NAME.into(),
            params,
        }
    }

    /// The client's check of this response against `offer` (RFC 7692 §7.1),
    /// and the parameters both ends then use:
    /// - `server_no_context_takeover` offered → it must be in the response
    ///   (§7.1.1.1); the server may add it unasked. `client_no_context_takeover`
    ///   may be added unasked (§7.1.1.2).
    /// - `server_max_window_bits=N` offered → the response must have it, with
    ///   a value ≤ N (§7.1.2.1); unasked, the server may state its own.
    /// - `client_max_window_bits` not offered → must not be in the response
    ///   (§7.1.2.2). When it was offered with a value, the server may ignore
    ///   that hint (§7.1.2.2), so a larger response value is not an error.
    /// - Absent window bits mean 15 (§7.1.2.1, §7.1.2.2: "up to 32,768 bytes").
    pub fn validate(&self, offer: &Offer) -> Result<Params, NegotiationError> {
        if offer.server_no_context_takeover && !self.server_no_context_takeover {
            return Err(NegotiationError::MissingServerNoContextTakeover);
        }
        match (offer.server_max_window_bits, self.server_max_window_bits) {
            (Some(offered), None) => return Err(NegotiationError::MissingServerMaxWindowBits { offered }),
            (Some(offered), Some(got)) if got > offered => {
                return Err(NegotiationError::ServerWindowAboveOffer { offered, got })
            }
            _ => {}
        }
        if offer.client_max_window_bits.is_none() && self.client_max_window_bits.is_some() {
            return Err(NegotiationError::UnofferedClientMaxWindowBits);
        }
        Ok(self.params())
    }

    /// The parameters this response sets, with absent window bits as 15.
    pub fn params(&self) -> Params {
        Params {
            server: DirectionParams {
                no_context_takeover: self.server_no_context_takeover,
                max_window_bits: self.server_max_window_bits.unwrap_or(WindowBits::MAX),
            },
            client: DirectionParams {
                no_context_takeover: self.client_no_context_takeover,
                max_window_bits: self.client_max_window_bits.unwrap_or(WindowBits::MAX),
            },
        }
    }
}

/// The client's whole check of a response's `Sec-WebSocket-Extensions`
/// values against its offers (in the order sent): `Ok(None)` when the server
/// did not accept permessage-deflate; otherwise the parameters of the first
/// offer the response is a valid answer to, or the error against the first
/// offer when it answers none.
pub fn validate_response_headers<'a>(
    offers: &[Offer],
    values: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Option<Params>, NegotiationError> {
    let Some(response) = Response::find_in(values)? else {
        return Ok(None);
    };
    let mut first_err = None;
    for offer in offers {
        match response.validate(offer) {
            Ok(p) => return Ok(Some(p)),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    // No offer at all: the server accepted something never offered
    // (RFC 6455 §9.1, also the handshake check's); reported here too.
    Err(first_err.unwrap_or(NegotiationError::NotOffered))
}

/// Autobahn's client rule (`case/case12_x_x.py` `init` accepts any
/// `PerMessageDeflateResponse`): a well-formed response is used as it is,
/// its own parameters (absent window bits as 15) binding both ends, even
/// where it answers none of `offers`. `Err` only for a malformed response
/// (what [`Response::find_in`] refuses) or when nothing was offered. With
/// the parameters comes the §7.1 rule the response breaks, if any (what
/// [`validate_response_headers`] would have refused), to be reported.
pub fn accept_response_headers<'a>(
    offers: &[Offer],
    values: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Option<(Params, Option<NegotiationError>)>, NegotiationError> {
    let Some(response) = Response::find_in(values)? else {
        return Ok(None);
    };
    let Some(first) = offers.first() else {
        return Err(NegotiationError::NotOffered);
    };
    let answers_one = offers.iter().any(|offer| response.validate(offer).is_ok());
    let broken = if answers_one {
        None
    } else {
        response.validate(first).err()
    };
    Ok(Some((response.params(), broken)))
}

/// How a server answers offers, after Autobahn's accept functions (cases
/// 12.x and 13.x in fuzzingserver mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AcceptPolicy {
    /// The server resets its own window after each message (§7.1.1.1: it
    /// may say so unasked).
    pub server_no_context_takeover: bool,
    /// Asks the client to reset its window; a server may include it
    /// whether or not it was offered (§7.1.1.2).
    pub client_no_context_takeover: bool,
    /// The server's own window limit; the response takes the smaller of it
    /// and an offered `server_max_window_bits` (§7.1.2.1).
    pub server_max_window_bits: Option<WindowBits>,
    /// Limits the client's window. Only possible when the offer has
    /// `client_max_window_bits` (§7.1.2.2): otherwise the offer is declined,
    /// as Autobahn's accept rules of 13.3–13.6 do.
    pub client_max_window_bits: Option<WindowBits>,
}

impl AcceptPolicy {
    /// The response to `offer`, or `None` to decline it. The client's own
    /// requests (`server_no_context_takeover`, `server_max_window_bits`) are
    /// always honoured, since a server accepting them MUST echo them
    /// (§7.1.1.1, §7.1.2.1).
    pub fn accept(&self, offer: &Offer) -> Option<Response> {
        let server_max_window_bits = match (offer.server_max_window_bits, self.server_max_window_bits) {
            (Some(o), Some(p)) => Some(o.min(p)),
            (o, p) => o.or(p),
        };
        let client_max_window_bits = match (offer.client_max_window_bits, self.client_max_window_bits) {
            (None, Some(_)) => return None,
            (Some(Some(hint)), Some(p)) => Some(hint.min(p)),
            (Some(None), Some(p)) => Some(p),
            // The client's hint may be ignored (§7.1.2.2): add nothing.
            (_, None) => None,
        };
        Some(Response {
            server_no_context_takeover: offer.server_no_context_takeover || self.server_no_context_takeover,
            client_no_context_takeover: self.client_no_context_takeover,
            server_max_window_bits,
            client_max_window_bits,
        })
    }
}

/// The server's choice among `offers` (invalid ones are declined, §5): each
/// policy in order against each valid offer in the client's order, the
/// first acceptance wins (Autobahn 13.7: "try 13.5's rule, then 13.2's, then
/// 13.1's"). Returns the accepted offer's index and the response.
pub fn choose(
    offers: &[Result<Offer, NegotiationError>],
    policies: &[AcceptPolicy],
) -> Option<(usize, Response)> {
    policies.iter().find_map(|policy| {
        offers
            .iter()
            .enumerate()
            .find_map(|(i, o)| o.as_ref().ok().and_then(|o| policy.accept(o)).map(|r| (i, r)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_bits_syntax() {
        let p = SERVER_MAX_WINDOW_BITS;
        assert_eq!(window_bits(p, "8"), Ok(WindowBits(8)));
        assert_eq!(window_bits(p, "15"), Ok(WindowBits(15)));
        for bad in ["", "08", "1a", "+9", " 9", "9.0", "0x9"] {
            assert!(
                matches!(
                    window_bits(p, bad),
                    Err(NegotiationError::MalformedWindowBits { .. })
                ),
                "{bad:?}"
            );
        }
        for far in ["0", "7", "16", "255", "256", "99999999999999999999"] {
            assert!(
                matches!(
                    window_bits(p, far),
                    Err(NegotiationError::WindowBitsOutOfRange { .. })
                ),
                "{far:?}"
            );
        }
    }
}
