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

use crate::browser::{self, BrowserError, Installed};
use crate::engine::EngineConfig;
use crate::gate::Gate;
use crate::reference::{Knobs, ReferenceServer};
use crate::report::{self, results::RunInfo, ReportError};
use crate::runner::{run_all, CaseResult, DeflateLane};
use crate::spec::SpecTimer;
use crate::testing::client::{FuzzingServer, FuzzingServerConfig, MAX_OTHER_AGENTS};
use crate::testing::copies::Plan;
use crate::testing::server::{run_case, ClientOptions};
use crate::transport::{Connector, ServerTls, Target, TargetError, TlsError, Trust};

/// The least time the reachability probe (one connection, and its TLS
/// handshake, before any case) waits, before `--timeout-scale`: Autobahn's
/// default opening-handshake timeout.
pub(crate) const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The bound on the reachability probe, from the opening-handshake timeout
/// and `--timeout-scale`. The probe says whether there is a server to test
/// at all, so neither a spec's short timeout (down to 1 ms, a legitimate
/// setting whose cases then fail on their own) nor a scale below 1 may turn
/// a loaded machine's slow connect into "cannot reach": never below
/// [`PROBE_TIMEOUT`]; a scale above 1 (a slow machine) lengthens it.
pub(crate) fn probe_limit(open_handshake_timeout: Duration, timeout_scale: f64) -> Duration {
    open_handshake_timeout
        .max(PROBE_TIMEOUT)
        .mul_f64(timeout_scale.max(1.0))
}

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
    pub families: Families,
    /// Cases from case files (`--case-file`: saved fuzzing findings), run
    /// after the selected catalog cases, whatever the selection says.
    pub extra_cases: Vec<Case>,
}

/// Which families of the catalog a run may select from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Families {
    /// Autobahn's cases and wsconform's own (`hs.*`, `mask.*`, …).
    #[default]
    All,
    /// Only the cases Autobahn|Testsuite has (`--autobahn-only`).
    AutobahnOnly,
}

/// Which cases the Autobahn-layout reports (`index.json` and the
/// `<agent>_case_<id>.json` files) list; `results.json`, the HTML, JUnit,
/// Markdown and the gate always have every case of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AutobahnLayout {
    /// Every case of the run.
    #[default]
    AllCases,
    /// Autobahn's cases only: a run from an Autobahn spec, whose
    /// `index.json` a project's regression check diffs against one Autobahn
    /// wrote (`jq -S 'del(.. | .duration?)'` of both); wsconform's own
    /// families would be extra ids there.
    AutobahnCases,
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
            families: Families::default(),
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
            .filter(|c| self.families == Families::All || c.is_autobahn())
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

    fn probe_limit(&self) -> Duration {
        probe_limit(self.open_handshake_timeout(), self.timeout_scale)
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
    #[error(transparent)]
    Browser(#[from] BrowserError),
    #[error(
        "--jobs starts copies of the client with --spawn; to run copies of an external client, run one \
         `wsconform client --listen ADDR --shard I/N` per copy and join them with `wsconform report merge`"
    )]
    CopiesOfExternal,
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
pub fn write_reports(dir: &Path, runs: &[RunResults], layout: AutobahnLayout) -> Result<(), ReportError> {
    let harness = runs.first().map_or(Role::Client, |r| r.peer_role.peer());
    let by_agent: Vec<(&str, Vec<&CaseResult>)> = runs
        .iter()
        .map(|r| {
            let listed = r.results.iter().filter(|c| match layout {
                AutobahnLayout::AllCases => true,
                AutobahnLayout::AutobahnCases => c.case.is_autobahn(),
            });
            (r.agent.as_str(), listed.collect())
        })
        .collect();
    // A case's number in its report file, as Autobahn's: its position among
    // the cases listed.
    let position = |id: &str| {
        by_agent
            .iter()
            .find_map(|(_, l)| l.iter().position(|c| c.case.id == id))
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
    let probe_limit = run.common.probe_limit();
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
    // The embedded reference server shares the harness's memory budget.
    let deflate_lane = match run.url {
        Some(_) => DeflateLane::Shared,
        None => DeflateLane::Single,
    };
    let results = run_all(
        cases,
        run.jobs,
        deflate_lane,
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
    /// A browser, headless, on the driver page (`browser`).
    Browser(Installed),
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
    /// The HTML report the run will write, linked from the browser page.
    pub report: Option<std::path::PathBuf>,
    /// Copies of a spawned or reference client run at once, each on its own
    /// slice of the cases and its own listener (`testing::copies`); 1 is
    /// Autobahn's set-up. Copies of external clients are started by their
    /// user: one run per copy with `--shard`.
    pub jobs: usize,
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
            report: None,
            jobs: 1,
            common: Common::default(),
        }
    }
}

/// The results of a client-testing run, per agent.
#[derive(Debug)]
pub struct ClientResults {
    pub url: String,
    pub runs: Vec<RunResults>,
    /// What became of a spawned or reference client (one line per copy).
    pub client_status: Option<String>,
    pub passed: bool,
}

/// Upper bound for a whole client run (or one copy's): every case's
/// deadline, plus slack for the client's own start and connection handling,
/// scaled like every timer (`--timeout-scale`) but never below 5 s.
pub(crate) fn client_run_limit(cases: &[Case], engine: &EngineConfig) -> Duration {
    let slack = Duration::from_secs(30)
        .mul_f64(engine.timeout_scale)
        .max(Duration::from_secs(5));
    cases
        .iter()
        .map(|c| engine.deadline_for(c) + Duration::from_secs(1))
        .sum::<Duration>()
        + slack
}

async fn until_stopped(stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Kills a spawned client command and everything it started: it runs in a
/// process group of its own, so a wrapper (`sh -c`, `time`, `npm`) does not
/// leave the real client running.
fn kill_group(child: &mut tokio::process::Child) {
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        kill_process_group(pid);
    }
    let _ = child.start_kill();
}

#[cfg(unix)]
#[allow(unsafe_code)]
fn kill_process_group(pgid: i32) {
    // SAFETY: killpg only sends a signal. The group is the one the child
    // leads (`process_group(0)` at spawn) and the child is not reaped yet
    // (its `id()` is known), so the id cannot name another group.
    unsafe {
        libc::killpg(pgid, libc::SIGKILL);
    }
}

#[cfg(not(unix))]
fn kill_process_group(_pgid: i32) {}

/// Runs one copy of the client under test against `url` as `agent`, until
/// it ends, `limit` passes or the run is stopped; what became of it.
pub(crate) async fn run_copy(
    client: &ClientUnderTest,
    server: &FuzzingServer,
    agent: &str,
    limit: Duration,
    trust: &Trust,
    tls: Option<&ServerTls>,
    stop: &AtomicBool,
) -> Result<Option<String>, SessionError> {
    let url = server.url();
    Ok(match client {
        ClientUnderTest::Reference(knobs) => {
            let connector = Connector::new(trust)?;
            let driver = crate::reference::client::run_driver(&url, agent, knobs, &connector);
            tokio::select! {
                result = tokio::time::timeout(limit, driver) => Some(match result {
                    Ok(Ok(n)) => format!("reference client ran {n} case(s)"),
                    Ok(Err(e)) => format!("reference client stopped: {e}"),
                    Err(_) => format!("reference client still running after {limit:?}; stopped"),
                }),
                _ = until_stopped(stop) => None,
            }
        }
        ClientUnderTest::Spawn(command) => {
            let command = command.replace("{url}", &url).replace("{agent}", agent);
            let mut child = tokio::process::Command::new("sh")
                .arg("-c")
                .arg(&command)
                .process_group(0)
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| SessionError::Spawn(command.clone(), e))?;
            let status = tokio::select! {
                status = tokio::time::timeout(limit, child.wait()) => Some(match status {
                    Ok(Ok(s)) => format!("client command exited: {s}"),
                    Ok(Err(e)) => format!("client command: {e}"),
                    Err(_) => format!("client command still running after {limit:?}; killed as hung"),
                }),
                _ = until_stopped(stop) => None,
            };
            if status.as_deref().is_none_or(|s| s.ends_with("killed as hung")) {
                kill_group(&mut child);
                let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
            }
            status
        }
        ClientUnderTest::Browser(installed) => {
            let page = browser::page_url(server.addr, tls.is_some(), agent);
            let exception = tls.map(|t| browser::TlsException::new(server.addr, &t.cert_pem));
            let mut launched = installed.launch(&page, exception.as_ref())?;
            let name = installed.agent();
            let status = tokio::select! {
                _ = server.finished() => Some(format!("{name} ran the cases on {page}")),
                status = launched.exited() => {
                    let why = launched.last_error_line().map_or(String::new(), |l| format!("; its last words: {l}"));
                    Some(match status {
                        Ok(s) => format!("{name} exited before the run ended: {s}{why}"),
                        Err(e) => format!("{name}: {e}"),
                    })
                }
                _ = tokio::time::sleep(limit) => Some(format!("{name} still running after {limit:?}; stopped")),
                _ = until_stopped(stop) => None,
            };
            launched.stop().await;
            status
        }
        ClientUnderTest::External => {
            tokio::select! {
                _ = server.finished() => {}
                _ = until_stopped(stop) => {}
            }
            None
        }
    })
}

/// Runs a client-testing session: listens (once per copy of the client),
/// lets the client under test connect, and collects every agent's results,
/// the copies' merged under the run's agent name.
pub async fn run_clients(run: &ClientRun, stop: Arc<AtomicBool>) -> Result<ClientResults, SessionError> {
    let cases = run.common.cases(Role::Client)?;
    if run.jobs == 0 {
        return Err(SessionError::Jobs);
    }
    if run.jobs > 1 && matches!(run.client, ClientUnderTest::External) {
        return Err(SessionError::CopiesOfExternal);
    }
    let engine = run.common.engine(Role::Server);
    let default_agent = match &run.client {
        ClientUnderTest::Reference(_) => "wsconform-reference-client",
        _ => "client",
    };
    let agents = if run.agents.is_empty() && !matches!(run.client, ClientUnderTest::External) {
        vec![default_agent.to_string()]
    } else {
        run.agents.clone()
    };
    let first_agent = agents.first().cloned().unwrap_or_default();
    let plan = Plan::new(&cases, run.jobs, &first_agent);
    let mut servers = Vec::with_capacity(plan.copies.len());
    for (n, copy) in plan.copies.iter().enumerate() {
        // The first copy listens where asked; the others next to it.
        let listen = if n == 0 {
            run.listen
        } else {
            SocketAddr::new(run.listen.ip(), 0)
        };
        let mut expected_agents = agents.clone();
        if let Some(first) = expected_agents.first_mut() {
            first.clone_from(&copy.agent);
        }
        let server = FuzzingServer::start(
            listen,
            FuzzingServerConfig {
                cases: copy.cases.clone(),
                engine: engine.clone(),
                expected_agents,
                until_stopped: run.until_stopped,
                tls: run.tls.clone(),
                open_handshake_timeout: run.common.open_handshake_timeout(),
                report: run.report.clone(),
            },
        )
        .await
        .map_err(|e| SessionError::Listen(listen, e))?;
        servers.push(server);
    }
    let urls: Vec<String> = servers.iter().map(FuzzingServer::url).collect();
    let url = urls.join(" ");
    let started = SystemTime::now();
    let trust = run.tls.as_ref().map_or_else(Trust::default, ServerTls::trust);
    let copies = plan.copies.iter().zip(&servers).map(|(copy, server)| {
        let limit = client_run_limit(&copy.cases, &engine);
        run_copy(
            &run.client,
            server,
            &copy.agent,
            limit,
            &trust,
            run.tls.as_ref(),
            &stop,
        )
    });
    let statuses = futures_util::future::join_all(copies).await;
    let statuses: Vec<Option<String>> = statuses.into_iter().collect::<Result<_, _>>()?;
    // A case's result is stored when its connection ends, which may be a
    // moment after the client moved on (to its next agent, or to the end):
    // wait, boundedly, for every case connection still running.
    for _ in 0..100 {
        let settled = plan.copies.iter().zip(&servers).all(|(copy, server)| {
            let mut expected = agents.iter().skip(1).map(String::as_str).collect::<Vec<_>>();
            expected.push(&copy.agent);
            expected.iter().all(|a| server.ran(a) >= copy.cases.len()) && server.cases_in_progress() == 0
        });
        if settled {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let interrupted = stop.load(Ordering::SeqCst);
    let several = plan.copies.len() > 1;
    let status_of = |n: usize| -> Option<String> {
        let status = statuses.get(n).cloned().flatten()?;
        Some(match several {
            true => format!(
                "copy {} of {} ({}): {status}",
                n + 1,
                plan.copies.len(),
                plan.copies[n].agent
            ),
            false => status,
        })
    };
    // The agents to report, merged: the run's own first, then any other
    // name a copy saw, at most MAX_OTHER_AGENTS of those (each is reported
    // with every case, so made-up names must not multiply the reports).
    let mut names = agents.clone();
    let mut others_dropped = 0usize;
    for (n, server) in servers.iter().enumerate() {
        for local in server.agents() {
            let merged = plan.merged_name(n, &local);
            if names.contains(&merged) {
                continue;
            }
            if names.len() - agents.len() < MAX_OTHER_AGENTS {
                names.push(merged);
            } else {
                others_dropped += 1;
            }
        }
    }
    // A spawned client whose command has no `{agent}` names itself (as
    // Autobahn's own drivers do: tungstenite's reports as "Tungstenite").
    // Without --agent its name is not known before the run: when the
    // default name ran nothing and the client reported under other names,
    // those are the run's agents. A client that ran nothing at all keeps the
    // default name, so its cases are reported FAILED with the reason.
    let names_itself = run.agents.is_empty()
        && matches!(&run.client, ClientUnderTest::Spawn(cmd) if !cmd.contains("{agent}"));
    if names_itself && names.len() > 1 && servers.iter().all(|s| s.ran(default_agent) == 0) {
        names.remove(0);
    }
    let runs: Vec<RunResults> = names
        .into_iter()
        .map(|agent| {
            let mut complete = !interrupted;
            let mut results = Vec::with_capacity(cases.len());
            for (n, (copy, server)) in plan.copies.iter().zip(&servers).enumerate() {
                let why_missing = status_of(n).map_or("the client never ran this case".to_string(), |s| {
                    format!("the client never ran this case ({s})")
                });
                // The name this copy used for `agent`'s cases: the one under
                // which it ran the most (a driver may ignore `{agent}`).
                let local = plan
                    .local_names(n, &agent)
                    .into_iter()
                    .max_by_key(|l| server.ran(l))
                    .unwrap_or_else(|| agent.clone());
                complete &= server.ran(&local) == copy.cases.len();
                results.extend(server.results(&local, &why_missing));
            }
            results.sort_by_key(|r| plan.position(&r.case.id));
            browser::notes::annotate(&mut results);
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
    let mut lines: Vec<String> = (0..plan.copies.len()).filter_map(status_of).collect();
    if others_dropped > 0 {
        lines.push(format!(
            "{others_dropped} more agent name(s) besides --agent ran cases; their results are not reported"
        ));
    }
    let passed = !runs.is_empty() && runs.iter().all(|r| r.passed);
    Ok(ClientResults {
        url,
        runs,
        client_status: (!lines.is_empty()).then(|| lines.join("\n")),
        passed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A spec's 1 ms opening-handshake timeout once bounded the probe too,
    /// so a loaded machine's slow loopback connect ended the run with
    /// "cannot reach" (exit 2) instead of running the cases (CI, stop 24);
    /// `--timeout-scale 0.01` made it 50 ms.
    #[test]
    fn the_probe_waits_at_least_the_default_whatever_the_spec_says() {
        let with = |timer: SpecTimer, scale: f64| {
            Common {
                open_handshake_timeout: timer,
                timeout_scale: scale,
                ..Common::default()
            }
            .probe_limit()
        };
        let ms = Duration::from_millis;
        assert_eq!(with(Some(Some(ms(1))), 1.0), PROBE_TIMEOUT);
        assert_eq!(with(Some(Some(ms(1))), 3.0), PROBE_TIMEOUT * 3);
        assert_eq!(with(None, 1.0), PROBE_TIMEOUT);
        // `--timeout-scale 0.01` (50 ms) likewise.
        assert_eq!(with(None, 0.01), PROBE_TIMEOUT);
        // A longer timeout, or none (its generous bound), still applies.
        assert_eq!(with(Some(Some(ms(20_000))), 1.0), ms(20_000));
        assert_eq!(with(Some(None), 0.5), ms(60_000));
    }
}
