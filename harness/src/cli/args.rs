//! What clap parses, and nothing more: raw values as the user typed them.
//! Numbers, URLs, addresses and agent names arrive as `OsString` on purpose,
//! so that `config` can check each one (bounds, units, UTF-8) and name the
//! flag in a one-line message, instead of clap rejecting some of them with
//! its own multi-line usage text and letting others through unchecked.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use wsconform::browser::Browser;
use wsconform::reference::Knob;

use crate::report_cmd::ReportCommand;

#[derive(Parser)]
#[command(
    name = "wsconform",
    version,
    about = "WebSocket conformance test harness (RFC 6455), Autobahn-compatible"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Test a WebSocket server. Without a URL, tests the built-in reference server.
    Server(ServerArgs),
    /// Test a WebSocket client: listen and speak Autobahn's fuzzingserver
    /// protocol. Without --listen or --spawn, tests the built-in reference client.
    Client(ClientArgs),
    /// Run one case verbosely, printing the wire log as it happens: against
    /// a server URL, or (with --listen) serving it to one client.
    Replay(ReplayArgs),
    /// Fuzz a WebSocket server (URL) or client (--listen/--spawn/--client):
    /// generated frame scripts judged by an RFC oracle; findings are shrunk
    /// and saved as case files. With no target, fuzzes the built-in
    /// reference server.
    Fuzz(FuzzArgs),
    /// Run the built-in reference echo server (tokio-tungstenite).
    ReferenceServer {
        /// Address to listen on (port 0: any free port).
        #[arg(long, default_value = "127.0.0.1:9001")]
        listen: OsString,
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
        url: OsString,
        #[arg(long, default_value = "wsconform-reference-client")]
        agent: OsString,
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
    /// Show one case as JSON: what it sends and what it expects. With
    /// --results, also what happened to it in a saved run: each agent's
    /// verdicts and, for permessage-deflate, the parameters negotiated and
    /// the compression ratios.
    Show {
        id: String,
        /// A results.json, or a report folder holding one.
        #[arg(long, value_name = "PATH")]
        results: Option<PathBuf>,
    },
    /// Work with saved reports: merge shards, compare runs, re-render.
    #[command(subcommand)]
    Report(ReportCommand),
}

/// Options every run takes.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Cases to run (comma-separated patterns, Autobahn syntax; default all).
    #[arg(long, value_delimiter = ',')]
    pub cases: Vec<String>,
    /// Cases to leave out.
    #[arg(long, value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Where reports go (default reports/servers or reports/clients, or the
    /// spec's outdir).
    #[arg(long)]
    pub outdir: Option<PathBuf>,
    /// Multiply every timeout (slow peers, debuggers): 0.01 to 1000.
    #[arg(long, default_value = "1", allow_negative_numbers = true)]
    pub timeout_scale: OsString,
    /// NON-STRICT verdicts fail the gate too.
    #[arg(long)]
    pub strict: bool,
    /// UNIMPLEMENTED verdicts (a feature such as permessage-deflate was not
    /// negotiated) fail the gate too.
    #[arg(long)]
    pub require_features: bool,
    /// Run only shard I of N (e.g. 2/4) of the selected cases; merge the
    /// shards' reports with `wsconform report merge`.
    #[arg(long, allow_negative_numbers = true)]
    pub shard: Option<OsString>,
    /// Expected-results baseline: fail only on changes against it (accepts
    /// wsconform baselines and Autobahn index.json / expected-results.json).
    #[arg(long)]
    pub expect: Option<PathBuf>,
    /// Rewrite the --expect file from this run instead of comparing.
    #[arg(long, requires = "expect")]
    pub update_expect: bool,
    /// Also write JUnit XML here.
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Also write a Markdown summary here (e.g. $GITHUB_STEP_SUMMARY).
    #[arg(long)]
    pub summary: Option<PathBuf>,
    /// Read an Autobahn spec file (fuzzingclient.json / fuzzingserver.json).
    #[arg(long)]
    pub spec: Option<PathBuf>,
    /// Run only the cases Autobahn|Testsuite has, none of wsconform's own
    /// families (hs.*, mask.*, ...), which otherwise run besides a spec's cases.
    #[arg(long)]
    pub autobahn_only: bool,
    /// Print only the summary.
    #[arg(long)]
    pub quiet: bool,
}

/// The harness's TLS identity when it is the server (wss://).
#[derive(Debug, clap::Args)]
pub struct IdentityArgs {
    /// Serve wss:// (TLS): with --cert and --key, or else a fresh
    /// self-signed certificate for localhost, 127.0.0.1 and ::1.
    #[arg(long)]
    pub tls: bool,
    /// Certificate chain (PEM) to present with --tls.
    #[arg(long, requires = "tls", requires = "key")]
    pub cert: Option<PathBuf>,
    /// Private key (PEM: PKCS#8, PKCS#1 or SEC1) for --cert.
    #[arg(long, requires = "tls", requires = "cert")]
    pub key: Option<PathBuf>,
}

/// Which certificates wss:// servers may present.
#[derive(Debug, clap::Args)]
pub struct TrustArgs {
    /// wss:// servers: also trust the certificates in this PEM file
    /// (repeatable; Mozilla's roots are always trusted).
    #[arg(long)]
    pub ca: Vec<PathBuf>,
    /// wss:// servers: accept any certificate (the chain and name are not
    /// checked; for self-signed test servers).
    #[arg(long, conflicts_with = "ca")]
    pub insecure: bool,
}

#[derive(Debug, clap::Args)]
pub struct ServerArgs {
    /// ws:// or wss:// URL of the server under test.
    pub url: Option<OsString>,
    /// Name of the implementation in reports (default: its Server header).
    #[arg(long)]
    pub agent: Option<OsString>,
    /// Cases run at once: 1 to 64.
    #[arg(long, default_value = "8", allow_negative_numbers = true)]
    pub jobs: OsString,
    /// With no URL: make the reference server misbehave (repeatable).
    #[arg(long = "knob", value_enum)]
    pub knobs: Vec<Knob>,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// With no URL: the reference server's TLS (--tls tests it over wss://).
    #[command(flatten)]
    pub identity: IdentityArgs,
    /// Also run the cases of these files (saved `wsconform fuzz` findings,
    /// or cases as `wsconform show` prints them), after the catalog's.
    #[arg(long, num_args = 1..)]
    pub case_file: Vec<PathBuf>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, clap::Args)]
pub struct ClientArgs {
    /// Address to listen on for external clients (Autobahn's fuzzingserver
    /// set-up; port 0: any free port, printed at start).
    #[arg(long)]
    pub listen: Option<OsString>,
    /// Start the client under test: a shell command in which {url} and
    /// {agent} are replaced, e.g. 'node driver.js {url} {agent}' (and, with
    /// --tls, {ca}: the PEM file of the certificate to trust).
    #[arg(long)]
    pub spawn: Option<String>,
    /// Test a browser: start it headless on the driver page served at /
    /// (fresh profile, killed at the end); the agent is its name and
    /// version unless --agent is given.
    #[arg(long, value_enum, conflicts_with = "spawn")]
    pub browser: Option<Browser>,
    /// Agent name(s) to wait for (/updateReports); the first names the
    /// spawned or reference client.
    #[arg(long = "agent")]
    pub agents: Vec<OsString>,
    /// Serve until /stopServer or Ctrl-C instead of stopping after the
    /// agents' /updateReports.
    #[arg(long)]
    pub until_stopped: bool,
    /// Copies of the --spawn'ed (or reference) client run at once, each
    /// with its own slice of the cases and its own URL: 1 to 64.
    #[arg(long, default_value = "1", allow_negative_numbers = true)]
    pub jobs: OsString,
    /// With the reference client: make it misbehave (repeatable).
    #[arg(long = "knob", value_enum)]
    pub knobs: Vec<Knob>,
    #[command(flatten)]
    pub identity: IdentityArgs,
    /// Also run the cases of these files (saved `wsconform fuzz --listen`/
    /// `--spawn` findings, or cases as `wsconform show` prints them), after
    /// the catalog's.
    #[arg(long, num_args = 1..)]
    pub case_file: Vec<PathBuf>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The case id, e.g. 6.4.1 (with --case-file: which of its cases, when
    /// it holds several).
    pub id: Option<String>,
    /// ws:// URL of a server to run it against (default: the reference server).
    pub url: Option<OsString>,
    /// Serve the case to one client connecting here instead
    /// (ws://ADDR/runCase?case=1&agent=A).
    #[arg(long, conflicts_with = "url")]
    pub listen: Option<OsString>,
    /// Run a case from this file (a `wsconform fuzz` reproducer, or cases
    /// as `wsconform show` prints them); then the only positional argument
    /// may be the URL.
    #[arg(long)]
    pub case_file: Option<PathBuf>,
    /// Multiply every timeout: 0.01 to 1000.
    #[arg(long, default_value = "1", allow_negative_numbers = true)]
    pub timeout_scale: OsString,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub identity: IdentityArgs,
}

#[derive(Debug, clap::Args)]
pub struct FuzzArgs {
    /// ws:// or wss:// URL of the server under test (an echo server).
    pub url: Option<OsString>,
    /// Fuzz a client: listen here for it (Autobahn's fuzzingserver URL
    /// protocol; each run of the client gets a batch of scripts). Without
    /// --spawn, the port must be fixed and the client run in a loop.
    #[arg(long, conflicts_with = "url")]
    pub listen: Option<OsString>,
    /// Fuzz a client: start it with this shell command ({url} and {agent}
    /// replaced, as in `wsconform client --spawn`), again for every batch
    /// and after it dies (a crash is a finding).
    #[arg(long, conflicts_with = "url")]
    pub spawn: Option<String>,
    /// Fuzz the built-in reference client (with --knob: misbehaving).
    #[arg(long, conflicts_with_all = ["url", "listen", "spawn"])]
    pub client: bool,
    /// Seed of the campaign (every script derives from it; default: random, printed).
    #[arg(long)]
    pub seed: Option<OsString>,
    /// Stop after this long: seconds, or with a unit (90s, 10m, 1h).
    #[arg(long)]
    pub duration: Option<OsString>,
    /// Stop after this many scripts.
    #[arg(long)]
    pub iterations: Option<OsString>,
    /// Scripts run at once (clients: copies of the --spawn'ed or reference
    /// client, each on its own port): 1 to 64; default 4, and 1 for an
    /// external client.
    #[arg(long, allow_negative_numbers = true)]
    pub jobs: Option<OsString>,
    /// Where reproducers go (OUTDIR/findings/).
    #[arg(long, default_value = "reports/fuzz")]
    pub outdir: PathBuf,
    /// Save findings as found, without shrinking them.
    #[arg(long)]
    pub no_minimize: bool,
    /// With no URL: make the reference server (or, with --client, the
    /// reference client) misbehave (repeatable).
    #[arg(long = "knob", value_enum)]
    pub knobs: Vec<Knob>,
    /// Multiply every timeout: 0.01 to 1000.
    #[arg(long, default_value = "1", allow_negative_numbers = true)]
    pub timeout_scale: OsString,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// No progress line.
    #[arg(long)]
    pub quiet: bool,
}
