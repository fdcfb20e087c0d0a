//! Carrying out a validated `Mode`, one function per command: nothing here checks input any more;
//! what can fail is the peer, the network or the file system.

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context as _;
use wsconform::baseline;
use wsconform::reference::ReferenceServer;
use wsconform::report::{self, summary};
use wsconform::runner::CaseResult;
use wsconform::session::{run_clients, run_servers, write_reports, ClientUnderTest, RunResults};
use wsconform_cases::{catalog, select, Selection};

use super::config::{
    BaselineUse, ClientConfig, Outputs, ReferenceClientConfig, ReferenceServerConfig, ReplayConfig,
    ServerConfig,
};
use super::output::{emit, emit_then, one_line, Progress};
use crate::report_cmd;

/// `wsconform replay`.
pub async fn replay(c: ReplayConfig) -> anyhow::Result<ExitCode> {
    report_cmd::replay(c.case, c.url, c.listen, c.timeout_scale, (c.trust, c.identity)).await
}

/// `wsconform fuzz`: exit 1 when something was found.
pub async fn fuzz(config: wsconform::fuzz::campaign::FuzzConfig, quiet: bool) -> anyhow::Result<ExitCode> {
    eprintln!(
        "wsconform: fuzzing with --seed {} ({} job(s){}{})",
        config.seed,
        config.jobs,
        config
            .iterations
            .map(|n| format!(", {n} iterations"))
            .unwrap_or_default(),
        config
            .duration
            .map(|d| format!(", {} s", d.as_secs()))
            .unwrap_or_default()
    );
    if let wsconform::fuzz::campaign::FuzzTarget::Client {
        listen,
        under_test: wsconform::session::ClientUnderTest::External,
    } = &config.target
    {
        eprintln!(
            "wsconform: serving scripts on ws://{listen} (Autobahn fuzzingserver protocol); run the client against it in a loop: each run gets {} script(s)",
            wsconform::fuzz::clients::EXTERNAL_BATCH
        );
    }
    let mut progress = super::output::FuzzProgress::new(quiet);
    let summary = wsconform::fuzz::campaign::run(&config, stop_on_signal(), &mut progress).await?;
    progress.end();
    let mut text = format!(
        "fuzzed {}: {} execution(s) in {:.1} s ({:.0}/s), seed {}, {} finding(s)\n",
        summary.target,
        summary.execs,
        summary.elapsed.as_secs_f64(),
        summary.execs as f64 / summary.elapsed.as_secs_f64().max(1e-9),
        summary.seed,
        summary.findings()
    );
    for (class, n) in &summary.by_class {
        let first = summary.first_seen.get(class).map_or(0.0, |d| d.as_secs_f64());
        let lax = if class.is_non_strict() {
            " NON-STRICT, not counted"
        } else {
            ""
        };
        text += &format!("  {class}: {n} (first after {first:.1} s){lax}\n");
    }
    for (class, n) in &summary.unconfirmed {
        text += &format!("  unconfirmed (not counted: the same script did not do it again): {class}: {n}\n");
    }
    for s in &summary.saved {
        text += &format!(
            "  reproducer: {} ({} step(s), from {}; {})\n    {}\n",
            s.path.display(),
            s.steps.len(),
            s.original_steps,
            if s.replayed {
                "replays to the same finding"
            } else {
                "did NOT give the same finding again"
            },
            s.finding
        );
    }
    let code = if summary.findings() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    };
    emit_then(&text, code)
}

/// `wsconform reference-server`: serves until Ctrl-C.
pub async fn reference_server(c: ReferenceServerConfig) -> anyhow::Result<ExitCode> {
    let server = ReferenceServer::start(c.listen, c.knobs, c.tls.clone())
        .await
        .with_context(|| format!("cannot listen on {}", c.listen))?;
    println!("reference server listening on {}", server.url());
    if let Some(tls) = c.tls.filter(|t| t.self_signed) {
        print!("its self-signed certificate:\n{}", tls.cert_pem);
    }
    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    Ok(ExitCode::SUCCESS)
}

/// `wsconform reference-client`.
pub async fn reference_client(c: ReferenceClientConfig) -> anyhow::Result<ExitCode> {
    let n = wsconform::reference::client::run_driver(&c.url, &c.agent, &c.knobs, &c.connector).await?;
    println!("ran {n} case(s) as {}", c.agent);
    Ok(ExitCode::SUCCESS)
}

/// `wsconform list`.
pub fn list(cases: Vec<String>, json: bool) -> anyhow::Result<ExitCode> {
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

/// `wsconform show`.
/// `wsconform show ID [--results PATH]`: the case as JSON; with a saved
/// run, `{"case": …, "results": […]}`, one entry per agent that ran it.
pub fn show(id: &str, results: Option<&std::path::Path>) -> anyhow::Result<ExitCode> {
    let case = catalog()
        .into_iter()
        .find(|c| c.id == id)
        .with_context(|| format!("unknown case id {id:?} (see `wsconform list`)"))?;
    let Some(path) = results else {
        return emit(&(serde_json::to_string_pretty(&case)? + "\n"));
    };
    let doc = report::read_results(path)?;
    let ran = report::view::Doc(&doc)
        .runs()
        .flat_map(|run| run.cases().filter(|c| c.id() == id).map(move |c| (run, c)))
        .map(|(run, c)| {
            let outcome = c.outcome();
            let field = |k: &str| outcome.and_then(|o| o.get(k)).cloned().unwrap_or_default();
            let (outgoing, incoming) = c.compression_ratios().unwrap_or_default();
            serde_json::json!({
                "agent": run.agent(),
                "role": run.role(),
                "behavior": c.behavior(),
                "behavior_close": c.behavior_close(),
                "remote_close_code": c.remote_close_code(),
                "deflate": field("deflate"),
                "traffic": field("traffic"),
                "compression_ratio": {"outgoing": outgoing, "incoming": incoming},
                "permessage_deflate": c.deflate_summary(),
            })
        })
        .collect::<Vec<_>>();
    anyhow::ensure!(!ran.is_empty(), "{}: no run of case {id}", path.display());
    let out = serde_json::json!({ "case": case, "results": ran });
    emit(&(serde_json::to_string_pretty(&out)? + "\n"))
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

fn warn(warnings: &[String]) {
    for w in warnings {
        eprintln!("wsconform: {w}");
    }
}

/// `wsconform server`.
pub async fn server(config: ServerConfig) -> anyhow::Result<ExitCode> {
    warn(&config.warnings);
    let stop = stop_on_signal();
    let mut runs = Vec::new();
    for run in &config.runs {
        let total = run.common.cases(wsconform_wire::Role::Server)?.len();
        let mut progress = Progress::new(config.out.quiet, total);
        let result = run_servers(run, stop.clone(), |r| progress.case(r)).await;
        progress.end();
        runs.push(result?);
        if stop.load(Ordering::SeqCst) {
            break;
        }
    }
    finish(&config.out, &runs)
}

/// `wsconform client`.
pub async fn client(config: ClientConfig) -> anyhow::Result<ExitCode> {
    warn(&config.warnings);
    let run = &config.run;
    if let (Some(tls), Some(path)) = (&run.tls, &config.cert_file) {
        report::write_atomic(path, tls.cert_pem.as_bytes())?;
        eprintln!(
            "wsconform: TLS certificate clients must trust: {}",
            path.display()
        );
    }
    if matches!(run.client, ClientUnderTest::External) {
        eprintln!(
            "wsconform: listening on {}://{} for clients (Autobahn fuzzingserver protocol; browsers: open {}://{}/)",
            wsconform::transport::scheme(run.tls.is_some()),
            run.listen,
            if run.tls.is_some() { "https" } else { "http" },
            run.listen
        );
    }
    let results = run_clients(run, stop_on_signal()).await?;
    if results.runs.is_empty() {
        println!("no client connected to {}", results.url);
    }
    if let Some(status) = &results.client_status {
        println!("{status}");
    }
    finish(&config.out, &results.runs)
}

/// Writes every report, prints the summary, and decides the exit code: by
/// the gate, or by changes against the baseline when one is given.
fn finish(out: &Outputs, runs: &[RunResults]) -> anyhow::Result<ExitCode> {
    let (outdir, gate) = (&out.outdir, &out.gate);
    write_reports(outdir, runs, out.layout)?;
    let doc = report::read_results(&outdir.join("results.json"))?;
    report::html::write_html(&outdir.join("index.html"), &doc, gate)?;
    if let Some(path) = &out.junit {
        report::junit::write_junit(path, &doc, gate)?;
    }
    if let Some(path) = &out.summary {
        report::markdown::write_markdown(path, &doc, gate)?;
    }
    let mut text = String::new();
    for r in runs {
        text += &summary::render(&r.agent, &r.results, gate);
        if !r.complete {
            text += "  incomplete: the run was interrupted, or the client did not run every case\n";
        }
    }
    text += &format!("reports: {}\n", outdir.join("index.html").display());
    let complete = !runs.is_empty() && runs.iter().all(|r| r.complete);
    let code = |ok: bool| if ok { ExitCode::SUCCESS } else { ExitCode::from(1) };
    match &out.baseline {
        None => {
            let passed = complete && runs.iter().all(|r| r.passed);
            emit_then(&text, code(passed))
        }
        Some(BaselineUse::Update { path, previous }) => {
            let by_agent: Vec<(&str, &[CaseResult])> = runs
                .iter()
                .map(|r| (r.agent.as_str(), r.results.as_slice()))
                .collect();
            let doc = baseline::render(&by_agent, previous.as_ref());
            report::write_atomic(path, &report::to_json("baseline", &doc)?)?;
            text += &format!("baseline written: {}\n", path.display());
            emit_then(&text, code(complete))
        }
        Some(BaselineUse::Compare { path, baseline }) => {
            let ids: BTreeSet<String> = catalog().into_iter().map(|c| c.id).collect();
            let mut clean = complete;
            for r in runs {
                let entries = baseline.for_agent(&r.agent, &path.display().to_string())?;
                let comparison = baseline::compare(entries, baseline.shape, &r.results, &ids, gate);
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
    }
}
