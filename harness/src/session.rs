//! Whole sessions, shared by the command line and the integration tests:
//! select the cases, run them against a server (or the embedded reference
//! server) or let a client run them, and write every report.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use wsconform_cases::{catalog, select, Case, Selection, Shard};
use wsconform_wire::handshake::Response;
use wsconform_wire::Role;

use crate::engine::EngineConfig;
use crate::gate::Gate;
use crate::reference::{Knobs, ReferenceServer};
use crate::report::{self, results::RunInfo, ReportError};
use crate::runner::{run_all, CaseResult};
use crate::spec::SpecTimer;
use crate::testing::client::{FuzzingServer, FuzzingServerConfig};
use crate::testing::server::{run_case, ClientOptions};
use crate::transport::{Connector, ServerTls, Target, TargetError, TlsError, Trust};

/// What every run shares: which cases, how patient, and the pass policy.
#[derive(Debug, Clone)]
pub struct Common {
    pub selection: Selection,
    pub shard: Option<Shard>,
    pub timeout_scale: f64,
    /// Overrides of Autobahn's protocol timeouts (from a spec's `options`):
    /// `None` keeps the default, `Some(None)` disables the timer.
    pub open_handshake_timeout: SpecTimer,
    pub close_handshake_timeout: SpecTimer,
    pub server_drop_timeout: SpecTimer,
    pub gate: Gate,
    /// Cases from case files (`--case-file`: saved fuzzing findings), run
    /// after the selected catalog cases, whatever the selection says.
    pub extra_cases: Vec<Case>,
}

impl Default for Common {
    fn default() -> Self {
        Common {
            selection: Selection::default(),
            shard: None,
            timeout_scale: 1.0,
            open_handshake_timeout: None,
            close_handshake_timeout: None,
            server_drop_timeout: None,
            gate: Gate::default(),
            extra_cases: Vec::new(),
        }
    }
}

impl Common {
    /// The selected (and sharded) cases that apply to a peer of `role`.
    pub fn cases(&self, role: Role) -> Result<Vec<Case>, SessionError> {
        if !(self.timeout_scale > 0.0 && self.timeout_scale.is_finite()) {
            return Err(SessionError::TimeoutScale(self.timeout_scale));
        }
        let cases: Vec<Case> = select(&catalog(), &self.selection)?
            .into_iter()
            .chain(self.extra_cases.iter().cloned())
            .filter(|c| c.applies_to(role))
            .collect();
        if cases.is_empty() {
            return Err(SessionError::NoCases);
        }
        Ok(match self.shard {
            Some(shard) => shard.take(cases),
            None => cases,
        })
    }

    /// The opening-handshake timeout, before scaling. Autobahn's default is
    /// 5 s; a spec's 0 disables the timer there, and here leaves only a
    /// generous bound (a hostile peer must not hold a case forever).
    fn open_handshake_timeout(&self) -> Duration {
        match self.open_handshake_timeout {
            None => Duration::from_secs(5),
            Some(None) => Duration::from_secs(60),
            Some(Some(d)) => d,
        }
    }

    fn engine(&self, role: Role) -> EngineConfig {
        let mut e = EngineConfig::new(role);
        e.timeout_scale = self.timeout_scale;
        if let Some(t) = self.close_handshake_timeout {
            e.close_handshake_timeout = t;
        }
        if let Some(t) = self.server_drop_timeout {
            e.server_drop_timeout = t;
        }
        e
    }
}

/// A server-testing run against one target.
#[derive(Debug, Clone)]
pub struct ServerRun {
    /// `None` tests the built-in reference server with `knobs`.
    pub url: Option<String>,
    pub knobs: Knobs,
    pub agent: Option<String>,
    pub jobs: usize,
    /// Which certificates a `wss://` server may present.
    pub trust: Trust,
    /// With no URL: the reference server speaks `wss://` with this identity
    /// (which the run trusts).
    pub reference_tls: Option<ServerTls>,
    pub common: Common,
}

impl Default for ServerRun {
    fn default() -> Self {
        ServerRun {
            url: None,
            knobs: Knobs::default(),
            agent: None,
            jobs: 8,
            trust: Trust::default(),
            reference_tls: None,
            common: Common::default(),
        }
    }
}

/// Problems that stop a run before or after the cases (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Select(#[from] wsconform_cases::SelectError),
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("cannot reach {url}: {why}")]
    Unreachable { url: String, why: String },
    #[error("cannot start the reference server: {0}")]
    Reference(std::io::Error),
    #[error("output directory {path} is not writable: {source}")]
    Outdir { path: String, source: std::io::Error },
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error("--jobs must be at least 1")]
    Jobs,
    #[error("no case selected for this role")]
    NoCases,
    #[error("--timeout-scale must be a positive number, got {0}")]
    TimeoutScale(f64),
    #[error("cannot listen on {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
    #[error("cannot start the client command {0:?}: {1}")]
    Spawn(String, std::io::Error),
}

/// One agent's finished (or interrupted) run.
#[derive(Debug)]
pub struct RunResults {
    pub agent: String,
    /// The role of the implementation under test.
    pub peer_role: Role,
    /// The URL tested, or listened on.
    pub target: String,
    pub started: SystemTime,
    pub results: Vec<CaseResult>,
    pub complete: bool,
    pub passed: bool,
}

impl RunResults {
    fn new(
        agent: String,
        peer_role: Role,
        target: String,
        started: SystemTime,
        results: Vec<CaseResult>,
        complete: bool,
        gate: &Gate,
    ) -> RunResults {
        let passed = complete && results.iter().all(|r| gate.passes(&r.verdict));
        RunResults {
            agent,
            peer_role,
            target,
            started,
            results,
            complete,
            passed,
        }
    }
}

/// Checks that `dir` can take reports before any case runs.
pub fn check_outdir(dir: &Path) -> Result<(), SessionError> {
    let err = |source| SessionError::Outdir {
        path: dir.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    let probe = dir.join(format!(".wsconform-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(err)?;
    std::fs::remove_file(&probe).map_err(err)
}

/// Writes the Autobahn-compatible reports and `results.json` for `runs`.
///
/// Every report is attempted whatever became of the others: `results.json`
/// (from which the HTML is rendered) is written even when `index.json`
/// could not be, and a per-case file that cannot be written is a warning on
/// stderr, not the end of the run, so one agent's trouble never costs the
/// other agents their reports. Returns the first error that cost a whole
/// report.
pub fn write_reports(dir: &Path, runs: &[RunResults]) -> Result<(), ReportError> {
    let harness = runs.first().map_or(Role::Client, |r| r.peer_role.peer());
    let by_agent: Vec<(&str, &[CaseResult])> = runs
        .iter()
        .map(|r| (r.agent.as_str(), r.results.as_slice()))
        .collect();
    let position = |id: &str| {
        runs.iter()
            .find_map(|r| r.results.iter().position(|c| c.case.id == id))
            .map_or(0, |n| n + 1)
    };
    let autobahn = report::autobahn::write(dir, &by_agent, position, harness);
    let infos: Vec<(RunInfo, &[CaseResult])> = runs
        .iter()
        .map(|r| {
            let info = RunInfo {
                agent: r.agent.clone(),
                peer_role: r.peer_role,
                target: r.target.clone(),
                started: r.started,
                complete: r.complete,
            };
            (info, r.results.as_slice())
        })
        .collect();
    let results = report::results::write(dir, &infos);
    let case_files = autobahn?;
    const SHOWN: usize = 3;
    for e in case_files.iter().take(SHOWN) {
        eprintln!("wsconform: {e}; the other reports are written");
    }
    if case_files.len() > SHOWN {
        eprintln!(
            "wsconform: {} more case report files could not be written",
            case_files.len() - SHOWN
        );
    }
    results
}

fn server_header(results: &[CaseResult]) -> Option<String> {
    results.iter().find_map(|r| {
        let (resp, _) = Response::parse(r.outcome.http_response.as_bytes()).ok()??;
        let server = resp.headers.one("Server").ok()??;
        Some(String::from_utf8_lossy(server).trim().to_string())
    })
}

/// Runs a server-testing session; `on_result` sees each case as it ends.
pub async fn run_servers(
    run: &ServerRun,
    stop: Arc<AtomicBool>,
    on_result: impl FnMut(&CaseResult),
) -> Result<RunResults, SessionError> {
    if run.jobs == 0 {
        return Err(SessionError::Jobs);
    }
    let cases = run.common.cases(Role::Server)?;
    let (_reference, url, trust) = match &run.url {
        Some(url) => (None, url.clone(), run.trust.clone()),
        None => {
            let tls = run.reference_tls.clone();
            let trust = tls.as_ref().map_or_else(Trust::default, ServerTls::trust);
            let server =
                ReferenceServer::start(SocketAddr::from(([127, 0, 0, 1], 0)), run.knobs.clone(), tls)
                    .await
                    .map_err(SessionError::Reference)?;
            let url = server.url();
            (Some(server), url, trust)
        }
    };
    let target = Target::parse(&url)?;
    let connector = Connector::new(&trust)?;
    let open_handshake_timeout = run.common.open_handshake_timeout();
    // One connection (and TLS handshake) first: an unreachable server, an
    // untrusted certificate or a silent TLS server is one clear error, not
    // a FAILED verdict per case.
    let probe_limit = open_handshake_timeout.mul_f64(run.common.timeout_scale);
    let unreachable = |why: String| SessionError::Unreachable {
        url: url.clone(),
        why,
    };
    tokio::time::timeout(probe_limit, connector.connect(&target))
        .await
        .map_err(|_| unreachable(format!("no connection within {probe_limit:?}")))?
        .map_err(|e| unreachable(e.to_string()))?;
    let options = Arc::new(ClientOptions {
        engine: run.common.engine(Role::Client),
        open_handshake_timeout,
        user_agent: format!("wsconform/{}", env!("CARGO_PKG_VERSION")),
        connector,
    });
    let started = SystemTime::now();
    let total = cases.len();
    let target = Arc::new(target);
    let results = run_all(
        cases,
        run.jobs,
        Role::Client,
        stop.clone(),
        |case| {
            let (target, options) = (target.clone(), options.clone());
            async move { run_case(&case, &target, &options).await }
        },
        on_result,
    )
    .await;
    let agent = run.agent.clone().unwrap_or_else(|| match &run.url {
        None => "wsconform-reference".to_string(),
        Some(_) => server_header(&results).unwrap_or_else(|| "UnknownServer".into()),
    });
    let complete = results.len() == total && !stop.load(Ordering::SeqCst);
    Ok(RunResults::new(
        agent,
        Role::Server,
        url,
        started,
        results,
        complete,
        &run.common.gate,
    ))
}

/// How the client under test is run.
#[derive(Debug, Clone)]
pub enum ClientUnderTest {
    /// The built-in reference client, in-process, with knobs.
    Reference(Knobs),
    /// A shell command; `{url}` and `{agent}` are replaced.
    Spawn(String),
    /// Clients connect by themselves (Autobahn's usual set-up).
    External,
}

/// Everything a client-testing run needs.
#[derive(Debug, Clone)]
pub struct ClientRun {
    pub listen: SocketAddr,
    pub client: ClientUnderTest,
    /// Agents to wait for; the first is the spawned or reference client's name.
    pub agents: Vec<String>,
    pub until_stopped: bool,
    /// Serve `wss://` with this identity (the reference client trusts it).
    pub tls: Option<ServerTls>,
    pub common: Common,
}

impl Default for ClientRun {
    fn default() -> Self {
        ClientRun {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            client: ClientUnderTest::Reference(Knobs::default()),
            agents: Vec::new(),
            until_stopped: false,
            tls: None,
            common: Common::default(),
        }
    }
}

/// The results of a client-testing run, per agent.
#[derive(Debug)]
pub struct ClientResults {
    pub url: String,
    pub runs: Vec<RunResults>,
    /// What became of a spawned or reference client.
    pub client_status: Option<String>,
    pub passed: bool,
}

/// Upper bound for a whole client run: every case's deadline, plus slack
/// for the client's own connection handling.
fn client_run_limit(cases: &[Case], engine: &EngineConfig) -> Duration {
    cases
        .iter()
        .map(|c| engine.deadline_for(c) + Duration::from_secs(1))
        .sum::<Duration>()
        + Duration::from_secs(30)
}

async fn until_stopped(stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs a client-testing session: listens, lets the client under test
/// connect, and collects every agent's results.
pub async fn run_clients(run: &ClientRun, stop: Arc<AtomicBool>) -> Result<ClientResults, SessionError> {
    let cases = run.common.cases(Role::Client)?;
    let engine = run.common.engine(Role::Server);
    let limit = client_run_limit(&cases, &engine);
    let default_agent = match &run.client {
        ClientUnderTest::Reference(_) => "wsconform-reference-client",
        _ => "client",
    };
    let agents = if run.agents.is_empty() && !matches!(run.client, ClientUnderTest::External) {
        vec![default_agent.to_string()]
    } else {
        run.agents.clone()
    };
    let server = FuzzingServer::start(
        run.listen,
        FuzzingServerConfig {
            cases: cases.clone(),
            engine,
            expected_agents: agents.clone(),
            until_stopped: run.until_stopped,
            tls: run.tls.clone(),
            open_handshake_timeout: run.common.open_handshake_timeout(),
        },
    )
    .await
    .map_err(|e| SessionError::Listen(run.listen, e))?;
    let url = server.url();
    let started = SystemTime::now();
    let mut client_status = None;
    let first_agent = agents.first().cloned().unwrap_or_default();
    match &run.client {
        ClientUnderTest::Reference(knobs) => {
            let trust = run.tls.as_ref().map_or_else(Trust::default, ServerTls::trust);
            let connector = Connector::new(&trust)?;
            let driver = crate::reference::client::run_driver(&url, &first_agent, knobs, &connector);
            tokio::select! {
                result = tokio::time::timeout(limit, driver) => {
                    client_status = Some(match result {
                        Ok(Ok(n)) => format!("reference client ran {n} case(s)"),
                        Ok(Err(e)) => format!("reference client stopped: {e}"),
                        Err(_) => format!("reference client still running after {limit:?}; stopped"),
                    });
                }
                _ = until_stopped(&stop) => {}
            }
        }
        ClientUnderTest::Spawn(command) => {
            let command = command.replace("{url}", &url).replace("{agent}", &first_agent);
            let mut child = tokio::process::Command::new("sh")
                .arg("-c")
                .arg(&command)
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| SessionError::Spawn(command.clone(), e))?;
            tokio::select! {
                status = tokio::time::timeout(limit, child.wait()) => {
                    client_status = Some(match status {
                        Ok(Ok(s)) => format!("client command exited: {s}"),
                        Ok(Err(e)) => format!("client command: {e}"),
                        Err(_) => {
                            let _ = child.kill().await;
                            format!("client command still running after {limit:?}; killed as hung")
                        }
                    });
                }
                _ = until_stopped(&stop) => { let _ = child.kill().await; }
            }
        }
        ClientUnderTest::External => {
            tokio::select! {
                _ = server.finished() => {}
                _ = until_stopped(&stop) => {}
            }
        }
    }
    // The last case's result is stored when its connection ends, which may
    // be a moment after the client moved on.
    for _ in 0..100 {
        if agents.iter().all(|a| server.ran(a) >= cases.len()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let interrupted = stop.load(Ordering::SeqCst);
    let mut seen = server.agents();
    for a in &agents {
        if !seen.contains(a) {
            seen.push(a.clone());
        }
    }
    let why_missing = client_status
        .clone()
        .map_or("the client never ran this case".to_string(), |s| {
            format!("the client never ran this case ({s})")
        });
    let runs: Vec<RunResults> = seen
        .into_iter()
        .map(|agent| {
            let complete = !interrupted && server.ran(&agent) == cases.len();
            let results = server.results(&agent, &why_missing);
            RunResults::new(
                agent,
                Role::Client,
                url.clone(),
                started,
                results,
                complete,
                &run.common.gate,
            )
        })
        .collect();
    let passed = !runs.is_empty() && runs.iter().all(|r| r.passed);
    Ok(ClientResults {
        url,
        runs,
        client_status,
        passed,
    })
}
