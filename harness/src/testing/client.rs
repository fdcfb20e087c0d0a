//! Testing clients: the harness listens and speaks Autobahn's fuzzingserver
//! URL protocol (reference §4), so existing client drivers work unchanged:
//! `/getCaseCount`, `/runCase?case=N&agent=A` (or `casetuple=ID`),
//! `/updateReports?agent=A`, `/getCaseInfo?case=N`,
//! `/getCaseStatus?case=N&agent=A` and `/stopServer`. Each `/runCase`
//! connection runs one case with the harness as the server (RFC 6455 §4.2).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use wsconform_cases::{Case, HandshakeExpect, ResponseEdits};
use wsconform_wire::handshake::Request;
use wsconform_wire::{ClosePayload, Frame, Opcode};
use wsconform_wire::{Decoded, Decoder, DecoderConfig, Role};

use crate::delivery::Link;
use crate::engine::{self, EngineConfig};
use crate::record::{HandshakeAnswer, Outcome};
use crate::runner::CaseResult;
use crate::server_handshake::{self, read_head, AcceptError, Leniency};
use crate::testing::browser_page::Page;
use crate::transport::{self, ServerTls, Stream};
use crate::verdict::{judge, Expectations};

/// What the fuzzing server needs to know.
#[derive(Debug, Clone)]
pub struct FuzzingServerConfig {
    pub cases: Vec<Case>,
    pub engine: EngineConfig,
    /// The server is done once each of these agents asked for
    /// `/updateReports`; when empty, after the first `/updateReports`.
    pub expected_agents: Vec<String>,
    /// Only `/stopServer` (or the caller) ends the server.
    pub until_stopped: bool,
    /// Serve `wss://` with this identity.
    pub tls: Option<ServerTls>,
    /// How long a client has to send its request head (Autobahn's
    /// openHandshakeTimeout, 5 s by default), before `engine.timeout_scale`.
    pub open_handshake_timeout: Duration,
    /// The HTML report the run will write, linked from the browser page.
    pub report: Option<std::path::PathBuf>,
}

/// Results so far, by agent, by case id.
#[derive(Debug, Default)]
struct State {
    results: BTreeMap<String, BTreeMap<String, CaseResult>>,
    /// Agents not in `expected_agents` that were let run cases (at most
    /// [`MAX_OTHER_AGENTS`]).
    admitted: BTreeSet<String>,
    updated: BTreeSet<String>,
    stopped: bool,
    keys: Keys,
    /// Case connections whose result is not stored yet: the run's reports
    /// wait for them (a client may move on before its last case ends).
    in_progress: usize,
}

/// Every `Sec-WebSocket-Key` clients sent in this run, for the
/// `hs.client.fresh-key` check (RFC 6455 §4.1).
#[derive(Debug, Default)]
struct Keys {
    seen: HashSet<Vec<u8>>,
    connections: usize,
    /// Agents one of whose connections repeated a key. A client whose
    /// generator has a short period (Boost.Beast 1.74 repeats keys every
    /// few connections) sends a fresh key on the case's own connection as
    /// often as not, so judging that connection alone made the verdict
    /// depend on which connection the case fell on (`--jobs`, the order of
    /// the slice). The case fails once the agent has repeated any key.
    repeated_by: HashSet<String>,
}

/// At most this many keys are kept (a run makes a few hundred connections
/// per agent); later ones are still compared, not stored.
const MAX_KEYS: usize = 100_000;

/// At most this many agents are remembered as repeaters (agent names come
/// from the network; a run tests a handful).
const MAX_REPEATING_AGENTS: usize = 1_000;

/// Agents besides the expected ones (`--agent`) that may run cases: each is
/// reported with every selected case, so a client that makes up a new name
/// per connection must not multiply the run's memory and reports. Autobahn
/// set-ups test a handful of agents per run.
pub const MAX_OTHER_AGENTS: usize = 16;

/// Longest agent name kept as the client sent it, in characters (the
/// command line's `--agent` limit).
pub const MAX_AGENT_CHARS: usize = 64;

/// Characters of a longer name kept before its hash.
const AGENT_HEAD_CHARS: usize = 48;

/// Request errors logged on stderr; past these, one line says more were not
/// shown (a storm of bad connections must not flood a CI log).
const MAX_LOGGED_ERRORS: usize = 100;

/// The agent a request names, as the reports show it. Agent names come from
/// the network (`agent=…`), so they are untrusted: a name of at most
/// [`MAX_AGENT_CHARS`] characters without control characters is kept as
/// sent (so it matches `--agent`); any other is cut, its control characters
/// replaced by U+FFFD, and marked with `…#` and a hash of the whole name, so
/// distinct names stay distinct and every request naming the same agent
/// (`/runCase`, `/getCaseStatus`, `/updateReports`) means the same one.
pub fn agent_name(raw: &str) -> String {
    if raw.chars().count() <= MAX_AGENT_CHARS && !raw.chars().any(char::is_control) {
        return raw.to_string();
    }
    let head: String = raw
        .chars()
        .take(AGENT_HEAD_CHARS)
        .map(|c| {
            if c.is_control() {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            }
        })
        .collect();
    format!("{head}…#{}", crate::report::name_hash(raw))
}

/// What was known of a connection's key when it arrived.
#[derive(Debug, Clone, Copy)]
struct KeySeen {
    repeated: bool,
    earlier_connections: usize,
}

impl Keys {
    /// Remembers the key of a connection of `agent` (none for the
    /// protocol's agent-less requests) and says whether it, or an earlier
    /// connection of the same agent, repeated a key.
    fn remember(&mut self, req: &Request, agent: Option<&str>) -> KeySeen {
        let earlier_connections = self.connections;
        self.connections += 1;
        let key = req
            .headers
            .all("Sec-WebSocket-Key")
            .next()
            .map(|k| k.trim_ascii().to_vec());
        let repeated = key.is_some_and(|k| {
            let repeated = self.seen.contains(&k);
            if !repeated && self.seen.len() < MAX_KEYS {
                self.seen.insert(k);
            }
            repeated
        });
        let earlier = agent.is_some_and(|a| self.repeated_by.contains(a));
        if let Some(a) = agent.filter(|_| repeated && !earlier) {
            if self.repeated_by.len() < MAX_REPEATING_AGENTS {
                self.repeated_by.insert(a.to_string());
            }
        }
        KeySeen {
            repeated: repeated || earlier,
            earlier_connections,
        }
    }
}

impl KeySeen {
    /// What `hs.client.fresh-key` found when the key alone decides; `None`
    /// when the key is fresh and the case's steps decide.
    fn answer(self) -> Option<HandshakeAnswer> {
        if self.repeated {
            Some(HandshakeAnswer::KeyRepeated)
        } else if self.earlier_connections == 0 {
            Some(HandshakeAnswer::NoEarlierKey)
        } else {
            None
        }
    }
}

/// A running fuzzing server.
#[derive(Debug)]
pub struct FuzzingServer {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    done: watch::Receiver<bool>,
    task: JoinHandle<()>,
}

impl Drop for FuzzingServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Debug)]
struct Shared {
    config: FuzzingServerConfig,
    /// Served on a plain `GET /` (`browser_page`).
    page: Page,
    state: Mutex<State>,
    done: watch::Sender<bool>,
    /// Wakes `/getCaseStatus` requests when a result arrives.
    results_changed: watch::Sender<u64>,
    /// Request errors logged so far (see [`MAX_LOGGED_ERRORS`]).
    logged_errors: AtomicUsize,
}

impl Shared {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn finish_if_done(&self, state: &State) {
        let all_updated = if self.config.expected_agents.is_empty() {
            !state.updated.is_empty()
        } else {
            self.config
                .expected_agents
                .iter()
                .all(|a| state.updated.contains(a))
        };
        if state.stopped || (!self.config.until_stopped && all_updated) {
            let _ = self.done.send(true);
        }
    }

    fn case_by_index(&self, n: usize) -> Option<&Case> {
        n.checked_sub(1).and_then(|i| self.config.cases.get(i))
    }

    fn is_expected(&self, agent: &str) -> bool {
        self.config.expected_agents.iter().any(|a| a == agent)
    }

    /// Whether `agent` may run a case: an expected agent always, another
    /// while fewer than [`MAX_OTHER_AGENTS`] others have.
    fn admit(&self, agent: &str) -> bool {
        if self.is_expected(agent) {
            return true;
        }
        let mut state = self.state();
        if state.admitted.contains(agent) {
            return true;
        }
        if state.admitted.len() >= MAX_OTHER_AGENTS {
            return false;
        }
        state.admitted.insert(agent.to_string());
        true
    }

    /// Logs a failed request on stderr, up to [`MAX_LOGGED_ERRORS`] of them.
    fn log_error(&self, peer: SocketAddr, e: &RequestError) {
        let n = self.logged_errors.fetch_add(1, Ordering::Relaxed);
        if n < MAX_LOGGED_ERRORS {
            eprintln!("wsconform: request from {peer}: {e}");
        } else if n == MAX_LOGGED_ERRORS {
            eprintln!("wsconform: more than {MAX_LOGGED_ERRORS} failed requests; no more are logged");
        }
    }
}

impl FuzzingServer {
    pub async fn start(listen: SocketAddr, config: FuzzingServerConfig) -> std::io::Result<FuzzingServer> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let (done_tx, done) = watch::channel(false);
        let page = Page::new(&config.cases, config.report.as_deref());
        let shared = Arc::new(Shared {
            page,
            config,
            state: Mutex::new(State::default()),
            done: done_tx,
            results_changed: watch::channel(0).0,
            logged_errors: AtomicUsize::new(0),
        });
        let accept_shared = shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let (tcp, peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    // Out of file descriptors, or a connection gone before
                    // it was accepted: the listener still works. Pause so a
                    // full descriptor table can drain, and go on: a storm
                    // of connections must not stop the server for good.
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let shared = accept_shared.clone();
                tokio::spawn(async move {
                    let limit = transport::TLS_ACCEPT_TIMEOUT.mul_f64(shared.config.engine.timeout_scale);
                    let link = Link::of(&tcp);
                    let result = match transport::accept(tcp, shared.config.tls.as_ref(), limit).await {
                        Ok(stream) => handle(stream, link, &shared).await,
                        Err(e) => Err(RequestError::Tls(e)),
                    };
                    if let Err(e) = result {
                        shared.log_error(peer, &e);
                    }
                });
            }
        });
        Ok(FuzzingServer {
            addr,
            shared,
            done,
            task,
        })
    }

    pub fn url(&self) -> String {
        format!(
            "{}://{}",
            transport::scheme(self.shared.config.tls.is_some()),
            self.addr
        )
    }

    /// Resolves once the stop condition is met.
    pub async fn finished(&self) {
        let mut done = self.done.clone();
        let _ = done.wait_for(|d| *d).await;
    }

    /// Agents seen so far.
    pub fn agents(&self) -> Vec<String> {
        self.shared.state().results.keys().cloned().collect()
    }

    /// `agent`'s results in case order; cases it never ran get a FAILED
    /// result that says so, so a crashed or hung client shows per case.
    ///
    /// `hs.client.fresh-key` is judged again here, over the whole run: an
    /// agent that repeated a key on any connection, even one after the
    /// case's own, fails it, so the verdict does not depend on when the case
    /// ran (`--jobs`, the order of a slice).
    pub fn results(&self, agent: &str, why_missing: &str) -> Vec<CaseResult> {
        let state = self.shared.state();
        let ran = state.results.get(agent);
        let repeated = state.keys.repeated_by.contains(agent);
        self.shared
            .config
            .cases
            .iter()
            .map(|case| match ran.and_then(|r| r.get(&case.id)) {
                Some(r)
                    if repeated
                        && matches!(
                            case.handshake.as_ref().map(|h| &h.expect),
                            Some(HandshakeExpect::FreshKey)
                        )
                        && r.outcome.handshake_answer != Some(HandshakeAnswer::KeyRepeated) =>
                {
                    let mut r = r.clone();
                    r.outcome.handshake_answer = Some(HandshakeAnswer::KeyRepeated);
                    r.verdict = judge(case, &r.outcome, &Expectations::of(case), Role::Server);
                    r
                }
                Some(r) => r.clone(),
                None => {
                    let outcome = Outcome::setup_failed(SystemTime::now(), why_missing.to_string(), false);
                    let verdict = judge(case, &outcome, &Expectations::of(case), Role::Server);
                    CaseResult {
                        case: case.clone(),
                        outcome,
                        verdict,
                    }
                }
            })
            .collect()
    }

    /// Case connections running now, whose results are not stored yet.
    pub fn cases_in_progress(&self) -> usize {
        self.shared.state().in_progress
    }

    /// How many cases `agent` has run.
    pub fn ran(&self, agent: &str) -> usize {
        self.shared.state().results.get(agent).map_or(0, BTreeMap::len)
    }

    /// Whether the stop condition was met (`/updateReports` by the expected
    /// agents, or `/stopServer`): a client that ends without it did not
    /// finish its run.
    pub fn is_finished(&self) -> bool {
        *self.done.borrow()
    }

    /// The results of the agent that ran the most cases, by case id, taken
    /// out of the server (`wsconform fuzz` judges each batch once and keeps
    /// nothing).
    pub fn take_results(&self) -> BTreeMap<String, CaseResult> {
        let mut state = self.shared.state();
        let busiest = state
            .results
            .iter()
            .max_by_key(|(_, r)| r.len())
            .map(|(a, _)| a.clone());
        busiest.and_then(|a| state.results.remove(&a)).unwrap_or_default()
    }
}

#[derive(Debug, thiserror::Error)]
enum RequestError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("bad request: {0}")]
    Bad(String),
    #[error(transparent)]
    Accept(#[from] AcceptError),
    #[error("TLS handshake: {0}")]
    Tls(std::io::Error),
}

/// Query parameters, percent-decoded.
fn query_params(target: &str) -> (String, BTreeMap<String, String>) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let params = query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    (path.to_string(), params)
}

fn percent_decode(s: &str) -> String {
    let hex = |b: Option<&u8>| b.and_then(|b| (*b as char).to_digit(16)).map(|d| d as u8);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
            (b'%', Some(hi), Some(lo)) => {
                out.push(hi << 4 | lo);
                i += 3;
                continue;
            }
            (b'+', _, _) => out.push(b' '),
            (b, _, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn http_error(stream: &mut Stream, status: u16, reason: &str, why: &str) -> Result<(), RequestError> {
    server_handshake::http_error(stream, status, reason, None, why)
        .await
        .map_err(RequestError::from)
}

async fn upgrade(stream: &mut Stream, req: &Request) -> Result<String, RequestError> {
    Ok(server_handshake::answer(stream, req, Leniency::default(), &ResponseEdits::default(), None).await?)
}

/// A case's answer that could not be written, or a request refused: the
/// handshake answer it amounts to, or why the case could not run.
fn unanswered(e: AcceptError, expect: Option<&HandshakeExpect>) -> Result<HandshakeAnswer, String> {
    match (e, expect) {
        // Closed before the invalid response was all written: the client
        // failed the connection on what it had read (RFC 6455 §4.1), as
        // `probe_client` would have seen.
        (AcceptError::Io(_), Some(HandshakeExpect::ClientFails)) => Ok(HandshakeAnswer::ClientClosed),
        (AcceptError::Io(e), _) => Err(format!(
            "the 101 could not be sent whole (the client closed the connection?): {e}"
        )),
        (AcceptError::Bad(why), _) => Err(format!("the client's request was refused: {why}")),
    }
}

/// After an invalid response (hs.client.* cases that expect the client to
/// fail the connection): send a probe message and see what the client does
/// within `wait`: whether it closes the connection or uses it.
async fn probe_client(stream: &mut Stream, mut leftover: Vec<u8>, wait: Duration) -> HandshakeAnswer {
    if stream
        .write_all(&Frame::new(Opcode::TEXT, "probe").encode())
        .await
        .is_err()
    {
        return HandshakeAnswer::ClientClosed;
    }
    let mut config = DecoderConfig::strict(Role::Client);
    config.allowed_rsv = 0b111;
    config.allow_reserved_opcodes = true;
    config.reject_non_minimal_length = false;
    let mut decoder = Decoder::new(config);
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let mut pos = 0;
        while let Ok((n, Some(item))) = decoder.decode(&mut leftover[pos..]) {
            pos += n;
            if let Decoded::Header(h) = item {
                return HandshakeAnswer::ClientSent { opcode: h.opcode };
            }
        }
        leftover.drain(..pos);
        let mut chunk = [0u8; 4096];
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Err(_) => {
                return HandshakeAnswer::ClientKeptOpen {
                    ms: wait.as_millis() as u64,
                }
            }
            Ok(Ok(0)) | Ok(Err(_)) => return HandshakeAnswer::ClientClosed,
            Ok(Ok(n)) => leftover.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Sends one text message (if any) and an empty close, waits briefly for
/// the client's close, and closes TCP (the server's duty, RFC 6455 §7.1.1).
async fn reply_and_close(stream: &mut Stream, text: Option<String>) -> Result<(), RequestError> {
    let mut bytes = Vec::new();
    if let Some(text) = text {
        Frame::new(Opcode::TEXT, text).encode_into(&mut bytes);
    }
    Frame::new(Opcode::CLOSE, ClosePayload::empty().encode()).encode_into(&mut bytes);
    stream.write_all(&bytes).await?;
    let mut sink = [0u8; 1024];
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.read(&mut sink)).await;
    let _ = stream.shutdown().await;
    Ok(())
}

fn required<'a>(params: &'a BTreeMap<String, String>, key: &str) -> Result<&'a String, String> {
    params
        .get(key)
        .ok_or_else(|| format!("missing query parameter {key:?}"))
}

async fn handle(mut stream: Stream, link: Option<Link>, shared: &Arc<Shared>) -> Result<(), RequestError> {
    let limit = shared
        .config
        .open_handshake_timeout
        .mul_f64(shared.config.engine.timeout_scale);
    let (req, mut leftover, head) = tokio::time::timeout(limit, read_head(&mut stream))
        .await
        .map_err(|_| RequestError::Bad(format!("no request head within {limit:?}")))??;
    // Before the key is remembered: the page's own fetch is no connection
    // of the client under test.
    if Page::is_request_for(&req) {
        return Ok(shared.page.serve(&mut stream).await?);
    }
    let (path, params) = query_params(&req.target);
    let agent = params.get("agent").map(|raw| agent_name(raw));
    let key = shared.state().keys.remember(&req, agent.as_deref());
    let index_of = |params: &BTreeMap<String, String>| -> Result<&Case, String> {
        if let Some(id) = params.get("casetuple") {
            return shared
                .config
                .cases
                .iter()
                .find(|c| c.id == *id)
                .ok_or_else(|| format!("no selected case {id:?}"));
        }
        let n: usize = required(params, "case")?
            .parse()
            .map_err(|_| "case must be a number".to_string())?;
        shared
            .case_by_index(n)
            .ok_or_else(|| format!("case {n} is out of range 1..={}", shared.config.cases.len()))
    };
    match path.as_str() {
        "/getCaseCount" => {
            upgrade(&mut stream, &req).await?;
            reply_and_close(&mut stream, Some(shared.config.cases.len().to_string())).await
        }
        "/getCaseInfo" => match index_of(&params) {
            Err(why) => http_error(&mut stream, 400, "Bad Request", &why).await,
            Ok(case) => {
                upgrade(&mut stream, &req).await?;
                let first_sentence = case
                    .description
                    .split(". ")
                    .next()
                    .unwrap_or_default()
                    .to_string();
                let info = serde_json::json!({"id": case.id, "description": first_sentence});
                reply_and_close(&mut stream, Some(info.to_string())).await
            }
        },
        "/getCaseStatus" => {
            let (case, agent) = match (index_of(&params), required(&params, "agent")) {
                (Ok(c), Ok(a)) => (c, agent_name(a)),
                (Err(why), _) | (_, Err(why)) => {
                    return http_error(&mut stream, 400, "Bad Request", &why).await
                }
            };
            upgrade(&mut stream, &req).await?;
            let mut changed = shared.results_changed.subscribe();
            let behavior = loop {
                let found = shared
                    .state()
                    .results
                    .get(&agent)
                    .and_then(|r| r.get(&case.id))
                    .map(|r| r.verdict.behavior.as_str());
                if let Some(b) = found {
                    break b;
                }
                if tokio::time::timeout(Duration::from_secs(600), changed.changed())
                    .await
                    .is_err()
                {
                    break "UNKNOWN";
                }
            };
            reply_and_close(
                &mut stream,
                Some(serde_json::json!({ "behavior": behavior }).to_string()),
            )
            .await
        }
        "/runCase" => {
            let (case, agent) = match (index_of(&params), required(&params, "agent")) {
                (Ok(c), Ok(a)) => (c.clone(), agent_name(a)),
                (Err(why), _) | (_, Err(why)) => {
                    return http_error(&mut stream, 400, "Bad Request", &why).await
                }
            };
            if !shared.admit(&agent) {
                let why =
                    format!("more than {MAX_OTHER_AGENTS} agents besides --agent; {agent:?} is refused");
                return http_error(&mut stream, 503, "Service Unavailable", &why).await;
            }
            let started = SystemTime::now();
            let mut edits = case
                .handshake
                .as_ref()
                .map(|h| h.response.clone())
                .unwrap_or_default();
            // permessage-deflate: the case's accept rules on the client's
            // offers, as Autobahn's fuzzingserver applies `SERVER_ACCEPT`.
            let deflate = case.deflate.as_ref().and_then(|d| {
                let policies: Vec<_> = d.accept.iter().map(|a| a.to_wire()).collect();
                server_handshake::accept_deflate(&req, &policies)
            });
            edits
                .headers
                .extend(deflate.iter().map(server_handshake::deflate_header));
            shared.state().in_progress += 1;
            let answered =
                server_handshake::answer(&mut stream, &req, Leniency::default(), &edits, link).await;
            // The client asked for this case: what became of its handshake
            // is the case's result, not "never ran" at the end of the run.
            let mut outcome = Outcome::new(started);
            outcome.http_request = head;
            let expect = case.handshake.as_ref().map(|h| &h.expect);
            let answer = match (answered, expect) {
                (Ok(response), expect) => {
                    outcome.http_response = response;
                    outcome.deflate = deflate;
                    match expect {
                        Some(HandshakeExpect::ClientFails) => {
                            let wait = Duration::from_secs(2).mul_f64(shared.config.engine.timeout_scale);
                            let answer = probe_client(&mut stream, std::mem::take(&mut leftover), wait).await;
                            let _ = stream.shutdown().await;
                            Some(answer)
                        }
                        Some(HandshakeExpect::FreshKey) => match key.answer() {
                            Some(answer) => {
                                let _ = reply_and_close(&mut stream, None).await;
                                Some(answer)
                            }
                            None => None,
                        },
                        _ => None,
                    }
                }
                (Err(e), expect) => match unanswered(e, expect) {
                    Ok(answer) => Some(answer),
                    Err(why) => {
                        outcome.setup_error = Some(why);
                        None
                    }
                },
            };
            let outcome = match answer {
                Some(answer) => {
                    outcome.handshake_answer = Some(answer);
                    outcome
                }
                None if outcome.setup_error.is_some() => outcome,
                None => {
                    outcome.handshake_completed = true;
                    engine::run(&case, stream, leftover, link, &shared.config.engine, outcome).await
                }
            };
            let verdict = judge(&case, &outcome, &Expectations::of(&case), Role::Server);
            let result = CaseResult {
                case,
                outcome,
                verdict,
            };
            {
                let mut state = shared.state();
                state.in_progress = state.in_progress.saturating_sub(1);
                state
                    .results
                    .entry(agent)
                    .or_default()
                    .insert(result.case.id.clone(), result);
            }
            shared.results_changed.send_modify(|n| *n += 1);
            Ok(())
        }
        "/updateReports" => {
            let agent = match required(&params, "agent") {
                Ok(a) => agent_name(a),
                Err(why) => return http_error(&mut stream, 400, "Bad Request", &why).await,
            };
            upgrade(&mut stream, &req).await?;
            reply_and_close(&mut stream, None).await?;
            let mut state = shared.state();
            // Only the expected agents' calls decide when the run ends (with
            // none expected, the first call does): others are not kept, so
            // made-up names cannot grow the set.
            if shared.config.expected_agents.is_empty() || shared.is_expected(&agent) {
                state.updated.insert(agent);
            }
            shared.finish_if_done(&state);
            Ok(())
        }
        "/stopServer" => {
            upgrade(&mut stream, &req).await?;
            reply_and_close(&mut stream, None).await?;
            let mut state = shared.state();
            state.stopped = true;
            shared.finish_if_done(&state);
            Ok(())
        }
        other => http_error(&mut stream, 404, "Not Found", &format!("unknown path {other:?}")).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A write that fails because the client is gone counts as the client
    /// failing the connection only where the response was one it must
    /// refuse; elsewhere the case could not run, and says why.
    #[test]
    fn an_answer_that_could_not_be_written_is_judged_by_what_the_case_expects() {
        let gone = || AcceptError::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert_eq!(
            unanswered(gone(), Some(&HandshakeExpect::ClientFails)),
            Ok(HandshakeAnswer::ClientClosed)
        );
        for expect in [None, Some(&HandshakeExpect::FreshKey)] {
            let why = unanswered(gone(), expect).expect_err("not a handshake answer");
            assert!(why.starts_with("the 101 could not be sent whole"), "{why}");
        }
        let why = unanswered(
            AcceptError::Bad("no Upgrade".into()),
            Some(&HandshakeExpect::ClientFails),
        )
        .expect_err("a refused request is no answer");
        assert_eq!(why, "the client's request was refused: no Upgrade");
    }

    /// Boost.Beast 1.74's pattern: a key repeated on an earlier connection,
    /// a fresh one on the case's own. The agent that repeated fails from
    /// then on; another agent of the same run does not.
    #[test]
    fn a_repeated_key_marks_its_agent_for_the_rest_of_the_run() {
        let mut keys = Keys::default();
        let req = |key: &str| Request::websocket("h", "/", key);
        let mut seen = |key: &str, agent: &str| keys.remember(&req(key), Some(agent)).repeated;
        assert!(!seen("a1", "a"));
        assert!(!seen("b1", "b"));
        assert!(seen("a1", "a"), "the repeat itself");
        assert!(seen("a2", "a"), "a fresh key after a repeat");
        assert!(!seen("b2", "b"), "another agent's record is its own");
        let first = keys.remember(&req("c1"), None);
        assert!(!first.repeated && first.earlier_connections == 5);
    }

    #[test]
    fn query_parsing() {
        let (path, params) = query_params("/runCase?case=12&agent=my%20client+x");
        assert_eq!(path, "/runCase");
        assert_eq!(params["case"], "12");
        assert_eq!(params["agent"], "my client x");
        let (path, params) = query_params("/getCaseCount");
        assert_eq!((path.as_str(), params.len()), ("/getCaseCount", 0));
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    #[test]
    fn agent_names_are_bounded_printable_and_distinct() {
        assert_eq!(agent_name("my-client 1.0"), "my-client 1.0");
        let long_a = format!("{}a", "L".repeat(299));
        let long_b = format!("{}b", "L".repeat(299));
        let (a, b) = (agent_name(&long_a), agent_name(&long_b));
        assert_ne!(a, b);
        assert!(
            a.starts_with(&"L".repeat(AGENT_HEAD_CHARS)) && a.chars().count() < 80,
            "{a}"
        );
        assert_eq!(agent_name(&long_a), a, "the same name maps the same way");
        let evil = agent_name("\u{1b}[31mred\n");
        assert!(!evil.chars().any(char::is_control), "{evil:?}");
        assert_ne!(evil, agent_name("\u{1b}[31mred\r"));
    }
}
