//! Payloads as data: a byte pattern repeated to a length, so a 16 MiB case is
//! a few bytes in the catalog and is generated, never stored, when sent.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Bytes that serialize as a JSON string when they are UTF-8 and as
/// `{"hex": "..."}` otherwise, so catalog dumps stay readable and lossless.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Bytes(pub Vec<u8>);

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match std::str::from_utf8(&self.0) {
            Ok(s) => write!(f, "{s:?}"),
            Err(_) => write!(f, "0x{}", hex::encode(&self.0)),
        }
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(&self.0) {
            Ok(text) => s.serialize_str(text),
            Err(_) => {
                use serde::ser::SerializeMap;
                let mut map = s.serialize_map(Some(1))?;
                map.serialize_entry("hex", &hex::encode(&self.0))?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Text(String),
            Hex { hex: String },
        }
        match Repr::deserialize(d)? {
            Repr::Text(t) => Ok(Bytes(t.into_bytes())),
            Repr::Hex { hex } => hex::decode(hex).map(Bytes).map_err(serde::de::Error::custom),
        }
    }
}

/// A payload: `pattern` repeated (and cut) to `len` bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Payload {
    pub pattern: Bytes,
    pub len: u64,
}

impl Payload {
    /// Exactly these bytes.
    pub fn bytes(bytes: impl Into<Vec<u8>>) -> Payload {
        let bytes = bytes.into();
        Payload {
            len: bytes.len() as u64,
            pattern: Bytes(bytes),
        }
    }

    pub fn text(text: &str) -> Payload {
        Payload::bytes(text.as_bytes())
    }

    pub fn empty() -> Payload {
        Payload::bytes(Vec::new())
    }

    /// `pattern` repeated to `len` bytes (Autobahn's `payload_len`).
    pub fn repeat(pattern: impl Into<Vec<u8>>, len: u64) -> Payload {
        Payload {
            pattern: Bytes(pattern.into()),
            len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Fills `buf` with the payload bytes starting at `offset`.
    pub fn fill(&self, offset: u64, buf: &mut [u8]) {
        let pattern = &self.pattern.0;
        if pattern.is_empty() {
            buf.fill(0);
            return;
        }
        // Lay down the rotated pattern once, then double the filled prefix:
        // a 16 MiB payload takes a handful of memcpys, not 16 M steps.
        let rot = (offset % pattern.len() as u64) as usize;
        let first = (pattern.len() - rot).min(buf.len());
        buf[..first].copy_from_slice(&pattern[rot..rot + first]);
        let second = (pattern.len() - first).min(buf.len() - first).min(rot);
        buf[first..first + second].copy_from_slice(&pattern[..second]);
        let mut filled = first + second;
        while filled < buf.len() {
            let n = filled.min(buf.len() - filled);
            buf.copy_within(..n, filled);
            filled += n;
        }
    }

    /// The payload's bytes `[start, end)` as a payload of their own,
    /// without generating them: a window on a repeated pattern is the
    /// pattern rotated to `start`, repeated.
    pub fn window(&self, start: u64, end: u64) -> Payload {
        let end = end.min(self.len);
        let start = start.min(end);
        let pattern = &self.pattern.0;
        if pattern.is_empty() {
            return Payload::repeat(Vec::new(), end - start);
        }
        let rot = (start % pattern.len() as u64) as usize;
        let rotated = [&pattern[rot..], &pattern[..rot]].concat();
        Payload::repeat(rotated, end - start)
    }

    /// The bytes `[start, end)` of the payload.
    pub fn slice(&self, start: u64, end: u64) -> Vec<u8> {
        let end = end.min(self.len);
        let start = start.min(end);
        let mut out = vec![0; (end - start) as usize];
        self.fill(start, &mut out);
        out
    }

    /// The whole payload. Only for payloads known to be small.
    pub fn to_vec(&self) -> Vec<u8> {
        self.slice(0, self.len)
    }
}

/// Autobahn's wire-log rendering of a payload: `[len, preview]`, as in its
/// `TF`/`RF` entries and the payloads of its `expected`/`received` events
/// (Autobahn's `asciiLogData`).
///
/// `bytes` is the payload or at least its first 64 bytes; `total_len` is the
/// whole payload's length. The rule, exactly as Autobahn (Python 2) applies it:
///
/// * a payload longer than 60 bytes is cut to its first 64 bytes and `" ..."`
///   is appended (so 61–64-byte payloads are shown whole, with `" ..."`);
/// * the (cut) bytes are shown as text if they decode as UTF-8 by Python 2's
///   rules, which accept encoded UTF-16 surrogates (`ed a0 80`, RFC 3629 §3
///   forbids them), else as `0x` + lowercase hex of the same bytes. A cut
///   inside a multi-byte character therefore shows the whole preview as hex.
///
/// Autobahn's JSON writes surrogates as `\uXXXX` escapes; a surrogate pair
/// reads back as the supplementary character, which is what this returns. A
/// lone surrogate cannot be held in a JSON string here and becomes U+FFFD.
pub fn autobahn_preview(bytes: &[u8], total_len: u64) -> serde_json::Value {
    const MAX: usize = 64;
    const ELLIPSIS: &str = " ...";
    let cut = total_len > (MAX - ELLIPSIS.len()) as u64;
    debug_assert!(
        bytes.len() as u64 >= total_len.min(MAX as u64),
        "preview needs the first 64 bytes"
    );
    let whole = usize::try_from(total_len).unwrap_or(MAX);
    let shown = &bytes[..bytes.len().min(MAX).min(whole)];
    let mut text = python2_utf8(shown).unwrap_or_else(|| format!("0x{}", hex::encode(shown)));
    if cut {
        text.push_str(ELLIPSIS);
    }
    serde_json::json!([total_len, text])
}

/// Python 2's strict UTF-8 decoder: Rust's, plus encoded surrogates
/// (`ed a0..bf 80..bf`). Surrogate pairs are combined, lone ones replaced.
fn python2_utf8(mut bytes: &[u8]) -> Option<String> {
    let mut units: Vec<u16> = Vec::new();
    loop {
        match std::str::from_utf8(bytes) {
            Ok(text) => {
                units.extend(text.encode_utf16());
                return Some(String::from_utf16_lossy(&units));
            }
            Err(e) => {
                let (valid, rest) = bytes.split_at(e.valid_up_to());
                units.extend(std::str::from_utf8(valid).ok()?.encode_utf16());
                match *rest {
                    [0xED, b1 @ 0xA0..=0xBF, b2 @ 0x80..=0xBF, ..] => {
                        units.push(0xD000 | (u16::from(b1 & 0x3F) << 6) | u16::from(b2 & 0x3F));
                        bytes = &rest[3..];
                    }
                    _ => return None,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeat_and_slice() {
        let p = Payload::repeat(*b"abc", 7);
        assert_eq!(p.to_vec(), b"abcabca");
        assert_eq!(p.slice(2, 5), b"cab");
        assert_eq!(p.slice(5, 100), b"ca");
    }

    #[test]
    fn fill_matches_the_pattern_at_any_offset() {
        let p = Payload::repeat(*b"BAsd7&jh23", 1000);
        for offset in [0u64, 1, 9, 10, 11, 997] {
            for len in [0usize, 1, 3, 10, 11, 64, 301] {
                let mut buf = vec![0u8; len];
                p.fill(offset, &mut buf);
                let want: Vec<u8> = (0..len)
                    .map(|i| b"BAsd7&jh23"[((offset as usize) + i) % 10])
                    .collect();
                assert_eq!(buf, want, "offset {offset} len {len}");
            }
        }
    }

    #[test]
    fn windows_are_slices() {
        let p = Payload::repeat(*b"abcde", 23);
        for (start, end) in [(0, 23), (3, 9), (7, 7), (20, 30), (5, 23)] {
            assert_eq!(
                p.window(start, end).to_vec(),
                p.slice(start, end),
                "{start}..{end}"
            );
        }
    }

    #[test]
    fn bytes_serialize_losslessly() {
        let text = serde_json::to_string(&Bytes(b"hi".to_vec())).expect("serializes");
        assert_eq!(text, "\"hi\"");
        let bin = serde_json::to_string(&Bytes(vec![0xff, 0])).expect("serializes");
        assert_eq!(bin, r#"{"hex":"ff00"}"#);
        let back: Bytes = serde_json::from_str(&bin).expect("parses");
        assert_eq!(back.0, vec![0xff, 0]);
    }
    fn preview(bytes: &[u8]) -> serde_json::Value {
        autobahn_preview(bytes, bytes.len() as u64)
    }

    /// Samples from Autobahn 25.10.1 wire logs (`TF`/`RF` entries).
    #[test]
    fn autobahn_preview_matches_wire_logs() {
        let json = |s: &str| serde_json::from_str::<serde_json::Value>(s).expect("valid sample");
        // 2.2, 2.3, 7.3.3, 7.9.1, 7.9.7: text, binary, a close code.
        assert_eq!(preview(b"Hello, world!"), json(r#"[13, "Hello, world!"]"#));
        assert_eq!(
            preview(b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff"),
            json(r#"[8, "0x00fffefdfcfb00ff"]"#)
        );
        assert_eq!(preview(b"\x03\xe8"), json(r#"[2, "0x03e8"]"#));
        assert_eq!(preview(b"\x00\x00"), json(r#"[2, "\u0000\u0000"]"#));
        assert_eq!(preview(b"\x04\x4c"), json(r#"[2, "\u0004L"]"#));
        assert_eq!(preview(b""), json(r#"[0, ""]"#));
        // 1.1.6: cut at 64 bytes.
        let stars = vec![b'*'; 65535];
        assert_eq!(
            preview(&stars),
            json(&format!(r#"[65535, "{} ..."]"#, "*".repeat(64)))
        );
        // 1.2.2: binary 125 bytes, hex of the first 64.
        let fe = vec![0xFE; 125];
        assert_eq!(
            preview(&fe),
            json(&format!(r#"[125, "0x{} ..."]"#, "fe".repeat(64)))
        );
        // 6.12.8 / 6.13.1: 63 and 62 bytes are shown whole, yet with " ...".
        let cont: Vec<u8> = (0x80..=0xBE).collect();
        assert_eq!(
            preview(&cont),
            json(&format!(r#"[63, "0x{} ..."]"#, hex::encode(&cont)))
        );
        // 6.20.1, 6.3.1: Python 2 decodes encoded surrogates; 6.21.1 pairs them.
        assert_eq!(preview(b"\xed\xa0\x80"), json(r#"[3, "\ufffd"]"#));
        let kosme = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited";
        assert_eq!(
            preview(kosme),
            json(r#"[20, "\u03ba\u1f79\u03c3\u03bc\u03b5\ufffdedited"]"#)
        );
        assert_eq!(
            preview(b"\xed\xa0\x80\xed\xb0\x80"),
            json(r#"[6, "\ud800\udc00"]"#)
        );
        // 6.4.1: out of range (> U+10FFFF) is not text.
        assert_eq!(preview(b"\xf4\x90\x80\x80"), json(r#"[4, "0xf4908080"]"#));
        // 7.5.1: the close code makes it binary.
        let close = [&b"\x03\xe8"[..], kosme].concat();
        assert_eq!(
            preview(&close),
            json(r#"[22, "0x03e8cebae1bdb9cf83cebcceb5eda080656469746564"]"#)
        );
    }

    #[test]
    fn autobahn_preview_cut_inside_a_character_is_hex() {
        // 63 ASCII bytes then a 2-byte character: the 64-byte cut splits it.
        let mut p = vec![b'a'; 63];
        p.extend("\u{e9}".as_bytes());
        let want = format!("0x{} ...", hex::encode(&p[..64]));
        assert_eq!(
            autobahn_preview(&p, p.len() as u64),
            serde_json::json!([65, want])
        );
        // Only a prefix is needed.
        assert_eq!(
            autobahn_preview(&p[..64], 1 << 20),
            serde_json::json!([1u64 << 20, want])
        );
    }
}
