//! What a browser's verdict is about. The driver page does one thing in a
//! case: it sends back every message it receives (`onmessage` →
//! `send(e.data)`). Everything else a case checks is done by the browser's
//! network stack, out of the page's reach: the WebSocket API (WHATWG
//! WebSockets Standard) has no ping or pong event, so pongs (RFC 6455
//! §5.5.3) are the browser's; a page may close only with 1000 or 3000–4999
//! and this page never closes, so failing the connection on a protocol error
//! (§7.1.7) and the close frame sent back (§5.5.1) are the browser's; the
//! opening handshake (§4.1), masking (§5.3), reassembly of fragments (§5.4)
//! and UTF-8 validation of text (§8.1) happen before `onmessage` fires.
//!
//! These notes are added to the notes of every case whose connection came
//! from the driver page (a browser run's, or a page opened by hand), in the
//! reports (`results.json`, HTML, JUnit); they never change a verdict,
//! which `verdict.rs` alone decides.

use wsconform_cases::{Case, Event, Step};
use wsconform_wire::Opcode;

use crate::runner::CaseResult;

/// Prefix of every note added here, so a reader (and a test) can tell them
/// from the catalog's own notes.
pub const PREFIX: &str = "Browser run: ";

/// The note for `case` run by a browser through the driver page, given the
/// opening handshake request the browser sent (`http_request`).
pub fn note(case: &Case, http_request: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    if case.handshake.is_some() {
        parts.push(
            "the opening handshake is the browser's network stack (RFC 6455 §4.1): the page only calls new WebSocket(url) and sees onerror/onclose, so this verdict is about the browser, not the page",
        );
    }
    let expects_message = case
        .expected
        .values()
        .flatten()
        .any(|e| matches!(e, Event::Message { .. }));
    if expects_message || matches!(case.judge, wsconform_cases::Judge::Echoes { .. }) {
        parts.push(
            "the echo is the page's (onmessage → send(e.data)); reassembling fragments and validating UTF-8 before onmessage are the browser's",
        );
    }
    let sends_ping = case.steps.iter().any(|s| match s {
        Step::Frame { frame, .. } => frame.opcode == Opcode::PING,
        _ => false,
    });
    let expects_pong = case
        .expected
        .values()
        .flatten()
        .any(|e| matches!(e, Event::Pong { .. }));
    if sends_ping || expects_pong {
        parts.push(
            "pongs are sent by the browser's network stack: the WebSocket API has no ping event, so the page can neither see a ping nor answer one (RFC 6455 §5.5.3)",
        );
    }
    if !case.expected_close.closed_by_me && case.handshake.is_none() {
        parts.push(
            "failing the connection, and the close code in it, are the browser's: a page may close only with 1000 or 3000–4999, and this page never calls close() (RFC 6455 §7.1.7)",
        );
    } else if case.handshake.is_none() {
        parts.push("the close frame sent back (its code and reason) is chosen by the browser, not by the page (RFC 6455 §5.5.1)");
    }
    if offers_permessage_deflate(http_request) {
        parts.push(
            "the browser offered permessage-deflate, which wsconform declined (RFC 7692 §5), so nothing in this case was compressed",
        );
    }
    format!("{PREFIX}{}.", parts.join("; "))
}

fn offers_permessage_deflate(http_request: &str) -> bool {
    http_request.lines().any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("Sec-WebSocket-Extensions")
                && value.to_ascii_lowercase().contains("permessage-deflate")
        })
    })
}

/// Adds the browser note to every result whose connection came from the
/// driver page, whichever way the browser got there (`--browser`, or a
/// person opening the page of `--listen`).
pub fn annotate(results: &mut [CaseResult]) {
    for r in results {
        if from_served_page(&r.outcome.http_request) {
            let text = note(&r.case, &r.outcome.http_request);
            r.case.notes.push(text);
        }
    }
}

/// Whether a handshake request came from a page this server served: a
/// browser sends the page's origin (RFC 6455 §4.1 item 8, §10.2), which for
/// the driver page is the `Host` the request itself names. Other clients
/// send no `Origin`, or another one.
pub fn from_served_page(http_request: &str) -> bool {
    let header = |wanted: &str| {
        http_request.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim().eq_ignore_ascii_case(wanted).then(|| value.trim())
        })
    };
    let (Some(origin), Some(host)) = (header("Origin"), header("Host")) else {
        return false;
    };
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|authority| authority.eq_ignore_ascii_case(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(id: &str) -> Case {
        wsconform_cases::catalog()
            .into_iter()
            .find(|c| c.id == id)
            .expect("in the catalog")
    }

    #[test]
    fn each_case_says_which_part_is_the_browsers() {
        let echo = note(&case("1.1.1"), "");
        assert!(
            echo.starts_with(PREFIX) && echo.contains("the echo is the page's"),
            "{echo}"
        );
        assert!(
            echo.contains("close frame sent back") && !echo.contains("pongs"),
            "{echo}"
        );
        let ping = note(&case("2.2"), "");
        assert!(ping.contains("pongs are sent by the browser"), "{ping}");
        let rsv = note(&case("3.1"), "");
        assert!(rsv.contains("failing the connection"), "{rsv}");
        let handshake = wsconform_cases::catalog()
            .into_iter()
            .find(|c| c.id.starts_with("hs.client."))
            .expect("hs.client cases");
        let hs = note(&handshake, "");
        assert!(hs.contains("opening handshake is the browser's"), "{hs}");
        assert!(!hs.contains("failing the connection"), "{hs}");
    }

    #[test]
    fn only_connections_from_the_served_page_are_noted() {
        let page = "GET /runCase?case=1&agent=a HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nOrigin: http://127.0.0.1:9001\r\n\r\n";
        assert!(from_served_page(page));
        assert!(from_served_page(&page.replace("http://", "https://")));
        assert!(!from_served_page(&page.replace(
            "Origin: http://127.0.0.1:9001",
            "Origin: http://example.com"
        )));
        assert!(!from_served_page(
            "GET /runCase?case=1&agent=a HTTP/1.1\r\nHost: 127.0.0.1:9001\r\n\r\n"
        ));
        assert!(!from_served_page(""));
    }

    #[test]
    fn the_deflate_offer_is_noted_only_when_made() {
        let offered = "GET /runCase?case=1&agent=a HTTP/1.1\r\nsec-websocket-extensions: permessage-deflate; client_max_window_bits\r\n\r\n";
        assert!(note(&case("1.1.1"), offered).contains("permessage-deflate"));
        assert!(!note(&case("1.1.1"), "GET / HTTP/1.1\r\n\r\n").contains("permessage-deflate"));
    }
}
