//! The `Sec-WebSocket-Extensions` header value, parsed into elements with
//! parameters and written back (RFC 6455 §9.1, which RFC 7692 §5 uses):
//!
//! ```text
//! extension-list  = 1#extension
//! extension       = extension-token *( ";" extension-param )
//! extension-param = token [ "=" (token | quoted-string) ]
//! ```
//!
//! "When using the quoted-string syntax variant, the value after
//! quoted-string unescaping MUST conform to the 'token' ABNF" (RFC 6455
//! §9.1), so every value is a token once parsed, and [`Extension`]'s
//! `Display` writes it unquoted. Empty list elements (`a, , b`) are skipped,
//! as RFC 7230 §7 asks of recipients. Names are kept as written: RFC 7692
//! defines its names in lower case and does not make them case-insensitive.

use std::fmt;

/// One extension element: a name and its parameters in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    pub name: String,
    pub params: Vec<ExtensionParam>,
}

/// One `name[=value]` parameter; `value` is unescaped when it was quoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionParam {
    pub name: String,
    pub value: Option<String>,
}

/// What is wrong with the syntax of a `Sec-WebSocket-Extensions` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtensionsError {
    #[error("expected a token at byte {offset} (RFC 6455 §9.1)")]
    ExpectedToken { offset: usize },
    #[error("unexpected byte 0x{byte:02x} at {offset} (RFC 6455 §9.1)")]
    Unexpected { offset: usize, byte: u8 },
    #[error("quoted-string starting at byte {offset} is not terminated (RFC 7230 §3.2.6)")]
    UnterminatedQuote { offset: usize },
    #[error("value {value:?} of parameter {param} is not a token after unescaping (RFC 6455 §9.1)")]
    QuotedNotToken { param: String, value: String },
}

/// RFC 7230 §3.2.6 `tchar`.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// True when `s` is a non-empty RFC 7230 token.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

struct Cursor<'a> {
    input: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn token(&mut self) -> Result<String, ExtensionsError> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        if start == self.pos {
            return Err(ExtensionsError::ExpectedToken { offset: start });
        }
        // tchar is ASCII, so this is valid UTF-8.
        Ok(String::from_utf8_lossy(&self.input[start..self.pos]).into_owned())
    }

    /// A quoted-string (RFC 7230 §3.2.6), unescaped; the cursor is on `"`.
    fn quoted(&mut self) -> Result<Vec<u8>, ExtensionsError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err(ExtensionsError::UnterminatedQuote { offset: start }),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(b) if b == b'\t' || b >= 0x20 && b != 0x7F => {
                            out.push(b);
                            self.pos += 1;
                        }
                        Some(byte) => {
                            return Err(ExtensionsError::Unexpected {
                                offset: self.pos,
                                byte,
                            })
                        }
                        None => return Err(ExtensionsError::UnterminatedQuote { offset: start }),
                    }
                }
                Some(b) if b == b'\t' || b >= 0x20 && b != 0x7F => {
                    out.push(b);
                    self.pos += 1;
                }
                Some(byte) => {
                    return Err(ExtensionsError::Unexpected {
                        offset: self.pos,
                        byte,
                    })
                }
            }
        }
    }

    fn param(&mut self) -> Result<ExtensionParam, ExtensionsError> {
        let name = self.token()?;
        self.skip_ows();
        if self.peek() != Some(b'=') {
            return Ok(ExtensionParam { name, value: None });
        }
        self.pos += 1;
        self.skip_ows();
        let value = if self.peek() == Some(b'"') {
            let raw = self.quoted()?;
            let value = String::from_utf8_lossy(&raw).into_owned();
            if !is_token(&value) {
                return Err(ExtensionsError::QuotedNotToken { param: name, value });
            }
            value
        } else {
            self.token()?
        };
        Ok(ExtensionParam {
            name,
            value: Some(value),
        })
    }
}

/// Parses one `Sec-WebSocket-Extensions` header value.
pub fn parse_extensions(value: &[u8]) -> Result<Vec<Extension>, ExtensionsError> {
    let mut c = Cursor { input: value, pos: 0 };
    let mut out = Vec::new();
    loop {
        c.skip_ows();
        match c.peek() {
            None => return Ok(out),
            Some(b',') => {
                c.pos += 1;
                continue;
            }
            Some(_) => {}
        }
        let name = c.token()?;
        let mut params = Vec::new();
        loop {
            c.skip_ows();
            match c.peek() {
                None | Some(b',') => break,
                Some(b';') => {
                    c.pos += 1;
                    c.skip_ows();
                    params.push(c.param()?);
                }
                Some(byte) => return Err(ExtensionsError::Unexpected { offset: c.pos, byte }),
            }
        }
        out.push(Extension { name, params });
    }
}

/// Parses every `Sec-WebSocket-Extensions` header value of a request or
/// response, in order: several header lines are one list (RFC 6455 §9.1,
/// RFC 7230 §3.2.2).
pub fn parse_extension_headers<'a>(
    values: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<Extension>, ExtensionsError> {
    let mut out = Vec::new();
    for v in values {
        out.extend(parse_extensions(v)?);
    }
    Ok(out)
}

impl fmt::Display for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for p in &self.params {
            write!(f, "; {}", p.name)?;
            if let Some(v) = &p.value {
                if is_token(v) {
                    write!(f, "={v}")?;
                } else {
                    // Only reachable for hand-built elements; parsed values are tokens.
                    f.write_str("=\"")?;
                    for ch in v.chars() {
                        if ch == '"' || ch == '\\' {
                            f.write_str("\\")?;
                        }
                        write!(f, "{ch}")?;
                    }
                    f.write_str("\"")?;
                }
            }
        }
        Ok(())
    }
}

/// A header value listing `extensions`, comma-separated.
pub fn encode_extensions(extensions: &[Extension]) -> String {
    extensions
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, value: Option<&str>) -> ExtensionParam {
        ExtensionParam {
            name: name.into(),
            value: value.map(Into::into),
        }
    }

    #[test]
    fn parses_lists_params_and_quotes() {
        let got = parse_extensions(
            b"permessage-deflate; client_max_window_bits ,, x-foo;a=1 ; b = \"2\";c=\"a b\"",
        );
        assert_eq!(
            got,
            Err(ExtensionsError::QuotedNotToken {
                param: "c".into(),
                value: "a b".into()
            })
        );
        let got = parse_extensions(b"permessage-deflate; client_max_window_bits ,, x-foo;a=1 ; b = \"2\"")
            .expect("parses");
        assert_eq!(
            got,
            vec![
                Extension {
                    name: "permessage-deflate".into(),
                    params: vec![p("client_max_window_bits", None)],
                },
                Extension {
                    name: "x-foo".into(),
                    params: vec![p("a", Some("1")), p("b", Some("2"))],
                },
            ]
        );
        assert_eq!(
            encode_extensions(&got),
            "permessage-deflate; client_max_window_bits, x-foo; a=1; b=2"
        );
        assert_eq!(parse_extensions(b"  "), Ok(vec![]));
        // A quoted-pair unescapes to its character (RFC 7230 §3.2.6).
        let quoted = parse_extensions(b"x; v=\"1\\5\"").expect("parses");
        assert_eq!(quoted[0].params, vec![p("v", Some("15"))]);
    }

    #[test]
    fn syntax_errors() {
        assert_eq!(
            parse_extensions(b"a; =1"),
            Err(ExtensionsError::ExpectedToken { offset: 3 })
        );
        assert_eq!(
            parse_extensions(b"a b"),
            Err(ExtensionsError::Unexpected {
                offset: 2,
                byte: b'b'
            })
        );
        assert_eq!(
            parse_extensions(b"a; b=\"1"),
            Err(ExtensionsError::UnterminatedQuote { offset: 5 })
        );
        assert_eq!(
            parse_extensions(b"a; b="),
            Err(ExtensionsError::ExpectedToken { offset: 5 })
        );
        assert_eq!(
            parse_extensions(b";a"),
            Err(ExtensionsError::ExpectedToken { offset: 0 })
        );
    }
}
