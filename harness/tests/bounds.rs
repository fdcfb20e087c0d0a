//! Hostile peers against the `wsconform` binary, in both roles: a scripted
//! bad server on 127.0.0.1 that `wsconform server` connects to, and scripted
//! bad clients that connect to `wsconform client`'s fuzzing server.
//!
//! A CI gate runs unattended against implementations that are not yet
//! right, so whatever the peer does, each test checks what a user relies on
//! (issue 11): the run's peak RSS (`VmHWM` from `/proc`, sampled while it
//! runs) stays under [`RSS_BOUND_KIB`], the run exits 0 or 1 by itself
//! within a deadline, and `index.json` and `results.json` parse and hold a
//! verdict for every selected case. Each test prints one `bounds:` line
//! with what it measured (`cargo test --test bounds -- --nocapture`).
//!
//! The scripted peers follow `hostile.rs` (a raw socket and the wire
//! crate's frame encoder, no WebSocket library), but run the real binary,
//! so the reports and the process's memory are part of what is tested.

#[path = "common/cli.rs"]
mod cli;

use std::collections::BTreeSet;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use wsconform::testing::client::MAX_OTHER_AGENTS;
use wsconform_wire::handshake::{Request, Response};
use wsconform_wire::{Frame, Opcode};

/// The peak RSS a run may reach, in KiB: the bound a CI gate can rely on
/// whatever the peer does (budget.rs keeps what is kept about a peer at
/// 16 MiB per run; the rest is buffers and the process itself).
const RSS_BOUND_KIB: u64 = 64 * 1024;

/// Past this peak the test kills the run at once: it has failed anyway, and
/// a flood that grows without end must not take the machine's memory.
const RSS_KILL_KIB: u64 = 2 * 1024 * 1024;

/// How often the run's `VmHWM` is read. `VmHWM` is a high-water mark, so
/// only growth in the last interval before exit can be missed.
const SAMPLE: Duration = Duration::from_millis(5);

/// How long a scripted peer misbehaves at most, whatever the harness does,
/// so a broken harness fails the test instead of hanging it.
const PEER_LIMIT: Duration = Duration::from_secs(60);

/// Slack on top of a run's own bound (its cases' deadlines): start-up,
/// report writing, and a machine busy with the other tests' floods.
const SLACK: Duration = Duration::from_secs(20);

/// A masking key for frames that bad clients send (the harness, as a
/// server, fails unmasked client frames at once, which would test nothing).
const CLIENT_MASK: Option<[u8; 4]> = Some([0x37, 0xfa, 0x21, 0x3d]);

// ---------------------------------------------------------------------------
// Running the binary and watching its memory.

/// What a run of the binary did.
struct Run {
    label: String,
    code: Option<i32>,
    peak_kib: u64,
    took: Duration,
    /// Why the test had to kill the run, if it did.
    killed: Option<String>,
    stdout: String,
    stderr: String,
    stderr_lines: usize,
    outdir: PathBuf,
}

/// The `VmHWM` (peak resident set) of process `pid`, in KiB.
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// The last 16 KiB of a stream, and how many lines it had.
async fn tail(stream: Option<impl AsyncRead + Unpin>) -> (String, usize) {
    const KEEP: usize = 16 * 1024;
    let Some(mut stream) = stream else {
        return (String::new(), 0);
    };
    let (mut kept, mut lines) = (Vec::new(), 0);
    let mut chunk = [0u8; 8192];
    while let Ok(n) = stream.read(&mut chunk).await {
        if n == 0 {
            break;
        }
        lines += chunk[..n].iter().filter(|b| **b == b'\n').count();
        kept.extend_from_slice(&chunk[..n]);
        if kept.len() > KEEP {
            kept.drain(..kept.len() - KEEP);
        }
    }
    (String::from_utf8_lossy(&kept).into_owned(), lines)
}

/// A fresh report folder for test `label`, nested one level so that a file
/// written outside it (`../x`) can be seen.
fn outdir(label: &str) -> PathBuf {
    cli::tmpdir(&format!("bounds-{label}")).join("out")
}

/// Runs `wsconform args… --outdir OUTDIR --quiet`, sampling its peak RSS,
/// and kills it when it grows past [`RSS_KILL_KIB`] or runs past
/// `deadline`.
async fn wsconform(label: &str, args: &[String], deadline: Duration) -> Run {
    let outdir = outdir(label);
    let started = Instant::now();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_wsconform"))
        .args(args)
        .arg("--outdir")
        .arg(&outdir)
        .arg("--quiet")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("wsconform starts");
    let pid = child.id().expect("a running child has a pid");
    let stdout = tokio::spawn(tail(child.stdout.take()));
    let stderr = tokio::spawn(tail(child.stderr.take()));
    let (mut peak_kib, mut killed) = (0, None);
    let status = loop {
        if let Some(kib) = vm_hwm_kib(pid) {
            peak_kib = peak_kib.max(kib);
        }
        if killed.is_none() {
            let why = if peak_kib > RSS_KILL_KIB {
                Some(format!("peak RSS passed {} MiB", RSS_KILL_KIB / 1024))
            } else if started.elapsed() > deadline {
                Some(format!("still running after {deadline:?}"))
            } else {
                None
            };
            if let Some(why) = why {
                let _ = child.start_kill();
                killed = Some(format!(
                    "{why} at {:.1} s; killed",
                    started.elapsed().as_secs_f64()
                ));
            }
        }
        // `Child::wait` is cancel safe: a timeout only ends this poll.
        if let Ok(status) = tokio::time::timeout(SAMPLE, child.wait()).await {
            break status.ok();
        }
    };
    let took = started.elapsed();
    let (stdout, _) = stdout.await.unwrap_or_default();
    let (stderr, stderr_lines) = stderr.await.unwrap_or_default();
    Run {
        label: label.to_string(),
        code: status.and_then(|s| s.code()),
        peak_kib,
        took,
        killed,
        stdout,
        stderr,
        stderr_lines,
        outdir,
    }
}

fn s(v: impl ToString) -> String {
    v.to_string()
}

// ---------------------------------------------------------------------------
// Checking the reports.

fn read_json(path: &Path) -> Result<Value, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// What is wrong with the reports in `outdir`: `index.json` and
/// `results.json` must parse and give each of `agents` a verdict for each
/// of `cases`, and each per-case file must be a plain file name in
/// `outdir` that exists.
fn report_problems(outdir: &Path, agents: &[&str], cases: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    match read_json(&outdir.join("index.json")) {
        Err(e) => problems.push(e),
        Ok(index) => {
            for agent in agents {
                for id in cases {
                    let entry = &index[*agent][*id];
                    let verdict = (entry["behavior"].as_str(), entry["behaviorClose"].as_str());
                    if !matches!(verdict, (Some(_), Some(_))) {
                        problems.push(format!("index.json: no verdict for {agent:?} {id}"));
                    }
                    match entry["reportfile"].as_str() {
                        Some(f) if is_plain_file_name(f) && outdir.join(f).is_file() => {}
                        f => problems.push(format!("index.json: {agent:?} {id}: report file {f:?}")),
                    }
                }
            }
        }
    }
    match read_json(&outdir.join("results.json")) {
        Err(e) => problems.push(e),
        Ok(results) => {
            let runs = results["runs"].as_array().cloned().unwrap_or_default();
            for agent in agents {
                let run = runs.iter().find(|r| r["agent"] == *agent);
                for id in cases {
                    let verdict = run
                        .and_then(|r| r["cases"].as_array())
                        .and_then(|cs| cs.iter().find(|c| c["id"] == *id))
                        .and_then(|c| c["verdict"]["behavior"].as_str());
                    if verdict.is_none() {
                        problems.push(format!("results.json: no verdict for {agent:?} {id}"));
                    }
                }
            }
        }
    }
    if !outdir.join("index.html").is_file() {
        problems.push("no index.html".into());
    }
    problems
}

/// About the last `n` bytes of `s`, cut at a character boundary.
fn last_bytes(s: &str, n: usize) -> &str {
    let mut at = s.len().saturating_sub(n);
    while !s.is_char_boundary(at) {
        at += 1;
    }
    &s[at..]
}

/// A file name that stays in its folder: no separator, not `.` or `..`,
/// and short enough for any file system.
fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 255 && !name.contains(['/', '\\', '\0']) && name != "." && name != ".."
}

/// Prints what the run measured (one `bounds:` line, for the lead's table)
/// and asserts issue 11's contract: bounded memory, an exit of 0 or 1 by
/// itself, and complete reports.
fn assert_bounded(run: &Run, problems: &[String]) {
    let measured = format!(
        "bounds: {:<36} peak RSS {:>7.1} MiB  exit {:<7} {:>5.1} s{}",
        run.label,
        run.peak_kib as f64 / 1024.0,
        run.code.map_or("none".into(), |c| c.to_string()),
        run.took.as_secs_f64(),
        run.killed
            .as_deref()
            .map_or(String::new(), |k| format!("  ({k})")),
    );
    eprintln!("{measured}");
    let mut failures = Vec::new();
    if run.peak_kib > RSS_BOUND_KIB {
        failures.push(format!(
            "peak RSS {} KiB is over the bound of {} KiB",
            run.peak_kib, RSS_BOUND_KIB
        ));
    }
    if run.peak_kib == 0 {
        failures.push("no RSS sample was taken".into());
    }
    if let Some(why) = &run.killed {
        failures.push(format!("did not end by itself: {why}"));
    }
    if !matches!(run.code, Some(0 | 1)) {
        failures.push(format!("exit code {:?}, not 0 or 1", run.code));
    }
    failures.extend(problems.iter().take(10).cloned());
    let stderr_tail: String = {
        let lines: Vec<&str> = run.stderr.lines().collect();
        lines[lines.len().saturating_sub(5)..].join("\n")
    };
    assert!(
        failures.is_empty(),
        "{measured}\n{}\nstderr ({} lines), last lines:\n{stderr_tail}\nstdout tail:\n{}",
        failures.join("\n"),
        run.stderr_lines,
        last_bytes(&run.stdout, 2000),
    );
    // Kept when the test fails, for a look at the reports.
    if let Some(dir) = run.outdir.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

// ---------------------------------------------------------------------------
// What a scripted peer does once the WebSocket connection is open.

#[derive(Clone, Copy, Debug)]
enum Bad {
    /// Binary frames of 64 KiB, without end.
    Flood64k,
    /// One binary message that never ends: a first fragment, then 64 KiB
    /// continuation frames without end.
    FragmentFlood,
    /// Pings with 125-byte payloads, without end, never reading a pong:
    /// every ping asks the harness to queue a pong.
    PingFlood,
    /// The same, reading and dropping the pongs: every ping makes the
    /// harness write (and log) a pong.
    PingFloodReading,
    /// Unsolicited pongs with 125-byte payloads, without end.
    PongFlood,
    /// A binary frame that declares 2^63-1 bytes, then one byte of it
    /// every 100 ms.
    HugeTrickle,
    /// Never reads (after the opening handshake) and never sends.
    NeverRead,
    /// An endless stream of empty pings, one byte per second.
    BytePerSecond,
}

/// `frame` masked with `mask` (clients must mask, RFC 6455 §5.3), repeated
/// to at least 64 KiB, so floods write in big pieces.
fn burst(frame: Frame, mask: Option<[u8; 4]>) -> Vec<u8> {
    let one = frame.mask(mask).encode();
    let n = (64 * 1024 / one.len()).max(1);
    one.repeat(n)
}

/// Misbehaves as `bad` on an open WebSocket connection until the harness
/// goes away or [`PEER_LIMIT`] passes. `mask` is `Some` for a bad client.
async fn misbehave(tcp: TcpStream, bad: Bad, mask: Option<[u8; 4]>) {
    let until = Instant::now() + PEER_LIMIT;
    let (mut rd, mut wr) = tcp.into_split();
    let flood = |wr: OwnedWriteHalf, bytes: Vec<u8>| async move {
        let mut wr = wr;
        while Instant::now() < until && wr.write_all(&bytes).await.is_ok() {}
    };
    match bad {
        Bad::Flood64k => flood(wr, burst(Frame::new(Opcode::BINARY, vec![0x5a; 64 * 1024]), mask)).await,
        Bad::FragmentFlood => {
            let first = Frame::new(Opcode::BINARY, vec![0x5a; 64 * 1024])
                .fin(false)
                .mask(mask)
                .encode();
            if wr.write_all(&first).await.is_ok() {
                let more = Frame::new(Opcode::CONTINUATION, vec![0x5a; 64 * 1024]).fin(false);
                flood(wr, burst(more, mask)).await;
            }
        }
        Bad::PingFlood => flood(wr, burst(Frame::new(Opcode::PING, vec![b'p'; 125]), mask)).await,
        Bad::PingFloodReading => {
            let drain = tokio::spawn(async move {
                let mut sink = vec![0u8; 64 * 1024];
                while matches!(rd.read(&mut sink).await, Ok(n) if n > 0) {}
            });
            flood(wr, burst(Frame::new(Opcode::PING, vec![b'p'; 125]), mask)).await;
            drain.abort();
        }
        Bad::PongFlood => flood(wr, burst(Frame::new(Opcode::PONG, vec![b'q'; 125]), mask)).await,
        Bad::HugeTrickle => {
            let header = Frame::new(Opcode::BINARY, Vec::new())
                .declared_len(i64::MAX as u64)
                .mask(mask)
                .encode();
            if wr.write_all(&header).await.is_ok() {
                while Instant::now() < until && wr.write_all(b"x").await.is_ok() {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        Bad::NeverRead => {
            tokio::time::sleep_until(until.into()).await;
            drop(rd);
        }
        Bad::BytePerSecond => {
            let pings = Frame::new(Opcode::PING, Vec::new()).mask(mask).encode();
            for byte in pings.iter().cycle() {
                if Instant::now() >= until || wr.write_all(&[*byte]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Testing a server: a scripted bad server.

/// Reads an HTTP request head; `None` when the connection ends first (the
/// run's reachability probe connects and closes).
async fn read_request(tcp: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while buf.len() < 64 * 1024 {
        let n = tcp.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Ok(Some((req, _))) = Request::parse(&buf) {
            return Some(req);
        }
    }
    None
}

/// A server on 127.0.0.1 that accepts every upgrade, then misbehaves.
async fn bad_server(bad: Bad) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let addr = listener.local_addr().expect("has an address");
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Some(req) = read_request(&mut tcp).await else {
                    return;
                };
                let key = req
                    .headers
                    .one("Sec-WebSocket-Key")
                    .ok()
                    .flatten()
                    .unwrap_or_default()
                    .to_vec();
                if tcp
                    .write_all(&Response::switching_protocols(&key).to_bytes())
                    .await
                    .is_ok()
                {
                    misbehave(tcp, bad, None).await;
                }
            });
        }
    });
    addr
}

/// `wsconform server` against a server that misbehaves as `bad` in `cases`,
/// with `extra` options; asserts the contract.
async fn against_server(label: &str, bad: Bad, cases: &[&str], extra: &[&str], bound: Duration) {
    let addr = bad_server(bad).await;
    let mut args = vec![
        s("server"),
        format!("ws://{addr}/"),
        s("--agent"),
        s("bad-server"),
        s("--cases"),
        cases.join(","),
    ];
    args.extend(extra.iter().map(s));
    let run = wsconform(label, &args, bound + SLACK).await;
    let problems = report_problems(&run.outdir, &["bad-server"], cases);
    assert_bounded(&run, &problems);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_floods_64k_frames() {
    against_server(
        "server: 64 KiB frame flood",
        Bad::Flood64k,
        &["1.1.1"],
        &[],
        secs(10),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_sends_a_message_without_end() {
    against_server(
        "server: endless fragmented message",
        Bad::FragmentFlood,
        &["1.1.1"],
        &[],
        secs(10),
    )
    .await;
}

/// Pings through a case with script waits (6.4.1) and one with a long
/// close timer (9.1.1: 10 s, halved here to keep the test short).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_floods_pings_never_reading() {
    let cases = ["6.4.1", "9.1.1"];
    let scale = ["--timeout-scale", "0.5"];
    against_server(
        "server: ping flood, no reads",
        Bad::PingFlood,
        &cases,
        &scale,
        secs(10),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_floods_pings_reading_pongs() {
    let scale = ["--timeout-scale", "0.5"];
    against_server(
        "server: ping flood, pongs read",
        Bad::PingFloodReading,
        &["9.1.1"],
        &scale,
        secs(10),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_floods_pongs() {
    let scale = ["--timeout-scale", "0.5"];
    against_server("server: pong flood", Bad::PongFlood, &["9.1.1"], &scale, secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_trickles_a_2_63_byte_frame() {
    against_server(
        "server: 2^63-1-byte frame trickled",
        Bad::HugeTrickle,
        &["1.1.1"],
        &[],
        secs(10),
    )
    .await;
}

/// 9.1.6 writes a 16 MiB message to a server that never reads it; its
/// 100 s timer is scaled to 10 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_never_reads_16_mib() {
    let scale = ["--timeout-scale", "0.1"];
    against_server(
        "server: never reads 16 MiB (9.1.6)",
        Bad::NeverRead,
        &["9.1.6"],
        &scale,
        secs(15),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_sends_one_byte_per_second() {
    against_server(
        "server: one byte per second",
        Bad::BytePerSecond,
        &["1.1.1"],
        &[],
        secs(10),
    )
    .await;
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

// ---------------------------------------------------------------------------
// Testing a client: scripted bad clients against the fuzzing server.

/// A free port on 127.0.0.1 for the fuzzing server to listen on (bound and
/// released: another process may take it in between, which is unlikely).
fn free_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    l.local_addr().expect("has an address")
}

/// Waits until the fuzzing server at `addr` accepts connections.
async fn listening(addr: SocketAddr) -> bool {
    let until = Instant::now() + secs(20);
    while Instant::now() < until {
        if TcpStream::connect(addr).await.is_ok() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Opens a WebSocket connection to `target` on the fuzzing server: the
/// request, then the response head (not checked; the harness decides).
async fn ws_open(addr: SocketAddr, target: &str) -> std::io::Result<TcpStream> {
    let mut tcp = TcpStream::connect(addr).await?;
    let req = Request::websocket(&addr.to_string(), target, "dGhlIHNhbXBsZSBub25jZQ==");
    tcp.write_all(&req.to_bytes()).await?;
    // Byte by byte, so nothing after the head is taken from the socket.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if tcp.read(&mut byte).await? == 0 || head.len() > 16 * 1024 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        head.push(byte[0]);
    }
    Ok(tcp)
}

/// A request whose answer is what happens on the connection, not its
/// content (`/getCaseStatus` answers once the case has a result,
/// `/updateReports` once the reports may be written): opens it and reads
/// until the harness closes it.
async fn control(addr: SocketAddr, target: &str) {
    if let Ok(mut tcp) = ws_open(addr, target).await {
        let mut sink = [0u8; 4096];
        while matches!(tcp.read(&mut sink).await, Ok(n) if n > 0) {}
    }
}

/// The driver of one bad client: runs cases 1..=`n` as `bad` (all at once,
/// one connection each), waits for their verdicts, then asks for the
/// reports, as Autobahn's client drivers do.
async fn bad_client(addr: SocketAddr, agent: &'static str, n: usize, bad: Bad) {
    let mut running = Vec::new();
    for case in 1..=n {
        running.push(tokio::spawn(async move {
            if let Ok(tcp) = ws_open(addr, &format!("/runCase?case={case}&agent={agent}")).await {
                misbehave(tcp, bad, CLIENT_MASK).await;
            }
        }));
    }
    for case in 1..=n {
        control(addr, &format!("/getCaseStatus?case={case}&agent={agent}")).await;
    }
    control(addr, &format!("/updateReports?agent={agent}")).await;
    for r in running {
        r.abort();
    }
}

/// `wsconform client --listen … --agent AGENTS[0] …` over `cases`, with
/// `drive` playing the clients; returns the run (not yet checked).
async fn client_run<F, Fut>(
    label: &str,
    agents: &[&str],
    cases: &[&str],
    extra: &[&str],
    bound: Duration,
    drive: F,
) -> Run
where
    F: FnOnce(SocketAddr) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let addr = free_port();
    let mut args = vec![
        s("client"),
        s("--listen"),
        addr.to_string(),
        s("--cases"),
        cases.join(","),
    ];
    for a in agents {
        args.extend([s("--agent"), s(a)]);
    }
    args.extend(extra.iter().map(s));
    let driver = drive(addr);
    let driver = tokio::spawn(async move {
        if listening(addr).await {
            driver.await;
        }
    });
    let run = wsconform(label, &args, bound + SLACK).await;
    driver.abort();
    run
}

/// `wsconform client` with one bad client that misbehaves as `bad` in every
/// selected case; asserts the contract.
async fn against_client(label: &str, bad: Bad, cases: &[&str], extra: &[&str], bound: Duration) {
    let n = cases.len();
    let run = client_run(label, &["bad-client"], cases, extra, bound, move |addr| {
        bad_client(addr, "bad-client", n, bad)
    })
    .await;
    let problems = report_problems(&run.outdir, &["bad-client"], cases);
    assert_bounded(&run, &problems);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_floods_64k_frames() {
    against_client(
        "client: 64 KiB frame flood",
        Bad::Flood64k,
        &["1.1.1"],
        &[],
        secs(10),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_sends_a_message_without_end() {
    against_client(
        "client: endless fragmented message",
        Bad::FragmentFlood,
        &["1.1.1"],
        &[],
        secs(10),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_floods_pings_never_reading() {
    let cases = ["6.4.1", "9.1.1"];
    let scale = ["--timeout-scale", "0.5"];
    against_client(
        "client: ping flood, no reads",
        Bad::PingFlood,
        &cases,
        &scale,
        secs(10),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_floods_pongs() {
    let scale = ["--timeout-scale", "0.5"];
    against_client("client: pong flood", Bad::PongFlood, &["9.1.1"], &scale, secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_trickles_a_2_63_byte_frame() {
    against_client(
        "client: 2^63-1-byte frame trickled",
        Bad::HugeTrickle,
        &["1.1.1"],
        &[],
        secs(10),
    )
    .await;
}

/// 9.2.6 writes a 16 MiB binary message to a client that never reads it;
/// its 100 s timer is scaled to 10 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_never_reads_16_mib() {
    let scale = ["--timeout-scale", "0.1"];
    against_client(
        "client: never reads 16 MiB (9.2.6)",
        Bad::NeverRead,
        &["9.2.6"],
        &scale,
        secs(15),
    )
    .await;
}

/// One byte per second, twice: a request head that never ends (beside the
/// bad client's cases), and pings after the opening handshake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_sends_one_byte_per_second() {
    let run = client_run(
        "client: one byte per second",
        &["bad-client"],
        &["1.1.1"],
        &[],
        secs(10),
        |addr| async move {
            let slow_head = tokio::spawn(async move {
                if let Ok(mut tcp) = TcpStream::connect(addr).await {
                    let req =
                        Request::websocket("x", "/runCase?case=1&agent=slow", "dGhlIHNhbXBsZSBub25jZQ==");
                    for byte in req.to_bytes() {
                        if tcp.write_all(&[byte]).await.is_err() {
                            break;
                        }
                        tokio::time::sleep(secs(1)).await;
                    }
                }
            });
            bad_client(addr, "bad-client", 1, Bad::BytePerSecond).await;
            slow_head.abort();
        },
    )
    .await;
    let problems = report_problems(&run.outdir, &["bad-client"], &["1.1.1"]);
    assert_bounded(&run, &problems);
}

/// 2000 connections at once against the fuzzing server: some close at
/// once, some send garbage, some send nothing and wait, some open a
/// `/runCase` for an agent of their own and drop it. Then a well-behaved
/// client (the reference client) runs its cases: it must be served, and
/// reported, as if nothing had happened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_connection_storm() {
    const STORM: usize = 2000;
    let cases = ["1.1.1", "2.1"];
    let run = client_run(
        "client: storm of 2000 connections",
        &["good"],
        &cases,
        &[],
        secs(20),
        |addr| async move {
            let mut storm = Vec::with_capacity(STORM);
            for i in 0..STORM {
                storm.push(tokio::spawn(async move {
                    let Ok(mut tcp) = TcpStream::connect(addr).await else {
                        return;
                    };
                    match i % 4 {
                        0 => {}
                        1 => {
                            let garbage: Vec<u8> = (0..1024u32).map(|b| (b * 7 + i as u32) as u8).collect();
                            let _ = tcp.write_all(&garbage).await;
                        }
                        2 => tokio::time::sleep(Duration::from_millis(500)).await,
                        _ => {
                            drop(tcp);
                            let _ = ws_open(addr, &format!("/runCase?case=1&agent=storm{i}")).await;
                        }
                    }
                }));
            }
            for c in storm {
                let _ = c.await;
            }
            let url = format!("ws://{addr}");
            let connector = wsconform::transport::Connector::new(&wsconform::transport::Trust::default())
                .expect("TLS configuration");
            let knobs = wsconform::reference::Knobs::default();
            let _ = wsconform::reference::client::run_driver(&url, "good", &knobs, &connector).await;
        },
    )
    .await;
    let mut problems = report_problems(&run.outdir, &["good"], &cases);
    if let Ok(index) = read_json(&run.outdir.join("index.json")) {
        let agents = index.as_object().map_or(0, |m| m.len());
        eprintln!(
            "bounds: storm: {agents} agent(s) reported, {} stderr lines",
            run.stderr_lines
        );
        // The storm's made-up agents are reported (their dropped cases fail,
        // so the run exits 1), but only so many of them.
        if agents > MAX_OTHER_AGENTS + 1 {
            problems.push(format!(
                "{agents} agents reported; at most {} expected",
                MAX_OTHER_AGENTS + 1
            ));
        }
        for id in cases {
            let verdict = &index["good"][id];
            if verdict["behavior"] != "OK" || verdict["behaviorClose"] != "OK" {
                problems.push(format!("the good client's {id} does not pass: {verdict}"));
            }
        }
    }
    assert_bounded(&run, &problems);
}

/// Agent names come from the network (`/runCase?agent=…`): names of 300
/// characters, a path (`../../x`), and names with no letter or digit, run
/// beside a well-behaved agent. Every agent's reports are written, each in
/// its own plain file name inside the report folder, and the run ends with
/// the gate's exit code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_agent_names_are_untrusted() {
    let long_a = format!("{}a", "L".repeat(299));
    let long_b = format!("{}b", "L".repeat(299));
    let hostile: Vec<String> = vec![
        long_a,
        long_b,
        "../../x".into(),
        "\u{1b}[31m💥\n".into(),
        "x".into(),
    ];
    let names = hostile.clone();
    let run = client_run(
        "client: untrusted agent names",
        &["good"],
        &["1.1.1"],
        &[],
        secs(20),
        |addr| async move {
            let url = format!("ws://{addr}");
            let connector = wsconform::transport::Connector::new(&wsconform::transport::Trust::default())
                .expect("TLS configuration");
            let knobs = wsconform::reference::Knobs::default();
            for agent in names.iter().map(String::as_str).chain(["good"]) {
                let _ = wsconform::reference::client::run_driver(&url, agent, &knobs, &connector).await;
            }
        },
    )
    .await;
    let mut problems = report_problems(&run.outdir, &["good"], &["1.1.1"]);
    if run.code != Some(0) {
        problems.push(format!("every agent passes 1.1.1: exit {:?}", run.code));
    }
    // Every agent is reported, each with its own report file.
    match read_json(&run.outdir.join("index.json")) {
        Err(e) => problems.push(e),
        Ok(index) => {
            let agents = index.as_object().cloned().unwrap_or_default();
            if agents.len() != hostile.len() + 1 {
                problems.push(format!(
                    "{} agents reported, not {}: {:?}",
                    agents.len(),
                    hostile.len() + 1,
                    agents.keys().collect::<Vec<_>>()
                ));
            }
            let files: BTreeSet<&str> = agents
                .values()
                .filter_map(|cases| cases["1.1.1"]["reportfile"].as_str())
                .collect();
            if files.len() != agents.len() {
                problems.push(format!("report files are not one per agent: {files:?}"));
            }
            for (agent, cases) in &agents {
                let file = cases["1.1.1"]["reportfile"].as_str().unwrap_or_default();
                if !is_plain_file_name(file) || !run.outdir.join(file).is_file() {
                    problems.push(format!("agent {agent:?}: report file {file:?}"));
                }
                if agent.chars().count() > 200 || agent.chars().any(char::is_control) {
                    problems.push(format!(
                        "agent name kept unbounded or with control characters: {agent:?}"
                    ));
                }
            }
        }
    }
    // Nothing was written beside the report folder.
    let parent = run.outdir.parent().expect("nested");
    let beside: Vec<_> = std::fs::read_dir(parent)
        .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    if beside.len() != 1 {
        problems.push(format!("files written outside the report folder: {beside:?}"));
    }
    assert_bounded(&run, &problems);
}
