//! The one validated configuration a command runs with, built from what
//! clap parsed before anything starts (ripgrep's "low" and "high" arguments):
//! every number range-checked, every URL, address and agent name checked, the
//! spec and the baseline read and checked, TLS material loaded, the case
//! selection resolved and the output folder probed. Past this point a run can
//! fail because of the peer or the machine, never because of its input.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;

use wsconform::baseline::{Baseline, BaselineError};
use wsconform::browser::BrowserError;
use wsconform::gate::Gate;
use wsconform::reference::Knobs;
use wsconform::report::agent_prefix;
use wsconform::session::{
    check_outdir, AutobahnLayout, ClientRun, ClientUnderTest, Common, Families, ServerRun, SessionError,
};
use wsconform::spec::{Spec, SpecError};
use wsconform::transport::{Connector, ServerTls, Target, TlsError, Trust};
use wsconform_cases::{catalog, Selection, Shard};
use wsconform_wire::Role;

use super::args::{
    Cli, ClientArgs, Command, FuzzArgs, IdentityArgs, ReplayArgs, RunArgs, ServerArgs, TrustArgs,
};
use super::validate::{self, InputError};
use crate::report_cmd::ReportCommand;

/// Why the command line (or a file it names) cannot be run: one line on
/// stderr, exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error(transparent)]
    Session(#[from] SessionError),
    /// Options that do not go together.
    #[error("{0}")]
    Conflict(&'static str),
    #[error("spec {spec}: {key}: {why}")]
    SpecValue {
        spec: String,
        key: String,
        why: InputError,
    },
    #[error(
        "spec {spec}: url {url:?}: the address to listen on must be an IP address (e.g. ws://127.0.0.1:9001)"
    )]
    SpecListen { spec: String, url: String },
    #[error(transparent)]
    Browser(#[from] BrowserError),
    #[error(transparent)]
    CaseFile(#[from] wsconform::fuzz::casefile::CaseFileError),
    #[error("unknown case id {0:?} (see `wsconform list`)")]
    UnknownCase(String),
    #[error("agents {a:?} and {b:?} would write the same report files ({prefix}_case_*.json)")]
    SameReports { a: String, b: String, prefix: String },
}

/// What `wsconform` was asked to do, validated.
#[allow(clippy::large_enum_variant)]
pub enum Mode {
    Server(ServerConfig),
    Client(ClientConfig),
    Replay(ReplayConfig),
    Fuzz(wsconform::fuzz::campaign::FuzzConfig, bool),
    ReferenceServer(ReferenceServerConfig),
    ReferenceClient(ReferenceClientConfig),
    List { cases: Vec<String>, json: bool },
    Show { id: String, results: Option<PathBuf> },
    Report(ReportCommand),
}

/// What the end of a run does: where reports go, how verdicts are judged,
/// and what the exit code is measured against.
#[derive(Debug)]
pub struct Outputs {
    pub outdir: PathBuf,
    /// The pass policy, built once (`RunFlags::check`): the runs judge with a
    /// copy of it (`Common::gate`), the reports and the exit code with this.
    pub gate: Gate,
    pub baseline: Option<BaselineUse>,
    pub junit: Option<PathBuf>,
    pub summary: Option<PathBuf>,
    pub quiet: bool,
    /// Which cases `index.json` lists: Autobahn's only for a run from a spec.
    pub layout: AutobahnLayout,
}

/// `--expect`, read and checked before the run.
#[derive(Debug)]
pub enum BaselineUse {
    /// Exit 1 only on changes against `baseline`.
    Compare { path: PathBuf, baseline: Baseline },
    /// `--update-expect`: rewrite `path`, keeping the reasons of `previous`.
    Update {
        path: PathBuf,
        previous: Option<Baseline>,
    },
}

/// `wsconform server`: one run per target (the URL, the spec's servers, or
/// the reference server).
#[derive(Debug)]
pub struct ServerConfig {
    pub runs: Vec<ServerRun>,
    pub out: Outputs,
    /// Printed before the run: what the spec says that is not acted on.
    pub warnings: Vec<String>,
}

/// `wsconform client`.
#[derive(Debug)]
pub struct ClientConfig {
    pub run: ClientRun,
    pub out: Outputs,
    /// With TLS: where the certificate clients must trust is written.
    pub cert_file: Option<PathBuf>,
    pub warnings: Vec<String>,
}

/// `wsconform replay`.
#[derive(Debug)]
pub struct ReplayConfig {
    pub case: wsconform_cases::Case,
    pub url: Option<String>,
    pub listen: Option<SocketAddr>,
    pub timeout_scale: f64,
    pub trust: Trust,
    pub identity: Option<ServerTls>,
}

/// `wsconform reference-server`.
#[derive(Debug)]
pub struct ReferenceServerConfig {
    pub listen: SocketAddr,
    pub knobs: Knobs,
    pub tls: Option<ServerTls>,
}

/// `wsconform reference-client`.
#[derive(Debug)]
pub struct ReferenceClientConfig {
    pub url: String,
    pub agent: String,
    pub knobs: Knobs,
    pub connector: Connector,
}

impl Mode {
    /// Validates everything `cli` says, reading the files it names.
    pub fn from_cli(cli: Cli) -> Result<Mode, ConfigError> {
        Ok(match cli.command {
            Command::Server(args) => Mode::Server(server(args)?),
            Command::Client(args) => Mode::Client(client(args)?),
            Command::Replay(args) => Mode::Replay(replay(args)?),
            Command::Fuzz(args) => {
                let quiet = args.quiet;
                Mode::Fuzz(fuzz(args)?, quiet)
            }
            Command::ReferenceServer {
                listen,
                knobs,
                identity,
            } => Mode::ReferenceServer(ReferenceServerConfig {
                listen: validate::listen("--listen", &listen)?,
                knobs: Knobs::new(knobs),
                tls: server_identity(&identity)?,
            }),
            Command::ReferenceClient {
                url,
                agent,
                knobs,
                trust,
            } => Mode::ReferenceClient(ReferenceClientConfig {
                url: validate::connect_url_arg("URL", &url)?,
                agent: validate::agent_arg("--agent", &agent)?,
                knobs: Knobs::new(knobs),
                connector: Connector::new(&client_trust(&trust))?,
            }),
            Command::List { cases, json } => Mode::List { cases, json },
            Command::Show { id, results } => Mode::Show {
                id,
                results: results.map(|p| if p.is_dir() { p.join("results.json") } else { p }),
            },
            Command::Report(cmd) => Mode::Report(cmd),
        })
    }
}

fn server_identity(args: &IdentityArgs) -> Result<Option<ServerTls>, TlsError> {
    if !args.tls {
        return Ok(None);
    }
    ServerTls::from_args(args.cert.as_deref(), args.key.as_deref()).map(Some)
}

fn client_trust(args: &TrustArgs) -> Trust {
    Trust::from_args(&args.ca, args.insecure)
}

/// The spec file, if any, with its warnings (prefixed with its path).
fn load_spec(args: &RunArgs, warnings: &mut Vec<String>) -> Result<Option<Spec>, SpecError> {
    let Some(path) = &args.spec else { return Ok(None) };
    let spec = Spec::load(path)?;
    warnings.extend(spec.warnings.iter().map(|w| format!("{}: {w}", path.display())));
    Ok(Some(spec))
}

fn spec_name(args: &RunArgs) -> String {
    args.spec
        .as_deref()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

/// The flags every run shares, checked.
#[derive(Debug, Clone, Copy)]
struct RunFlags {
    timeout_scale: f64,
    shard: Option<Shard>,
    gate: Gate,
}

impl RunFlags {
    fn check(args: &RunArgs) -> Result<RunFlags, InputError> {
        Ok(RunFlags {
            timeout_scale: validate::timeout_scale(&args.timeout_scale)?,
            shard: args.shard.as_deref().map(validate::shard).transpose()?,
            gate: Gate {
                strict: args.strict,
                require_features: args.require_features,
            },
        })
    }
}

/// What every run shares, from the flags, the spec and the checked values.
fn common(args: &RunArgs, spec: Option<&Spec>, flags: RunFlags) -> Common {
    let mut selection = Selection {
        include: args.cases.clone(),
        exclude: args.exclude.clone(),
    };
    if let Some(spec) = spec {
        if selection.include.is_empty() {
            // Autobahn's "*" means every case, as our empty list does.
            selection.include = spec.cases.iter().filter(|c| c.as_str() != "*").cloned().collect();
            // The spec's patterns select among Autobahn's cases; wsconform's
            // own families run besides them (--autobahn-only leaves them out).
            if !selection.include.is_empty() {
                selection.include.extend(own_families());
            }
        }
        selection.exclude.extend(spec.exclude_cases.iter().cloned());
    }
    let timers = spec.map(|s| s.timeouts.clone()).unwrap_or_default();
    Common {
        selection,
        shard: flags.shard,
        timeout_scale: flags.timeout_scale,
        // Each is `None` (not in the spec: the default), `Some(None)` (0:
        // disabled, as Autobahn's protocol.py arms a timer only when it is
        // > 0; the case's hard deadline still bounds it) or `Some(Some(d))`.
        open_handshake_timeout: timers.open_handshake,
        close_handshake_timeout: timers.close_handshake,
        server_drop_timeout: timers.server_connection_drop,
        gate: flags.gate,
        families: match args.autobahn_only {
            true => Families::AutobahnOnly,
            false => Families::All,
        },
        extra_cases: Vec::new(),
    }
}

/// A pattern for each of wsconform's own case families (`hs.*`, `mask.*`,
/// …): every category of the catalog that Autobahn does not have.
fn own_families() -> Vec<String> {
    let mut patterns: Vec<String> = Vec::new();
    for case in catalog().iter().filter(|c| !c.is_autobahn()) {
        let pattern = format!("{}.*", case.category());
        if !patterns.contains(&pattern) {
            patterns.push(pattern);
        }
    }
    patterns
}

/// Where the reports go and how the end is judged; `--expect` is read and
/// checked here, before the first connection.
fn outputs(
    args: &RunArgs,
    spec: Option<&Spec>,
    default_outdir: &str,
    flags: RunFlags,
) -> Result<Outputs, ConfigError> {
    let outdir = args
        .outdir
        .clone()
        .or_else(|| spec.and_then(|s| s.outdir.clone()))
        .unwrap_or_else(|| PathBuf::from(default_outdir));
    let baseline = match (&args.expect, args.update_expect) {
        (None, _) => None,
        (Some(path), false) => Some(BaselineUse::Compare {
            path: path.clone(),
            baseline: Baseline::load(path)?,
        }),
        (Some(path), true) => {
            validate::output_file("--expect", path)?;
            let previous = path.exists().then(|| Baseline::load(path)).transpose()?;
            Some(BaselineUse::Update {
                path: path.clone(),
                previous,
            })
        }
    };
    if let Some(path) = &args.junit {
        validate::output_file("--junit", path)?;
    }
    if let Some(path) = &args.summary {
        validate::output_file("--summary", path)?;
    }
    Ok(Outputs {
        outdir,
        gate: flags.gate,
        baseline,
        junit: args.junit.clone(),
        summary: args.summary.clone(),
        quiet: args.quiet,
        layout: match spec {
            Some(_) => AutobahnLayout::AutobahnCases,
            None => AutobahnLayout::AllCases,
        },
    })
}

impl Outputs {
    /// A comparison with a baseline that has no entries for `agent` would
    /// fail only after the whole run: when the agent is known now, check now.
    fn check_agent(&self, agent: &str) -> Result<(), BaselineError> {
        if let Some(BaselineUse::Compare { path, baseline }) = &self.baseline {
            baseline.for_agent(agent, &path.display().to_string())?;
        }
        Ok(())
    }

    /// Creates the report folder and checks it takes files: the last check,
    /// so that no other mistake leaves a folder behind.
    fn probe(&self) -> Result<(), SessionError> {
        check_outdir(&self.outdir)
    }
}

/// Agent names whose report files would collide (`a b` and `a-b` both
/// write `a_b_case_*.json`) cannot both be reported.
fn distinct_reports<'a>(agents: impl IntoIterator<Item = &'a str>) -> Result<(), ConfigError> {
    let mut seen: Vec<(&str, String)> = Vec::new();
    for a in agents {
        let prefix = agent_prefix(a);
        if let Some((b, _)) = seen.iter().find(|(_, p)| *p == prefix) {
            return Err(ConfigError::SameReports {
                a: b.to_string(),
                b: a.to_string(),
                prefix,
            });
        }
        seen.push((a, prefix));
    }
    Ok(())
}

fn server(args: ServerArgs) -> Result<ServerConfig, ConfigError> {
    let flags = RunFlags::check(&args.run)?;
    let jobs = validate::jobs(&args.jobs)?;
    let agent = args
        .agent
        .as_deref()
        .map(|a| validate::agent_arg("--agent", a))
        .transpose()?;
    let url = args
        .url
        .as_deref()
        .map(|u| validate::connect_url_arg("URL", u))
        .transpose()?;
    let mut warnings = Vec::new();
    let spec = load_spec(&args.run, &mut warnings)?;
    let spec_value = |key: String, why| ConfigError::SpecValue {
        spec: spec_name(&args.run),
        key,
        why,
    };
    let targets: Vec<(Option<String>, Option<String>)> = match (url, &spec) {
        (Some(url), _) => vec![(Some(url), agent)],
        (None, Some(spec)) if !spec.servers.is_empty() => {
            let mut targets = Vec::new();
            for (n, s) in spec.servers.iter().enumerate() {
                let key = |k: &str| format!("servers[{n}].{k}");
                validate::connect_url(&s.url).map_err(|why| spec_value(key("url"), why))?;
                let agent = match (&agent, &s.agent) {
                    (Some(a), _) => Some(a.clone()),
                    (None, Some(a)) => {
                        Some(validate::agent("agent", a).map_err(|why| spec_value(key("agent"), why))?)
                    }
                    (None, None) => None,
                };
                targets.push((Some(s.url.clone()), agent));
            }
            targets
        }
        (None, _) => vec![(None, agent)],
    };
    let external = targets.iter().any(|(url, _)| url.is_some());
    if external && !args.knobs.is_empty() {
        return Err(ConfigError::Conflict(
            "--knob applies to the built-in reference server only (no URL)",
        ));
    }
    if external && args.identity.tls {
        return Err(ConfigError::Conflict(
            "--tls applies to the built-in reference server only (no URL); a wss:// URL means TLS",
        ));
    }
    distinct_reports(targets.iter().filter_map(|(_, a)| a.as_deref()))?;
    let out = outputs(&args.run, spec.as_ref(), "reports/servers", flags)?;
    let trust = client_trust(&args.trust);
    // Reads the --ca files now: an unreadable one is an input error.
    Connector::new(&trust)?;
    let reference_tls = server_identity(&args.identity)?;
    let extra_cases = wsconform::fuzz::casefile::load_all(&args.case_file)?;
    let mut runs = Vec::new();
    for (url, agent) in targets {
        let mut common = common(&args.run, spec.as_ref(), flags);
        common.extra_cases = extra_cases.clone();
        if let (Some(spec), Some(agent)) = (&spec, &agent) {
            common.selection.exclude.extend(spec.excluded_for(agent));
        }
        common.cases(Role::Server)?;
        let known_agent = match (&agent, &url) {
            (Some(a), _) => Some(a.as_str()),
            (None, None) => Some("wsconform-reference"),
            (None, Some(_)) => None,
        };
        if let Some(a) = known_agent {
            out.check_agent(a)?;
        }
        runs.push(ServerRun {
            url,
            knobs: Knobs::new(args.knobs.clone()),
            agent,
            jobs,
            trust: trust.clone(),
            reference_tls: reference_tls.clone(),
            common,
        });
    }
    out.probe()?;
    Ok(ServerConfig { runs, out, warnings })
}

/// The address a fuzzingserver spec's `url` asks to listen on, and whether
/// it is `wss://`. Port 0 is allowed: any free port.
fn spec_listen(spec: &Spec, name: &str) -> Result<Option<(SocketAddr, bool)>, ConfigError> {
    let Some(url) = &spec.url else { return Ok(None) };
    let target = Target::parse(url).map_err(|why| ConfigError::SpecValue {
        spec: name.to_string(),
        key: "url".into(),
        why: InputError::Url(why),
    })?;
    let ip = target
        .host
        .parse::<std::net::IpAddr>()
        .map_err(|_| ConfigError::SpecListen {
            spec: name.to_string(),
            url: url.clone(),
        })?;
    Ok(Some((SocketAddr::new(ip, target.port), target.secure)))
}

fn client(args: ClientArgs) -> Result<ClientConfig, ConfigError> {
    let flags = RunFlags::check(&args.run)?;
    let jobs = validate::jobs(&args.jobs)?;
    let mut agents = args
        .agents
        .iter()
        .map(|a| validate::agent_arg("--agent", a))
        .collect::<Result<Vec<_>, _>>()?;
    distinct_reports(agents.iter().map(String::as_str))?;
    let listen_flag = args
        .listen
        .as_deref()
        .map(|l| validate::listen("--listen", l))
        .transpose()?;
    let mut warnings = Vec::new();
    let spec = load_spec(&args.run, &mut warnings)?;
    let from_spec = match &spec {
        Some(spec) => spec_listen(spec, &spec_name(&args.run))?,
        None => None,
    };
    let listen = listen_flag.or(from_spec.map(|(addr, _)| addr));
    if (args.spawn.is_some() || listen.is_some() || args.browser.is_some()) && !args.knobs.is_empty() {
        return Err(ConfigError::Conflict(
            "--knob applies to the built-in reference client only (no --spawn, --listen or --browser)",
        ));
    }
    let out = outputs(&args.run, spec.as_ref(), "reports/clients", flags)?;
    // A wss:// URL in an Autobahn spec means TLS, as --tls does, with the
    // spec's cert and key files if it names them.
    let tls = match (&spec, from_spec.is_some_and(|(_, secure)| secure)) {
        (Some(spec), true) if !args.identity.tls => {
            Some(ServerTls::from_args(spec.cert.as_deref(), spec.key.as_deref())?)
        }
        _ => server_identity(&args.identity)?,
    };
    let cert_file = tls.as_ref().map(|_| out.outdir.join("wsconform-cert.pem"));
    let browser = args.browser.map(|b| b.locate()).transpose()?;
    if let Some(browser) = &browser {
        if agents.is_empty() {
            agents.push(validate::agent("the browser's name", &browser.agent())?);
        }
    }
    let client = match (browser, &args.spawn, listen) {
        (Some(browser), _, _) => ClientUnderTest::Browser(browser),
        (None, Some(cmd), _) => {
            let ca = match (&cert_file, cmd.contains("{ca}")) {
                (Some(path), _) => path.display().to_string(),
                (None, true) => return Err(ConfigError::Conflict("{ca} in --spawn needs --tls")),
                (None, false) => String::new(),
            };
            ClientUnderTest::Spawn(cmd.replace("{ca}", &ca))
        }
        (None, None, Some(_)) => ClientUnderTest::External,
        (None, None, None) => ClientUnderTest::Reference(Knobs::new(args.knobs.clone())),
    };
    if jobs > 1 && matches!(client, ClientUnderTest::External) {
        return Err(SessionError::CopiesOfExternal.into());
    }
    let mut common = common(&args.run, spec.as_ref(), flags);
    common.extra_cases = wsconform::fuzz::casefile::load_all(&args.case_file)?;
    common.cases(Role::Client)?;
    for a in &agents {
        out.check_agent(a)?;
    }
    out.probe()?;
    Ok(ClientConfig {
        run: ClientRun {
            listen: listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0))),
            client,
            agents,
            until_stopped: args.until_stopped,
            tls,
            report: Some(report_page(&out.outdir)),
            jobs,
            common,
        },
        out,
        cert_file,
        warnings,
    })
}

/// The HTML report's path as the browser page links it: absolute, since the
/// page cannot know wsconform's working folder.
fn report_page(outdir: &std::path::Path) -> PathBuf {
    let page = outdir.join("index.html");
    std::path::absolute(&page).unwrap_or(page)
}

fn replay(args: ReplayArgs) -> Result<ReplayConfig, ConfigError> {
    let ReplayArgs {
        mut id,
        mut url,
        listen,
        case_file,
        timeout_scale,
        trust,
        identity,
    } = args;
    let case = match &case_file {
        None => {
            let id = id.ok_or(ConfigError::Conflict("replay needs a case id or --case-file"))?;
            wsconform_cases::catalog()
                .into_iter()
                .find(|c| c.id == id)
                .ok_or(ConfigError::UnknownCase(id))?
        }
        Some(path) => {
            // With a file, a lone positional that is a URL is the URL.
            if url.is_none()
                && id
                    .as_deref()
                    .is_some_and(|i| i.starts_with("ws://") || i.starts_with("wss://"))
            {
                url = id.take().map(OsString::from);
            }
            let mut cases = wsconform::fuzz::casefile::load(path)?;
            match id {
                Some(id) => cases
                    .into_iter()
                    .find(|c| c.id == id)
                    .ok_or(ConfigError::UnknownCase(id))?,
                None if cases.len() == 1 => cases.remove(0),
                None => return Err(ConfigError::Conflict(
                    "the case file holds several cases: name one (wsconform replay --case-file F ID [URL])",
                )),
            }
        }
    };
    Ok(ReplayConfig {
        case,
        url: url
            .as_deref()
            .map(|u| validate::connect_url_arg("URL", u))
            .transpose()?,
        listen: listen
            .as_deref()
            .map(|l| validate::listen("--listen", l))
            .transpose()?,
        timeout_scale: validate::timeout_scale(&timeout_scale)?,
        trust: client_trust(&trust),
        identity: server_identity(&identity)?,
    })
}

/// `wsconform fuzz`: the target, the seed and the budget, checked.
fn fuzz(args: FuzzArgs) -> Result<wsconform::fuzz::campaign::FuzzConfig, ConfigError> {
    use wsconform::fuzz::campaign::{FuzzConfig, FuzzTarget};
    let url = args
        .url
        .as_deref()
        .map(|u| validate::connect_url_arg("URL", u))
        .transpose()?;
    let listen = args
        .listen
        .as_deref()
        .map(|l| validate::listen("--listen", l))
        .transpose()?;
    let fuzzes_client = args.client || listen.is_some() || args.spawn.is_some();
    if (url.is_some() || listen.is_some() || args.spawn.is_some()) && !args.knobs.is_empty() {
        return Err(ConfigError::Conflict(
            "--knob applies to the built-in reference server or, with --client, the reference client",
        ));
    }
    let target = match (url, listen, &args.spawn) {
        (Some(url), _, _) => {
            let trust = client_trust(&args.trust);
            Connector::new(&trust)?;
            FuzzTarget::Url { url, trust }
        }
        (None, Some(listen), None) if listen.port() == 0 => {
            return Err(ConfigError::Conflict(
                "fuzzing an external client (--listen without --spawn) needs a fixed port: the client reconnects for every batch",
            ))
        }
        (None, listen, spawn) if fuzzes_client => FuzzTarget::Client {
            listen: listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0))),
            under_test: match spawn {
                Some(command) => ClientUnderTest::Spawn(command.clone()),
                None if args.client => ClientUnderTest::Reference(Knobs::new(args.knobs.clone())),
                None => ClientUnderTest::External,
            },
        },
        (None, _, _) => FuzzTarget::Reference(Knobs::new(args.knobs.clone())),
    };
    let external = matches!(
        target,
        FuzzTarget::Client {
            under_test: ClientUnderTest::External,
            ..
        }
    );
    // A fixed port is one listener: one client at a time.
    let fixed_port = matches!(&target, FuzzTarget::Client { listen, .. } if listen.port() != 0);
    let jobs = match &args.jobs {
        Some(raw) => validate::jobs(raw)?,
        None if fixed_port => 1,
        None => 4,
    };
    if external && jobs > 1 {
        return Err(ConfigError::Conflict(
            "--jobs starts copies of a --spawn'ed or the reference client; an external client is one client on one port",
        ));
    }
    if fixed_port && jobs > 1 {
        return Err(ConfigError::Conflict(
            "--jobs above 1 runs copies of the client, each on a port of its own: give --listen ADDR:0 or leave --listen out",
        ));
    }
    let config = FuzzConfig {
        target,
        seed: match &args.seed {
            Some(raw) => validate::whole("--seed", raw, 0)?,
            None => rand::random(),
        },
        iterations: args
            .iterations
            .as_deref()
            .map(|raw| validate::whole("--iterations", raw, 1))
            .transpose()?,
        duration: args
            .duration
            .as_deref()
            .map(|raw| validate::duration("--duration", raw))
            .transpose()?,
        jobs,
        outdir: args.outdir.clone(),
        minimize: !args.no_minimize,
        timeout_scale: validate::timeout_scale(&args.timeout_scale)?,
        stop_after_classes: None,
    };
    check_outdir(&args.outdir)?;
    Ok(config)
}
