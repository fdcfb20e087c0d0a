//! The `wsconform` command line. Exit codes: 0 every gating case passed (or
//! nothing changed against the baseline), 1 a conformance failure, a
//! regression or an interrupted run, 2 a usage or harness error.

use std::collections::BTreeSet;
use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use wsconform::baseline::{self, Baseline};
use wsconform::gate::Gate;
use wsconform::reference::{Knob, Knobs, ReferenceServer};
use wsconform::report::{self, summary};
use wsconform::runner::CaseResult;
use wsconform::session::{
    check_outdir, run_clients, run_servers, write_reports, ClientRun, ClientUnderTest, Common, RunResults,
    ServerRun,
};
use wsconform::spec::Spec;
use wsconform::transport::{Connector, ServerTls, Trust};
use wsconform_cases::{catalog, select, Selection, Shard};

mod report_cmd;

#[derive(Parser)]
#[command(
    name = "wsconform",
    version,
    about = "WebSocket conformance test harness (RFC 6455), Autobahn-compatible"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Test a WebSocket server. Without a URL, tests the built-in reference server.
    Server(ServerArgs),
    /// Test a WebSocket client: listen and speak Autobahn's fuzzingserver
    /// protocol. Without --listen or --spawn, tests the built-in reference client.
    Client(ClientArgs),
    /// Run one case verbosely, printing the wire log as it happens: against
    /// a server URL, or (with --listen) serving it to one client.
    Replay(ReplayArgs),
    /// Run the built-in reference echo server (tokio-tungstenite).
    ReferenceServer {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:9001")]
        listen: SocketAddr,
        /// Misbehave on purpose (repeatable).
        #[arg(long = "knob", value_enum)]
        knobs: Vec<Knob>,
        #[command(flatten)]
        identity: IdentityArgs,
    },
    /// Run the built-in reference client's driver loop against a fuzzing
    /// server (wsconform's or Autobahn's).
    ReferenceClient {
        /// Base URL of the fuzzing server, e.g. ws://127.0.0.1:9001
        url: String,
        #[arg(long, default_value = "wsconform-reference-client")]
        agent: String,
        /// Misbehave on purpose (repeatable).
        #[arg(long = "knob", value_enum)]
        knobs: Vec<Knob>,
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// List the cases.
    List {
        /// Case patterns (Autobahn syntax: `6.4.*`, `1*`, exact ids).
        #[arg(long, value_delimiter = ',')]
        cases: Vec<String>,
        /// Print the cases as JSON (the full case data).
        #[arg(long)]
        json: bool,
    },
    /// Show one case as JSON: what it sends and what it expects.
    Show { id: String },
    /// Work with saved reports: merge shards, compare runs, re-render.
    #[command(subcommand)]
    Report(report_cmd::ReportCommand),
}

/// Options every run takes.
#[derive(clap::Args)]
struct RunArgs {
    /// Cases to run (comma-separated patterns, Autobahn syntax; default all).
    #[arg(long, value_delimiter = ',')]
    cases: Vec<String>,
    /// Cases to leave out.
    #[arg(long, value_delimiter = ',')]
    exclude: Vec<String>,
    /// Where reports go (default reports/servers or reports/clients, or the
    /// spec's outdir).
    #[arg(long)]
    outdir: Option<PathBuf>,
    /// Multiply every timeout (slow peers, debuggers).
    #[arg(long, default_value_t = 1.0)]
    timeout_scale: f64,
    /// NON-STRICT verdicts fail the gate too.
    #[arg(long)]
    strict: bool,
    /// UNIMPLEMENTED verdicts (a feature such as permessage-deflate was not
    /// negotiated) fail the gate too.
    #[arg(long)]
    require_features: bool,
    /// Run only shard I of N (e.g. 2/4) of the selected cases; merge the
    /// shards' reports with `wsconform report merge`.
    #[arg(long)]
    shard: Option<Shard>,
    /// Expected-results baseline: fail only on changes against it (accepts
    /// wsconform baselines and Autobahn index.json / expected-results.json).
    #[arg(long)]
    expect: Option<PathBuf>,
    /// Rewrite the --expect file from this run instead of comparing.
    #[arg(long, requires = "expect")]
    update_expect: bool,
    /// Also write JUnit XML here.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Also write a Markdown summary here (e.g. $GITHUB_STEP_SUMMARY).
    #[arg(long)]
    summary: Option<PathBuf>,
    /// Read an Autobahn spec file (fuzzingclient.json / fuzzingserver.json).
    #[arg(long)]
    spec: Option<PathBuf>,
    /// Print only the summary.
    #[arg(long)]
    quiet: bool,
}

/// The harness's TLS identity when it is the server (wss://).
#[derive(clap::Args)]
struct IdentityArgs {
    /// Serve wss:// (TLS): with --cert and --key, or else a fresh
    /// self-signed certificate for localhost, 127.0.0.1 and ::1.
    #[arg(long)]
    tls: bool,
    /// Certificate chain (PEM) to present with --tls.
    #[arg(long, requires = "tls", requires = "key")]
    cert: Option<PathBuf>,
    /// Private key (PEM: PKCS#8, PKCS#1 or SEC1) for --cert.
    #[arg(long, requires = "tls", requires = "cert")]
    key: Option<PathBuf>,
}

impl IdentityArgs {
    fn identity(&self) -> anyhow::Result<Option<ServerTls>> {
        if !self.tls {
            return Ok(None);
        }
        Ok(Some(ServerTls::from_args(
            self.cert.as_deref(),
            self.key.as_deref(),
        )?))
    }
}

/// Which certificates wss:// servers may present.
#[derive(clap::Args)]
struct TrustArgs {
    /// wss:// servers: also trust the certificates in this PEM file
    /// (repeatable; Mozilla's roots are always trusted).
    #[arg(long)]
    ca: Vec<PathBuf>,
    /// wss:// servers: accept any certificate (the chain and name are not
    /// checked; for self-signed test servers).
    #[arg(long, conflicts_with = "ca")]
    insecure: bool,
}

impl TrustArgs {
    fn trust(&self) -> Trust {
        Trust::from_args(&self.ca, self.insecure)
    }
}

#[derive(clap::Args)]
struct ServerArgs {
    /// ws:// or wss:// URL of the server under test.
    url: Option<String>,
    /// Name of the implementation in reports (default: its Server header).
    #[arg(long)]
    agent: Option<String>,
    /// Cases run at once.
    #[arg(long, default_value_t = 8)]
    jobs: usize,
    /// With no URL: make the reference server misbehave (repeatable).
    #[arg(long = "knob", value_enum)]
    knobs: Vec<Knob>,
    #[command(flatten)]
    trust: TrustArgs,
    /// With no URL: the reference server's TLS (--tls tests it over wss://).
    #[command(flatten)]
    identity: IdentityArgs,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(clap::Args)]
struct ClientArgs {
    /// Address to listen on for external clients (Autobahn's fuzzingserver set-up).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Start the client under test: a shell command in which {url} and
    /// {agent} are replaced, e.g. 'node driver.js {url} {agent}' (and, with
    /// --tls, {ca}: the PEM file of the certificate to trust).
    #[arg(long)]
    spawn: Option<String>,
    /// Agent name(s) to wait for (/updateReports); the first names the
    /// spawned or reference client.
    #[arg(long = "agent")]
    agents: Vec<String>,
    /// Serve until /stopServer or Ctrl-C instead of stopping after the
    /// agents' /updateReports.
    #[arg(long)]
    until_stopped: bool,
    /// With the reference client: make it misbehave (repeatable).
    #[arg(long = "knob", value_enum)]
    knobs: Vec<Knob>,
    #[command(flatten)]
    identity: IdentityArgs,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(clap::Args)]
struct ReplayArgs {
    /// The case id, e.g. 6.4.1.
    id: String,
    /// ws:// URL of a server to run it against (default: the reference server).
    url: Option<String>,
    /// Serve the case to one client connecting here instead
    /// (ws://ADDR/runCase?case=1&agent=A).
    #[arg(long, conflicts_with = "url")]
    listen: Option<SocketAddr>,
    /// Multiply every timeout.
    #[arg(long, default_value_t = 1.0)]
    timeout_scale: f64,
    #[command(flatten)]
    trust: TrustArgs,
    #[command(flatten)]
    identity: IdentityArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("wsconform: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("wsconform: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Server(args) => server(args).await,
        Command::Client(args) => client(args).await,
        Command::Replay(args) => {
            let tls = (args.trust.trust(), args.identity.identity()?);
            report_cmd::replay(args.id, args.url, args.listen, args.timeout_scale, tls).await
        }
        Command::ReferenceServer {
            listen,
            knobs,
            identity,
        } => {
            let tls = identity.identity()?;
            let server = ReferenceServer::start(listen, Knobs::new(knobs), tls.clone())
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            println!("reference server listening on {}", server.url());
            if let Some(tls) = tls.filter(|t| t.self_signed) {
                print!("its self-signed certificate:\n{}", tls.cert_pem);
            }
            tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
            Ok(ExitCode::SUCCESS)
        }
        Command::ReferenceClient {
            url,
            agent,
            knobs,
            trust,
        } => {
            let connector = Connector::new(&trust.trust())?;
            let n = wsconform::reference::client::run_driver(&url, &agent, &Knobs::new(knobs), &connector)
                .await?;
            println!("ran {n} case(s) as {agent}");
            Ok(ExitCode::SUCCESS)
        }
        Command::List { cases, json } => {
            let selected = select(
                &catalog(),
                &Selection {
                    include: cases,
                    exclude: Vec::new(),
                },
            )?;
            let text = if json {
                serde_json::to_string_pretty(&selected)? + "\n"
            } else {
                selected
                    .iter()
                    .map(|c| format!("{:<8} {:<16} {}\n", c.id, c.rfc.section, one_line(&c.description)))
                    .collect()
            };
            emit(&text)
        }
        Command::Show { id } => {
            let case = catalog()
                .into_iter()
                .find(|c| c.id == id)
                .with_context(|| format!("unknown case id {id:?} (see `wsconform list`)"))?;
            emit(&(serde_json::to_string_pretty(&case)? + "\n"))
        }
        Command::Report(cmd) => report_cmd::run(cmd),
    }
}

/// Writes `text` to standard output; a closed pipe (`wsconform list | head`)
/// ends the program quietly instead of panicking.
fn emit(text: &str) -> anyhow::Result<ExitCode> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        other => {
            other.context("writing to standard output")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Prints `text`, then returns `code` (see [`emit`]).
fn emit_then(text: &str, code: ExitCode) -> anyhow::Result<ExitCode> {
    emit(text)?;
    Ok(code)
}

/// Autobahn's HTML description as one plain line: tags become spaces,
/// runs of white space one space, and long texts are cut.
fn one_line(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    let line = words.join(" ");
    match line.char_indices().nth(100) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

/// Sets the returned flag on the first Ctrl-C (or SIGTERM): no new case
/// starts, running ones get a short grace period, reports are written. A
/// second Ctrl-C exits at once.
fn stop_on_signal() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let stopper = stop.clone();
    tokio::spawn(async move {
        let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) else {
            return;
        };
        for n in 0.. {
            tokio::select! {
                r = tokio::signal::ctrl_c() => if r.is_err() { return },
                _ = term.recv() => {}
            }
            if n > 0 {
                eprintln!("wsconform: interrupted twice; exiting without reports");
                std::process::exit(130);
            }
            eprintln!("\nwsconform: interrupted; finishing running cases, then writing reports");
            stopper.store(true, Ordering::SeqCst);
        }
    });
    stop
}

/// The spec file, if any, with its warnings printed.
fn load_spec(args: &RunArgs) -> anyhow::Result<Option<Spec>> {
    let Some(path) = &args.spec else { return Ok(None) };
    let spec = Spec::load(path)?;
    for w in &spec.warnings {
        eprintln!("wsconform: {}: {w}", path.display());
    }
    Ok(Some(spec))
}

fn common(args: &RunArgs, spec: Option<&Spec>) -> Common {
    let mut selection = Selection {
        include: args.cases.clone(),
        exclude: args.exclude.clone(),
    };
    if let Some(spec) = spec {
        if selection.include.is_empty() {
            // Autobahn's "*" means every case, as our empty list does.
            selection.include = spec.cases.iter().filter(|c| c.as_str() != "*").cloned().collect();
        }
        selection.exclude.extend(spec.exclude_cases.iter().cloned());
    }
    Common {
        selection,
        shard: args.shard,
        timeout_scale: args.timeout_scale,
        open_handshake_timeout: spec.and_then(|s| s.timeouts.open_handshake),
        close_handshake_timeout: spec.and_then(|s| s.timeouts.close_handshake),
        server_drop_timeout: spec.and_then(|s| s.timeouts.server_connection_drop),
        gate: Gate {
            strict: args.strict,
            require_features: args.require_features,
        },
    }
}

fn outdir(args: &RunArgs, spec: Option<&Spec>, default: &str) -> PathBuf {
    args.outdir
        .clone()
        .or_else(|| spec.and_then(|s| s.outdir.clone()))
        .unwrap_or_else(|| PathBuf::from(default))
}

/// Progress: a live bar on a terminal (indicatif), one plain line per case
/// otherwise, nothing with --quiet.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    quiet: bool,
    done: usize,
}

impl Progress {
    fn new(quiet: bool, total: usize) -> Progress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            let style = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {elapsed} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        });
        Progress { bar, quiet, done: 0 }
    }

    fn case(&mut self, r: &CaseResult) {
        self.done += 1;
        let v = &r.verdict;
        let line = format!(
            "{} {} / {} ({} ms)",
            r.case.id,
            v.behavior.as_str(),
            v.behavior_close.as_str(),
            r.outcome.duration_ms
        );
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                bar.set_message(line);
            }
            None if !self.quiet => eprintln!("[{}] {line}", self.done),
            None => {}
        }
    }

    fn end(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

async fn server(args: ServerArgs) -> anyhow::Result<ExitCode> {
    let spec = load_spec(&args.run)?;
    let mut targets: Vec<(Option<String>, Option<String>)> = match (&args.url, &spec) {
        (Some(url), _) => vec![(Some(url.clone()), args.agent.clone())],
        (None, Some(spec)) if !spec.servers.is_empty() => spec
            .servers
            .iter()
            .map(|s| (Some(s.url.clone()), s.agent.clone()))
            .collect(),
        _ => vec![(None, args.agent.clone())],
    };
    if targets.iter().any(|(url, _)| url.is_some()) && !args.knobs.is_empty() {
        anyhow::bail!("--knob applies to the built-in reference server only (no URL)");
    }
    if targets.iter().any(|(url, _)| url.is_some()) && args.identity.tls {
        anyhow::bail!("--tls applies to the built-in reference server only (no URL); a wss:// URL means TLS");
    }
    let reference_tls = args.identity.identity()?;
    let outdir = outdir(&args.run, spec.as_ref(), "reports/servers");
    check_outdir(&outdir)?;
    let stop = stop_on_signal();
    let mut runs = Vec::new();
    for (url, agent) in targets.drain(..) {
        let mut common = common(&args.run, spec.as_ref());
        if let (Some(spec), Some(agent)) = (&spec, &agent) {
            common.selection.exclude.extend(spec.excluded_for(agent));
        }
        let run = ServerRun {
            url,
            knobs: Knobs::new(args.knobs.clone()),
            agent,
            jobs: args.jobs,
            trust: args.trust.trust(),
            reference_tls: reference_tls.clone(),
            common,
        };
        let mut progress = Progress::new(
            args.run.quiet,
            run.common.cases(wsconform_wire::Role::Server)?.len(),
        );
        let result = run_servers(&run, stop.clone(), |r| progress.case(r)).await;
        progress.end();
        runs.push(result?);
        if stop.load(Ordering::SeqCst) {
            break;
        }
    }
    finish(&args.run, &outdir, &runs)
}

async fn client(args: ClientArgs) -> anyhow::Result<ExitCode> {
    let spec = load_spec(&args.run)?;
    let spec_target = spec
        .as_ref()
        .and_then(|s| s.url.as_deref())
        .map(wsconform::transport::Target::parse)
        .transpose()?;
    let spec_listen = spec_target
        .as_ref()
        .map(|t| {
            format!("{}:{}", t.host, t.port)
                .parse::<SocketAddr>()
                .with_context(|| format!("spec url {:?}", t.url))
        })
        .transpose()?;
    let listen = args.listen.or(spec_listen);
    if (args.spawn.is_some() || listen.is_some()) && !args.knobs.is_empty() {
        anyhow::bail!("--knob applies to the built-in reference client only (no --spawn or --listen)");
    }
    let outdir = outdir(&args.run, spec.as_ref(), "reports/clients");
    check_outdir(&outdir)?;
    // A wss:// URL in an Autobahn spec means TLS, as --tls does, with the
    // spec's cert and key files if it names them.
    let tls = match (&spec, spec_target.as_ref().is_some_and(|t| t.secure)) {
        (Some(spec), true) if !args.identity.tls => {
            Some(ServerTls::from_args(spec.cert.as_deref(), spec.key.as_deref())?)
        }
        _ => args.identity.identity()?,
    };
    let ca_file = match &tls {
        Some(tls) => {
            let path = outdir.join("wsconform-cert.pem");
            report::write_atomic(&path, tls.cert_pem.as_bytes())?;
            eprintln!(
                "wsconform: TLS certificate clients must trust: {}",
                path.display()
            );
            Some(path)
        }
        None => None,
    };
    let client = match (&args.spawn, listen) {
        (Some(cmd), _) => {
            let ca = match (&ca_file, cmd.contains("{ca}")) {
                (Some(path), _) => path.display().to_string(),
                (None, true) => anyhow::bail!("{{ca}} in --spawn needs --tls"),
                (None, false) => String::new(),
            };
            ClientUnderTest::Spawn(cmd.replace("{ca}", &ca))
        }
        (None, Some(_)) => ClientUnderTest::External,
        (None, None) => ClientUnderTest::Reference(Knobs::new(args.knobs.clone())),
    };
    let run = ClientRun {
        listen: listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0))),
        client,
        agents: args.agents,
        until_stopped: args.until_stopped,
        tls,
        common: common(&args.run, spec.as_ref()),
    };
    if matches!(run.client, ClientUnderTest::External) {
        eprintln!(
            "wsconform: listening on {}://{} for clients (Autobahn fuzzingserver protocol)",
            wsconform::transport::scheme(run.tls.is_some()),
            run.listen
        );
    }
    let results = run_clients(&run, stop_on_signal()).await?;
    if results.runs.is_empty() {
        println!("no client connected to {}", results.url);
    }
    if let Some(status) = &results.client_status {
        println!("{status}");
    }
    finish(&args.run, &outdir, &results.runs)
}

/// Writes every report, prints the summary, and decides the exit code: by
/// the gate, or by changes against the baseline when one is given.
fn finish(args: &RunArgs, outdir: &Path, runs: &[RunResults]) -> anyhow::Result<ExitCode> {
    let gate = Gate {
        strict: args.strict,
        require_features: args.require_features,
    };
    write_reports(outdir, runs)?;
    let doc = report::read_results(&outdir.join("results.json"))?;
    report::html::write_html(&outdir.join("index.html"), &doc, &gate)?;
    if let Some(path) = &args.junit {
        report::junit::write_junit(path, &doc, &gate)?;
    }
    if let Some(path) = &args.summary {
        report::markdown::write_markdown(path, &doc, &gate)?;
    }
    let mut text = String::new();
    for r in runs {
        text += &summary::render(&r.agent, &r.results, &gate);
        if !r.complete {
            text += "  incomplete: the run was interrupted, or the client did not run every case\n";
        }
    }
    text += &format!("reports: {}\n", outdir.join("index.html").display());
    let complete = !runs.is_empty() && runs.iter().all(|r| r.complete);
    let code = |ok: bool| if ok { ExitCode::SUCCESS } else { ExitCode::from(1) };
    let Some(path) = &args.expect else {
        let passed = complete && runs.iter().all(|r| r.passed);
        return emit_then(&text, code(passed));
    };
    if args.update_expect {
        let previous = path.exists().then(|| Baseline::load(path)).transpose()?;
        let by_agent: Vec<(&str, &[CaseResult])> = runs
            .iter()
            .map(|r| (r.agent.as_str(), r.results.as_slice()))
            .collect();
        let doc = baseline::render(&by_agent, previous.as_ref());
        report::write_atomic(path, &report::to_json("baseline", &doc)?)?;
        text += &format!("baseline written: {}\n", path.display());
        return emit_then(&text, code(complete));
    }
    let expected = Baseline::load(path)?;
    let ids: BTreeSet<String> = catalog().into_iter().map(|c| c.id).collect();
    let mut clean = complete;
    for r in runs {
        let entries = expected.for_agent(&r.agent, &path.display().to_string())?;
        let comparison = baseline::compare(entries, &r.results, &ids);
        if comparison.is_clean() {
            text += &format!("{}: no change against the baseline {}\n", r.agent, path.display());
        } else {
            clean = false;
            for line in comparison.lines() {
                text += &format!("{}: {line}\n", r.agent);
            }
        }
    }
    emit_then(&text, code(clean))
}
