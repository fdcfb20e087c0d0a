//! `wsconform report …` (merge shards, diff runs, re-render) and
//! `wsconform replay`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;
use wsconform::engine::EngineConfig;
use wsconform::gate::Gate;
use wsconform::record::WireEntry;
use wsconform::reference::{Knobs, ReferenceServer};
use wsconform::report::{self, write_atomic};
use wsconform::testing::client::{FuzzingServer, FuzzingServerConfig};
use wsconform::testing::server::{run_case, ClientOptions};
use wsconform::transport::{Connector, ServerTls, Target, Trust};
use wsconform::verdict::{judge, Expectations};
use wsconform_cases::{id_key, Case};
use wsconform_wire::Role;

#[derive(clap::Subcommand)]
pub enum ReportCommand {
    /// Combine the report folders of `--shard` runs into one report set.
    Merge {
        /// Folder to write the merged reports to.
        #[arg(long)]
        outdir: PathBuf,
        /// The shards' report folders.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
    /// Verdict changes between two runs (results.json or index.json);
    /// exits 1 when anything changed.
    Diff { before: PathBuf, after: PathBuf },
    /// Re-render the HTML, JUnit or Markdown reports from a results.json.
    Render {
        results: PathBuf,
        #[arg(long)]
        html: Option<PathBuf>,
        #[arg(long)]
        junit: Option<PathBuf>,
        #[arg(long)]
        markdown: Option<PathBuf>,
        /// Judge NON-STRICT as failing.
        #[arg(long)]
        strict: bool,
        /// Judge UNIMPLEMENTED as failing.
        #[arg(long)]
        require_features: bool,
    },
    /// Put runs side by side: pass counts per implementation, role and
    /// category, every case's verdicts across them, and wsconform's
    /// agreement with Autobahn.
    #[command(long_about = MATRIX_ABOUT)]
    Matrix {
        /// Folder to write matrix.md, matrix.json and index.html to.
        #[arg(long, default_value = "reports/matrix")]
        out: PathBuf,
        /// Title of the page and the Markdown (at most 200 characters).
        #[arg(long, default_value = "WebSocket conformance matrix")]
        title: String,
        /// Count NON-STRICT as failed, as `--strict` runs gate.
        #[arg(long)]
        strict: bool,
        /// Count UNIMPLEMENTED as failed, as `--require-features` runs gate.
        #[arg(long)]
        require_features: bool,
        /// Where the full report of a column with none beside its input is,
        /// relative to --out, with {label} and {role} replaced; linked only
        /// where that file exists now.
        #[arg(long, value_name = "PATTERN")]
        full_reports: Option<String>,
        /// `TEXT=PATH`: link the file PATH (which must exist) under the
        /// title of index.html and matrix.md, as TEXT; repeatable.
        #[arg(long, value_name = "TEXT=PATH")]
        see_also: Vec<String>,
        /// `[LABEL][@ROLE]=PATH` or `PATH`: a results.json, an Autobahn
        /// index.json, a folder holding one, or a summary (.txt).
        #[arg(required = true, value_name = "INPUT")]
        inputs: Vec<std::ffi::OsString>,
    },
}

/// `wsconform report matrix --help`: the input syntax and the outputs
/// (README, "Comparing runs").
const MATRIX_ABOUT: &str = "\
Put runs side by side: one column per implementation and role (a row of the
matrix), one cell per category with cases passed/cases run by the gate's rule
(the rule of the exit code: --strict and --require-features as for runs),
every case's verdicts across the columns, and the cases whose verdicts differ.

Each INPUT is PATH or [LABEL][@ROLE]=PATH:
  PATH    a wsconform results.json, an Autobahn index.json, or a folder
          holding one (a wsconform --outdir: results.json is read; an
          Autobahn report folder: index.json); or a summary, a .txt file with
          one line per case, \"id behavior behaviorClose\" (as
          scripts/compliance.sh commits reports/ID/ROLE.txt), which needs
          LABEL@ROLE=PATH: it names neither
  LABEL   names the input's column(s) instead of the agent (no =, / or @ in
          it); an error when the input holds more than one agent
  @ROLE   server or client, the role of the implementation under test: picks
          those runs of a results.json; for an index.json it states the role
          (Autobahn's fuzzingclient tests servers: @server; fuzzingserver
          tests clients: @client). Without it the role of an index.json is
          read from a per-case report beside it (isServer); an error if none.
  The text before the first = is LABEL[@ROLE] only when it holds no /, so
  write ./a=b for a path with = in it.

Every (agent, role) of an input is one column. A case one column ran and
another did not is shown as \"not run\", never as a failure.

A wsconform column and an Autobahn column with the same LABEL and role are one
implementation judged by both tools: matrix.md then has a section
\"Agreement with Autobahn\" with, per implementation, the line
  N of M cases identical (behavior and behaviorClose)
(M: the cases both ran) and every difference.

Writes into --out: matrix.md (Markdown), matrix.json (the same data, for
scripts) and index.html (one self-contained page with filters). Links are
relative to --out: each column links its input file, and its full HTML report
where there is one: index.html beside its input, else, with --full-reports
PATTERN, the file PATTERN names (e.g. runs/{label}/{role}/index.html) if it
exists when the matrix is written. A page whose full reports are not
published with it is generated without them, and links none. Each
--see-also TEXT=PATH links the file PATH (e.g. a findings document published
with the page) under the title, as TEXT. Same inputs,
same files, but for the one \"Generated at\" line.

Examples:
  wsconform report matrix --out reports reports/ws/server reports/websockets/server
  wsconform report matrix ws-8.17=old/results.json ws-8.18=new/results.json
  wsconform report matrix ws=out/results.json ws@server=autobahn/reports/servers
  wsconform report matrix --out reports --full-reports 'runs/{label}/{role}/index.html' \\
    --see-also 'Agreement with Autobahn=reports/agreement.md' \\
    ws@server=reports/ws/server.txt ws@client=reports/ws/client.txt";

pub fn run(cmd: ReportCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ReportCommand::Merge { outdir, dirs } => merge(&outdir, &dirs),
        ReportCommand::Diff { before, after } => diff(&before, &after),
        ReportCommand::Render {
            results,
            html,
            junit,
            markdown,
            strict,
            require_features,
        } => {
            let doc = report::read_results(&results)?;
            let gate = Gate {
                strict,
                require_features,
            };
            if html.is_none() && junit.is_none() && markdown.is_none() {
                anyhow::bail!("nothing to render: give --html, --junit and/or --markdown");
            }
            if let Some(p) = html {
                report::html::write_html(&p, &doc, &gate)?;
            }
            if let Some(p) = junit {
                report::junit::write_junit(&p, &doc, &gate)?;
            }
            if let Some(p) = markdown {
                report::markdown::write_markdown(&p, &doc, &gate)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        ReportCommand::Matrix {
            out,
            title,
            strict,
            require_features,
            full_reports,
            see_also,
            inputs,
        } => matrix(
            &out,
            title,
            Gate {
                strict,
                require_features,
            },
            full_reports.as_deref(),
            &see_also,
            &inputs,
        ),
    }
}

/// Longest `--title`, in characters.
const MAX_TITLE_CHARS: usize = 200;

/// `wsconform report matrix`: every input is parsed and read before the
/// output folder is touched, so bad input leaves nothing behind.
fn matrix(
    out: &Path,
    title: String,
    gate: Gate,
    full_reports: Option<&str>,
    see_also: &[String],
    inputs: &[std::ffi::OsString],
) -> anyhow::Result<ExitCode> {
    use wsconform::report::matrix::{input, Matrix, ReportPattern};
    let fits = |text: &str| text.chars().count() <= MAX_TITLE_CHARS && !text.chars().any(char::is_control);
    if !fits(&title) {
        anyhow::bail!("--title: at most {MAX_TITLE_CHARS} characters, no control characters");
    }
    let mut links = Vec::new();
    for arg in see_also {
        let (text, path) = arg
            .split_once('=')
            .filter(|(text, path)| !text.is_empty() && fits(text) && !path.is_empty())
            .with_context(|| {
                format!(
                    "--see-also {arg:?}: TEXT=PATH, TEXT of 1 to {MAX_TITLE_CHARS} characters without \
                     control characters"
                )
            })?;
        if !Path::new(path).is_file() {
            anyhow::bail!("--see-also {arg:?}: {path} is not a file");
        }
        links.push((text.to_string(), Path::new(path)));
    }
    let full_reports = full_reports.map(ReportPattern::parse).transpose()?;
    let mut columns = Vec::new();
    for arg in inputs {
        let arg = arg
            .to_str()
            .with_context(|| format!("input {arg:?} is not UTF-8"))?;
        let spec = input::InputSpec::parse(arg)?;
        columns.extend(input::read(&spec)?);
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut m = Matrix::build(title, columns, gate, out, full_reports.as_ref())?;
    for (text, path) in links {
        m.see_also(out, text, path)?;
    }
    m.write(out, &report::iso8601(std::time::SystemTime::now()))?;
    println!(
        "matrix of {} column(s) and {} case(s) written to {} (matrix.md, matrix.json, index.html)",
        m.columns.len(),
        m.cases.len(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn read_json(path: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

fn case_sort_key(case: &Value) -> Vec<(u8, u64, String)> {
    id_key(case["id"].as_str().unwrap_or_default())
}

/// Merges shards: runs of the same agent and role are joined case by case;
/// index.json maps are joined; per-case files are copied.
fn merge(outdir: &Path, dirs: &[PathBuf]) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(outdir).with_context(|| format!("cannot create {}", outdir.display()))?;
    let mut runs: BTreeMap<(String, String), Value> = BTreeMap::new();
    let mut index: Map<String, Value> = Map::new();
    let mut tool = Value::Null;
    for dir in dirs {
        let doc = report::read_results(&dir.join("results.json"))?;
        tool = doc["tool"].clone();
        for run in doc["runs"].as_array().into_iter().flatten() {
            let key = (
                run["agent"].as_str().unwrap_or_default().to_string(),
                run["peer_role"].as_str().unwrap_or_default().to_string(),
            );
            let merged = runs.entry(key).or_insert_with(|| {
                let mut r = run.clone();
                r["cases"] = json!([]);
                r
            });
            let earlier =
                merged["started"].as_str().unwrap_or_default() > run["started"].as_str().unwrap_or_default();
            if earlier {
                merged["started"] = run["started"].clone();
            }
            let complete =
                merged["complete"].as_bool().unwrap_or(false) && run["complete"].as_bool().unwrap_or(false);
            merged["complete"] = json!(complete);
            let cases = merged["cases"].as_array_mut().context("cases")?;
            for case in run["cases"].as_array().into_iter().flatten() {
                if cases.iter().any(|c| c["id"] == case["id"]) {
                    anyhow::bail!(
                        "case {} of agent {} appears in more than one shard",
                        case["id"],
                        run["agent"]
                    );
                }
                cases.push(case.clone());
            }
        }
        let dir_index = read_json(&dir.join("index.json"))?;
        for (agent, cases) in dir_index.as_object().into_iter().flatten() {
            let entry = index.entry(agent.clone()).or_insert_with(|| json!({}));
            for (id, v) in cases.as_object().into_iter().flatten() {
                entry[id] = v.clone();
                if let Some(file) = v["reportfile"].as_str() {
                    // The name comes from a file that may have been edited:
                    // never let it reach outside the two folders.
                    let plain = std::path::Path::new(file).file_name() == Some(std::ffi::OsStr::new(file));
                    if !plain || file == ".." {
                        anyhow::bail!(
                            "{}: reportfile {file:?} of {agent} {id} is not a plain file name",
                            dir.join("index.json").display()
                        );
                    }
                    std::fs::copy(dir.join(file), outdir.join(file))
                        .with_context(|| format!("copying {file}"))?;
                }
            }
        }
    }
    let runs: Vec<Value> = runs
        .into_values()
        .map(|mut r| {
            if let Some(cases) = r["cases"].as_array_mut() {
                cases.sort_by_key(case_sort_key);
            }
            let mut summary = json!({"behavior": {}, "behavior_close": {}});
            for c in r["cases"].as_array().into_iter().flatten() {
                for (key, field) in [("behavior", "behavior"), ("behavior_close", "behavior_close")] {
                    let v = c["verdict"][field].as_str().unwrap_or("?").to_string();
                    let n = summary[key][&v].as_u64().unwrap_or(0) + 1;
                    summary[key][v] = json!(n);
                }
            }
            r["summary"] = summary;
            r
        })
        .collect();
    let doc = json!({"schema_version": report::results::SCHEMA_VERSION, "tool": tool, "runs": runs});
    write_atomic(&outdir.join("results.json"), &report::to_json("results", &doc)?)?;
    write_atomic(
        &outdir.join("index.json"),
        &report::to_json("index", &Value::Object(index))?,
    )?;
    report::html::write_html(&outdir.join("index.html"), &doc, &Gate::default())?;
    let total: usize = doc["runs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["cases"].as_array().map_or(0, Vec::len))
        .sum();
    println!(
        "merged {} shard(s): {total} case(s) into {}",
        dirs.len(),
        outdir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// "behavior / behaviorClose".
fn pair(behavior: &Value, close: &Value) -> String {
    format!(
        "{} / {}",
        behavior.as_str().unwrap_or("?"),
        close.as_str().unwrap_or("?")
    )
}

/// (agent, case id) → "behavior / behaviorClose", from either format.
fn verdicts(doc: &Value) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    if let Some(runs) = doc["runs"].as_array() {
        for run in runs {
            for c in run["cases"].as_array().into_iter().flatten() {
                let key = (
                    run["agent"].as_str().unwrap_or_default().to_string(),
                    c["id"].as_str().unwrap_or_default().to_string(),
                );
                out.insert(
                    key,
                    pair(&c["verdict"]["behavior"], &c["verdict"]["behavior_close"]),
                );
            }
        }
    } else if let Some(agents) = doc.as_object() {
        for (agent, cases) in agents {
            for (id, v) in cases.as_object().into_iter().flatten() {
                out.insert(
                    (agent.clone(), id.clone()),
                    pair(&v["behavior"], &v["behaviorClose"]),
                );
            }
        }
    }
    out
}

fn diff(before: &Path, after: &Path) -> anyhow::Result<ExitCode> {
    let (a, b) = (verdicts(&read_json(before)?), verdicts(&read_json(after)?));
    let mut keys: Vec<&(String, String)> = a.keys().chain(b.keys()).collect();
    keys.sort_by_key(|(agent, id)| (agent.clone(), id_key(id)));
    keys.dedup();
    let mut changes = 0;
    for key in keys {
        let (agent, id) = key;
        let (x, y) = (a.get(key), b.get(key));
        if x == y {
            continue;
        }
        let shown = |v: Option<&String>| v.map_or("(not run)", String::as_str).to_string();
        println!("{agent} {id}: {} → {}", shown(x), shown(y));
        changes += 1;
    }
    println!("{changes} change(s)");
    Ok(if changes == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// One wire log entry as a line: `→` sent, `←` received.
fn describe(e: &WireEntry) -> Option<String> {
    let payload = |d: &wsconform::record::Digest| {
        let head = &d.head[..d.head.len().min(48)];
        let shown = match std::str::from_utf8(head) {
            Ok(t) => format!("{t:?}"),
            Err(_) => format!("0x{}", hex::encode(head)),
        };
        if d.len > head.len() as u64 {
            format!("{shown}… ({} bytes)", d.len)
        } else {
            shown
        }
    };
    let t = |t_us: u64| format!("{:>9.3} ms", t_us as f64 / 1000.0);
    let frame = |op: wsconform_wire::Opcode,
                 fin: bool,
                 rsv: u8,
                 mask: &Option<[u8; 4]>,
                 p: &wsconform::record::Digest| {
        format!(
            "{} fin={} rsv={rsv} mask={} {}",
            op,
            u8::from(fin),
            mask.map_or("-".into(), hex::encode),
            payload(p)
        )
    };
    Some(match e {
        WireEntry::TxFrame {
            t_us,
            opcode,
            fin,
            rsv,
            mask,
            payload: p,
            chop,
            sync,
        } => format!(
            "{} → {}{}{}",
            t(*t_us),
            frame(*opcode, *fin, *rsv, mask, p),
            chop.map(|c| format!(" [chops of {c}]")).unwrap_or_default(),
            if *sync { " [own write]" } else { "" }
        ),
        WireEntry::RxFrame {
            t_us,
            opcode,
            fin,
            rsv,
            mask,
            payload: p,
        } => format!("{} ← {}", t(*t_us), frame(*opcode, *fin, *rsv, mask, p)),
        WireEntry::Timer { t_us, timer, ms, .. } => format!("{} · {timer} timer armed: {ms} ms", t(*t_us)),
        WireEntry::TimerFired { t_us, timer, tag } => {
            format!(
                "{} · {timer} timer fired{}",
                t(*t_us),
                tag.as_ref().map(|t| format!(" ({t})")).unwrap_or_default()
            )
        }
        WireEntry::Note { t_us, text } => format!("{} ! {text}", t(*t_us)),
        WireEntry::TxOctets { .. } | WireEntry::RxOctets { .. } => return None,
    })
}

/// `wsconform replay ID [URL | --listen ADDR]`.
pub async fn replay(
    case: Case,
    url: Option<String>,
    listen: Option<SocketAddr>,
    scale: f64,
    (trust, identity): (Trust, Option<ServerTls>),
) -> anyhow::Result<ExitCode> {
    if !(scale > 0.0 && scale.is_finite()) {
        anyhow::bail!("--timeout-scale must be a positive number, got {scale}");
    }
    println!("case {}: {}", case.id, case.description);
    let (live_tx, mut live_rx) = mpsc::unbounded_channel();
    let printer = tokio::spawn(async move {
        while let Some(entry) = live_rx.recv().await {
            if let Some(line) = describe(&entry) {
                println!("{line}");
            }
        }
    });
    let harness = if listen.is_some() {
        Role::Server
    } else {
        Role::Client
    };
    let mut engine = EngineConfig::new(harness);
    engine.timeout_scale = scale;
    engine.live = Some(live_tx);
    let outcome = match listen {
        Some(addr) => {
            let server = FuzzingServer::start(
                addr,
                FuzzingServerConfig {
                    cases: vec![case.clone()],
                    engine,
                    expected_agents: Vec::new(),
                    until_stopped: false,
                    tls: identity,
                    open_handshake_timeout: Duration::from_secs(5),
                    report: None,
                },
            )
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
            println!(
                "waiting for a client at {}/runCase?case=1&agent=replay",
                server.url()
            );
            let deadline = Duration::from_secs(600);
            tokio::time::timeout(deadline, async {
                while server.ran("replay") == 0 && server.agents().is_empty() {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
            .await
            .context("no client came within 10 minutes")?;
            let agent = server.agents().into_iter().next().unwrap_or_default();
            while server.ran(&agent) == 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            server.results(&agent, "not run").remove(0).outcome
        }
        None => {
            let reference;
            let (url, trust) = match url {
                Some(url) => (url, trust),
                None => {
                    let trust = identity.as_ref().map_or(trust, ServerTls::trust);
                    reference = ReferenceServer::start(
                        SocketAddr::from(([127, 0, 0, 1], 0)),
                        Knobs::default(),
                        identity,
                    )
                    .await?;
                    (reference.url(), trust)
                }
            };
            let target = Target::parse(&url)?;
            let options = ClientOptions {
                engine,
                open_handshake_timeout: Duration::from_secs(5),
                user_agent: format!("wsconform/{}", env!("CARGO_PKG_VERSION")),
                connector: Connector::new(&trust)?,
            };
            run_case(&case, &target, &options).await
        }
    };
    let _ = printer.await;
    let v = judge(&case, &outcome, &Expectations::of(&case), harness);
    println!(
        "behavior {} ({}); close {} ({})",
        v.behavior.as_str(),
        v.result,
        v.behavior_close.as_str(),
        v.result_close
    );
    Ok(if Gate::default().passes(&v) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
