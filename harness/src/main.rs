//! The `wsconform` command line. Exit codes: 0 every gating case passed,
//! 1 a conformance failure, 2 a usage or harness error.

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use wsconform::gate::Gate;
use wsconform::reference::{Knob, Knobs, ReferenceServer};
use wsconform::report::summary;
use wsconform::runner::CaseResult;
use wsconform::session::{run_clients, run_servers, ClientRun, ClientUnderTest, ServerRun};
use wsconform_cases::{catalog, select, Selection};

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
    },
    /// Run the built-in reference echo server (tokio-tungstenite).
    ReferenceServer {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:9001")]
        listen: SocketAddr,
        /// Misbehave on purpose (repeatable).
        #[arg(long = "knob", value_enum)]
        knobs: Vec<Knob>,
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
}

#[derive(clap::Args)]
struct ServerArgs {
    /// ws:// URL of the server under test.
    url: Option<String>,
    /// Cases to run (comma-separated patterns, Autobahn syntax; default all).
    #[arg(long, value_delimiter = ',')]
    cases: Vec<String>,
    /// Cases to leave out.
    #[arg(long, value_delimiter = ',')]
    exclude: Vec<String>,
    /// Name of the implementation in reports (default: its Server header).
    #[arg(long)]
    agent: Option<String>,
    /// Where reports go.
    #[arg(long, default_value = "reports/servers")]
    outdir: PathBuf,
    /// Cases run at once.
    #[arg(long, default_value_t = 8)]
    jobs: usize,
    /// Multiply every timeout (slow peers, debuggers).
    #[arg(long, default_value_t = 1.0)]
    timeout_scale: f64,
    /// NON-STRICT verdicts fail the gate too.
    #[arg(long)]
    strict: bool,
    /// With no URL: make the reference server misbehave (repeatable).
    #[arg(long = "knob", value_enum)]
    knobs: Vec<Knob>,
    /// Print only the summary.
    #[arg(long)]
    quiet: bool,
}

#[derive(clap::Args)]
struct ClientArgs {
    /// Address to listen on for external clients (Autobahn's fuzzingserver set-up).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Start the client under test: a shell command in which {url} and
    /// {agent} are replaced, e.g. 'node driver.js {url} {agent}'.
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
    /// Cases to run (comma-separated patterns, Autobahn syntax; default all).
    #[arg(long, value_delimiter = ',')]
    cases: Vec<String>,
    /// Cases to leave out.
    #[arg(long, value_delimiter = ',')]
    exclude: Vec<String>,
    /// Where reports go.
    #[arg(long, default_value = "reports/clients")]
    outdir: PathBuf,
    /// Multiply every timeout (slow peers, debuggers).
    #[arg(long, default_value_t = 1.0)]
    timeout_scale: f64,
    /// NON-STRICT verdicts fail the gate too.
    #[arg(long)]
    strict: bool,
    /// With the reference client: make it misbehave (repeatable).
    #[arg(long = "knob", value_enum)]
    knobs: Vec<Knob>,
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
        Command::ReferenceClient { url, agent, knobs } => {
            let n = wsconform::reference::client::run_driver(&url, &agent, &Knobs::new(knobs)).await?;
            println!("ran {n} case(s) as {agent}");
            Ok(ExitCode::SUCCESS)
        }
        Command::ReferenceServer { listen, knobs } => {
            let server = ReferenceServer::start(listen, Knobs::new(knobs))
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            println!("reference server listening on {}", server.url());
            tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
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
            if json {
                println!("{}", serde_json::to_string_pretty(&selected)?);
            } else {
                for c in selected {
                    println!("{:<8} {:<16} {}", c.id, c.rfc.section, one_line(&c.description));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Show { id } => {
            let case = catalog()
                .into_iter()
                .find(|c| c.id == id)
                .with_context(|| format!("unknown case id {id:?} (see `wsconform list`)"))?;
            println!("{}", serde_json::to_string_pretty(&case)?);
            Ok(ExitCode::SUCCESS)
        }
    }
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

/// Sets the returned flag on Ctrl-C.
fn stop_on_ctrl_c() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let stopper = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\nwsconform: interrupted; finishing running cases, then writing reports");
            stopper.store(true, Ordering::SeqCst);
        }
    });
    stop
}

async fn client(args: ClientArgs) -> anyhow::Result<ExitCode> {
    let client = match (&args.spawn, args.listen) {
        (Some(_), _) if !args.knobs.is_empty() => {
            anyhow::bail!("--knob applies to the built-in reference client only (no --spawn or --listen)")
        }
        (None, Some(_)) if !args.knobs.is_empty() => {
            anyhow::bail!("--knob applies to the built-in reference client only (no --spawn or --listen)")
        }
        (Some(cmd), _) => ClientUnderTest::Spawn(cmd.clone()),
        (None, Some(_)) => ClientUnderTest::External,
        (None, None) => ClientUnderTest::Reference(Knobs::new(args.knobs.clone())),
    };
    let run = ClientRun {
        listen: args
            .listen
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0))),
        client,
        selection: Selection {
            include: args.cases,
            exclude: args.exclude,
        },
        agents: args.agents,
        until_stopped: args.until_stopped,
        outdir: Some(args.outdir.clone()),
        timeout_scale: args.timeout_scale,
        gate: Gate {
            strict: args.strict,
            require_features: false,
        },
    };
    if matches!(run.client, ClientUnderTest::External) {
        eprintln!(
            "wsconform: listening on ws://{} for clients (Autobahn fuzzingserver protocol)",
            run.listen
        );
    }
    let results = run_clients(&run, stop_on_ctrl_c()).await?;
    for r in &results.runs {
        print!("{}", summary::render(&r.agent, &r.results, &run.gate));
        if !r.complete {
            println!("  incomplete: the client did not run every case");
        }
    }
    if results.runs.is_empty() {
        println!("no client connected to {}", results.url);
    }
    if let Some(status) = &results.client_status {
        println!("{status}");
    }
    println!("reports: {}", args.outdir.join("index.json").display());
    Ok(if results.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn server(args: ServerArgs) -> anyhow::Result<ExitCode> {
    if args.url.is_some() && !args.knobs.is_empty() {
        anyhow::bail!("--knob applies to the built-in reference server only (no URL)");
    }
    let run = ServerRun {
        url: args.url,
        knobs: Knobs::new(args.knobs),
        selection: Selection {
            include: args.cases,
            exclude: args.exclude,
        },
        agent: args.agent,
        outdir: Some(args.outdir.clone()),
        jobs: args.jobs,
        timeout_scale: args.timeout_scale,
        gate: Gate {
            strict: args.strict,
            require_features: false,
        },
    };
    let stop = stop_on_ctrl_c();
    let tty = std::io::stderr().is_terminal() && !args.quiet;
    let mut done = 0usize;
    let progress = |r: &CaseResult| {
        done += 1;
        if tty {
            eprint!("\r\x1b[2K[{done}] {} {}", r.case.id, r.verdict.behavior.as_str());
        }
    };
    let results = run_servers(&run, stop, progress).await?;
    if tty {
        eprintln!();
    }
    print!("{}", summary::render(&results.agent, &results.results, &run.gate));
    println!("reports: {}", args.outdir.join("index.json").display());
    if !results.complete {
        println!("run interrupted: {} case(s) finished", results.results.len());
    }
    Ok(if results.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
