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
        report::autobahn::write(dir, &agent, &results, false)?;
        let info = RunInfo {
            agent: agent.clone(),
            peer_role: "server",
            target: url,
            started,
            complete,
        };
        report::results::write(dir, &info, &results)?;
    }
    let passed = complete && results.iter().all(|r| run.gate.passes(&r.verdict));
    Ok(RunResults {
        agent,
        results,
        complete,
        passed,
    })
}
