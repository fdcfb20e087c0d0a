//! The driver page for browsers under test, served by the fuzzing server on
//! its own port: a plain HTTP `GET /` (no `Upgrade`) gets a self-contained
//! HTML page whose script runs the selected cases with the browser's own
//! `WebSocket`, through the same `/getCaseCount`, `/runCase` and
//! `/updateReports` requests as Autobahn's `test_browser.html`
//! (`autobahntestsuite/web/fuzzingserver/test_browser.html`). Unlike
//! Autobahn's page, which connects to a fixed port 9001 and waits for a
//! click, it connects back to the origin it was loaded from (`ws://` or
//! `wss://` alike), URL-encodes the agent, and starts by itself with
//! `?autostart=1` (how `--browser` opens it).

use std::path::Path;

use tokio::io::AsyncWriteExt;
use wsconform_cases::Case;
use wsconform_wire::handshake::{Headers, Request, Response};

/// The page's source; `CONFIG_SLOT` is replaced by [`Page::new`].
const SOURCE: &str = include_str!("browser_page.html");
const CONFIG_SLOT: &str = "/*WSCONFORM_CONFIG*/null";

/// The page is its own only asset: no script, style or image may come from
/// elsewhere (the `favicon` is a `data:` URL so browsers do not ask for
/// one), and its WebSockets go back to this server.
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src ws: wss:";

/// The rendered page, ready to serve.
#[derive(Debug, Clone)]
pub struct Page {
    html: String,
}

impl Page {
    /// The page for `cases` (their ids are shown as progress; the count the
    /// page runs comes from `/getCaseCount`), naming `report`, the HTML
    /// report the run will write, when it is known.
    pub fn new(cases: &[Case], report: Option<&Path>) -> Page {
        let config = serde_json::json!({
            "cases": cases.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
            "report": report.map(|p| p.display().to_string()),
        });
        // Inside a <script>, "</script>" or "<!--" in a string would end or
        // change the script: JSON may spell '<' as \u003c.
        let json = config.to_string().replace('<', "\\u003c");
        Page {
            html: SOURCE.replacen(CONFIG_SLOT, &json, 1),
        }
    }

    pub fn html(&self) -> &str {
        &self.html
    }

    /// Whether `req` asks for the page: `GET /` or `GET /index.html`,
    /// without a WebSocket upgrade (an upgrade to `/` is an unknown path
    /// of the fuzzingserver protocol, answered 404 as before).
    pub fn is_request_for(req: &Request) -> bool {
        let path = req.target.split('?').next().unwrap_or_default();
        req.method == "GET"
            && matches!(path, "/" | "/index.html")
            && !req.headers.has_token("Upgrade", "websocket")
    }

    /// Writes the page as a complete HTTP/1.1 response and closes.
    pub async fn serve<S: tokio::io::AsyncWrite + Unpin>(&self, stream: &mut S) -> std::io::Result<()> {
        let mut resp = Response {
            status: 200,
            reason: "OK".into(),
            minor_version: 1,
            headers: Headers::default(),
        };
        resp.headers.set("Content-Type", "text/html; charset=utf-8");
        resp.headers.set("Content-Length", self.html.len().to_string());
        resp.headers.set("Cache-Control", "no-store");
        resp.headers
            .set("Content-Security-Policy", CONTENT_SECURITY_POLICY);
        resp.headers.set("Connection", "close");
        let mut bytes = resp.to_bytes();
        bytes.extend_from_slice(self.html.as_bytes());
        stream.write_all(&bytes).await?;
        stream.shutdown().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cases() -> Vec<Case> {
        wsconform_cases::catalog().into_iter().take(3).collect()
    }

    #[test]
    fn the_config_is_filled_in_and_cannot_end_the_script() {
        let page = Page::new(&cases(), Some(Path::new("/r/</script><b>x/index.html")));
        assert!(!page.html().contains(CONFIG_SLOT));
        assert!(page.html().contains(r#""cases":["1.1.1","1.1.2","1.1.3"]"#));
        assert_eq!(page.html().matches("</script>").count(), 1, "only the page's own");
        assert!(page.html().contains(r"\u003c/script>\u003cb>x/index.html"));
    }

    #[test]
    fn only_plain_gets_of_the_root_ask_for_the_page() {
        let parse = |head: &str| {
            Request::parse(head.as_bytes())
                .expect("parses")
                .expect("complete")
                .0
        };
        assert!(Page::is_request_for(&parse("GET / HTTP/1.1\r\nHost: h\r\n\r\n")));
        assert!(Page::is_request_for(&parse(
            "GET /?agent=x&autostart=1 HTTP/1.1\r\nHost: h\r\n\r\n"
        )));
        assert!(Page::is_request_for(&parse(
            "GET /index.html HTTP/1.1\r\nHost: h\r\n\r\n"
        )));
        assert!(!Page::is_request_for(&parse(
            "POST / HTTP/1.1\r\nHost: h\r\n\r\n"
        )));
        assert!(!Page::is_request_for(&parse(
            "GET /runCase?case=1 HTTP/1.1\r\nHost: h\r\n\r\n"
        )));
        assert!(!Page::is_request_for(&parse(
            "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
        )));
    }
}
