//! What the panel's Rust peers share: the Autobahn fuzzingserver URL protocol
//! (`/getCaseCount`, `/runCase?case=i&agent=A`, `/updateReports?agent=A`) for
//! the client drivers, and the listening socket and its announcement line
//! (`listening 127.0.0.1:PORT`) for the echo servers.
use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;

/// Message and frame size limit given to every library: Autobahn 9.x sends 16 MiB.
pub const MAX_MESSAGE: usize = 64 << 20;
/// Above the longest case timer (480 s, 12.x/13.x with large messages): the
/// harness ends every case; this only guards against a hang.
const CASE_TIMEOUT: Duration = Duration::from_secs(600);
const MAX_CASES: usize = 10_000;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Runs the driver loop. `session(url, echo)` connects, echoes every message
/// with its type (`echo`) or collects the text messages, until the connection
/// closes; each session is bounded by `CASE_TIMEOUT`.
pub async fn drive<F, Fut>(session: F)
where
    F: Fn(String, bool) -> Fut,
    Fut: Future<Output = Result<Vec<String>, BoxError>>,
{
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 || !args[1].starts_with("ws://") {
        eprintln!("usage: DRIVER BASE_URL AGENT");
        std::process::exit(2);
    }
    let base = args[1].trim_end_matches('/');
    let agent: String = args[2]
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let bounded = |url: String, echo: bool| {
        let fut = session(url.clone(), echo);
        async move {
            match tokio::time::timeout(CASE_TIMEOUT, fut).await {
                Ok(Ok(got)) => Some(got),
                Ok(Err(e)) => {
                    println!("{url}: {e}");
                    None
                }
                Err(_) => {
                    println!("{url}: timed out");
                    None
                }
            }
        }
    };
    let count = bounded(format!("{base}/getCaseCount"), false).await;
    let n = count
        .as_ref()
        .and_then(|m| m.first())
        .and_then(|s| s.trim().parse::<usize>().ok())
        .filter(|n| *n <= MAX_CASES);
    let Some(n) = n else {
        eprintln!("driver: bad case count {count:?}");
        std::process::exit(1);
    };
    for i in 1..=n {
        bounded(format!("{base}/runCase?case={i}&agent={agent}"), true).await;
    }
    bounded(format!("{base}/updateReports?agent={agent}"), false).await;
}

/// Binds 127.0.0.1:PORT (PORT from argv; 0 = any free port) and prints the
/// line the scripts wait for.
pub async fn listen() -> TcpListener {
    let port = std::env::args()
        .nth(1)
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or_else(|| {
            eprintln!("usage: SERVER PORT");
            std::process::exit(2);
        });
    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap_or_else(|e| {
        eprintln!("bind: {e}");
        std::process::exit(1);
    });
    let addr = listener.local_addr().expect("bound socket has an address");
    println!("listening 127.0.0.1:{}", addr.port());
    listener
}
