//! A whole server-testing session: select cases, run them against a target
//! (or the embedded reference server), write every report, and decide the
//! gate. Shared by the command line and the integration tests.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use wsconform_cases::{catalog, select, Case, Selection};
use wsconform_wire::handshake::Response;
use wsconform_wire::Role;

use crate::engine::EngineConfig;
use crate::gate::Gate;
use crate::reference::{Knobs, ReferenceServer};
use crate::report::{self, results::RunInfo, ReportError};
use crate::runner::{run_all, CaseResult};
use crate::testing::server::{run_case, ClientOptions, Target, TargetError};

/// Everything a server-testing run needs.
#[derive(Debug, Clone)]
pub struct ServerRun {
    /// `None` tests the built-in reference server with `knobs`.
    pub url: Option<String>,
    pub knobs: Knobs,
    pub selection: Selection,
    pub agent: Option<String>,
    /// `None` writes no reports.
    pub outdir: Option<PathBuf>,
    pub jobs: usize,
    pub timeout_scale: f64,
    pub gate: Gate,
}

impl Default for ServerRun {
    fn default() -> Self {
        ServerRun {
            url: None,
            knobs: Knobs::default(),
            selection: Selection::default(),
            agent: None,
            outdir: Some(PathBuf::from("reports/servers")),
            jobs: 8,
            timeout_scale: 1.0,
            gate: Gate::default(),
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
    #[error("--timeout-scale must be a positive number, got {0}")]
    TimeoutScale(f64),
    #[error("cannot listen on {0}: {1}")]
    Listen(std::net::SocketAddr, std::io::Error),
    #[error("cannot start the client command {0:?}: {1}")]
    Spawn(String, std::io::Error),
}

/// The results of a finished (or interrupted) run.
#[derive(Debug)]
pub struct RunResults {
    pub agent: String,
    pub results: Vec<CaseResult>,
    pub complete: bool,
    pub passed: bool,
}

/// Checks that `dir` can take reports before any case runs.
pub fn check_outdir(dir: &std::path::Path) -> Result<(), SessionError> {
    let err = |source| SessionError::Outdir {
        path: dir.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    let probe = dir.join(format!(".wsconform-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(err)?;
    std::fs::remove_file(&probe).map_err(err)
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
    if !(run.timeout_scale > 0.0 && run.timeout_scale.is_finite()) {
        return Err(SessionError::TimeoutScale(run.timeout_scale));
    }
    let cases: Vec<Case> = select(&catalog(), &run.selection)?;
    if let Some(dir) = &run.outdir {
        check_outdir(dir)?;
    }
    let (_reference, url) = match &run.url {
        Some(url) => (None, url.clone()),
        None => {
            let server =
                ReferenceServer::start(std::net::SocketAddr::from(([127, 0, 0, 1], 0)), run.knobs.clone())
                    .await
                    .map_err(SessionError::Reference)?;
            let url = server.url();
            (Some(server), url)
        }
    };
    let target = Target::parse(&url)?;
    tokio::net::TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|e| SessionError::Unreachable {
            url: url.clone(),
            why: e.to_string(),
        })?;
    let mut engine = EngineConfig::new(Role::Client);
    engine.timeout_scale = run.timeout_scale;
    let options = Arc::new(ClientOptions {
        engine,
        open_handshake_timeout: Duration::from_secs(5),
        user_agent: format!("wsconform/{}", env!("CARGO_PKG_VERSION")),
    });
    let started = SystemTime::now();
    let total = cases.len();
    let order: Vec<String> = cases.iter().map(|c| c.id.clone()).collect();
    let target = Arc::new(target);
    let results = run_all(
        cases,
        run.jobs,
        false,
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
    if let Some(dir) = &run.outdir {
        let position = |id: &str| order.iter().position(|c| c == id).map_or(0, |n| n + 1);
        report::autobahn::write(dir, &[(&agent, &results)], position, false)?;
        let info = RunInfo {
            agent: agent.clone(),
            peer_role: "server",
            target: url,
            started,
            complete,
        };
        report::results::write(dir, &[(info, &results)])?;
    }
    let passed = complete && results.iter().all(|r| run.gate.passes(&r.verdict));
    Ok(RunResults {
        agent,
        results,
        complete,
        passed,
    })
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
    pub listen: std::net::SocketAddr,
    pub client: ClientUnderTest,
    pub selection: Selection,
    /// Agents to wait for; the first is the spawned or reference client's name.
    pub agents: Vec<String>,
    pub until_stopped: bool,
    pub outdir: Option<PathBuf>,
    pub timeout_scale: f64,
    pub gate: Gate,
}

impl Default for ClientRun {
    fn default() -> Self {
        ClientRun {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            client: ClientUnderTest::Reference(Knobs::default()),
            selection: Selection::default(),
            agents: Vec::new(),
            until_stopped: false,
            outdir: Some(PathBuf::from("reports/clients")),
            timeout_scale: 1.0,
            gate: Gate::default(),
        }
    }
}

/// The results of a client-testing run, per agent.
#[derive(Debug)]
pub struct ClientResults {
    pub url: String,
    pub runs: Vec<RunResults>,
    /// What became of a spawned client (exit status, or killed as hung).
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

/// Runs a client-testing session: listens, lets the client under test
/// connect, and writes the reports of every agent seen.
pub async fn run_clients(run: &ClientRun, stop: Arc<AtomicBool>) -> Result<ClientResults, SessionError> {
    use crate::testing::client::{FuzzingServer, FuzzingServerConfig};

    if !(run.timeout_scale > 0.0 && run.timeout_scale.is_finite()) {
        return Err(SessionError::TimeoutScale(run.timeout_scale));
    }
    let cases: Vec<Case> = select(&catalog(), &run.selection)?;
    if let Some(dir) = &run.outdir {
        check_outdir(dir)?;
    }
    let mut engine = EngineConfig::new(Role::Server);
    engine.timeout_scale = run.timeout_scale;
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
        },
    )
    .await
    .map_err(|e| SessionError::Listen(run.listen, e))?;
    let url = server.url();
    let started = SystemTime::now();
    let stopped = async {
        while !stop.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let mut client_status = None;
    match &run.client {
        ClientUnderTest::Reference(knobs) => {
            let agent = agents.first().cloned().unwrap_or_default();
            let driver = crate::reference::client::run_driver(&url, &agent, knobs);
            tokio::select! {
                result = tokio::time::timeout(limit, driver) => {
                    client_status = Some(match result {
                        Ok(Ok(n)) => format!("reference client ran {n} case(s)"),
                        Ok(Err(e)) => format!("reference client stopped: {e}"),
                        Err(_) => format!("reference client still running after {limit:?}; stopped"),
                    });
                }
                _ = stopped => {}
            }
        }
        ClientUnderTest::Spawn(command) => {
            let agent = agents.first().cloned().unwrap_or_default();
            let command = command.replace("{url}", &url).replace("{agent}", &agent);
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
                _ = stopped => { let _ = child.kill().await; }
            }
        }
        ClientUnderTest::External => {
            tokio::select! {
                _ = server.finished() => {}
                _ = stopped => {}
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
    let order: Vec<String> = cases.iter().map(|c| c.id.clone()).collect();
    let mut runs = Vec::new();
    for agent in seen {
        let complete = !interrupted && server.ran(&agent) == cases.len();
        let results = server.results(&agent, &why_missing);
        let passed = complete && results.iter().all(|r| run.gate.passes(&r.verdict));
        runs.push(RunResults {
            agent,
            results,
            complete,
            passed,
        });
    }
    if let Some(dir) = &run.outdir {
        let position = |id: &str| order.iter().position(|c| c == id).map_or(0, |n| n + 1);
        let autobahn_runs: Vec<(&str, &[CaseResult])> = runs
            .iter()
            .map(|r| (r.agent.as_str(), r.results.as_slice()))
            .collect();
        report::autobahn::write(dir, &autobahn_runs, position, true)?;
        let infos: Vec<(RunInfo, &[CaseResult])> = runs
            .iter()
            .map(|r| {
                let info = RunInfo {
                    agent: r.agent.clone(),
                    peer_role: "client",
                    target: url.clone(),
                    started,
                    complete: r.complete,
                };
                (info, r.results.as_slice())
            })
            .collect();
        report::results::write(dir, &infos)?;
    }
    let passed = !runs.is_empty() && runs.iter().all(|r| r.passed);
    Ok(ClientResults {
        url,
        runs,
        client_status,
        passed,
    })
}
