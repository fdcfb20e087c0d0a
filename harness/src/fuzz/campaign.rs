//! A fuzzing campaign against a server: generate, run, judge, `jobs` at
//! a time, until the iterations or the time are spent; then shrink the
//! first finding of each class and save it as a case file.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use wsconform_cases::{Case, Step};
use wsconform_wire::Role;

use crate::budget::{RunBudget, CASE_BYTES};
use crate::engine::EngineConfig;
use crate::record::Outcome;
use crate::reference::{Knobs, ReferenceServer};
use crate::session::SessionError;
use crate::testing::server::{run_case, ClientOptions};
use crate::transport::{Connector, Target, Trust};

use super::casefile::{self, FindingRecord};
use super::generate::{finish, iteration_seed, script};
use super::minimize::minimize;
use super::{oracle, Finding, FindingClass};

/// Re-runs of a script that gave a finding, to confirm it.
const CONFIRM_RUNS: u32 = 2;
/// Once a class was confirmed this often, its findings are not re-run.
const CONFIRMED_ENOUGH: u32 = 3;

/// The server fuzzed.
#[derive(Debug, Clone)]
pub enum FuzzTarget {
    Url {
        url: String,
        trust: Trust,
    },
    /// The built-in reference server, misbehaving as the knobs say.
    Reference(Knobs),
}

/// A validated campaign.
#[derive(Debug, Clone)]
pub struct FuzzConfig {
    pub target: FuzzTarget,
    pub seed: u64,
    /// Stop after this many scripts…
    pub iterations: Option<u64>,
    /// …or after this long (whichever comes first; neither: until Ctrl-C).
    pub duration: Option<Duration>,
    pub jobs: usize,
    /// Reproducers go to `outdir/findings/`.
    pub outdir: PathBuf,
    pub minimize: bool,
    pub timeout_scale: f64,
    /// Stop once this many classes have been found.
    pub stop_after_classes: Option<usize>,
}

/// One saved finding.
#[derive(Debug, Clone)]
pub struct Saved {
    pub finding: Finding,
    pub iteration: u64,
    pub iteration_seed: u64,
    pub original_steps: usize,
    pub steps: Vec<Step>,
    pub path: PathBuf,
    /// The minimized script, run again, gave the same class.
    pub replayed: bool,
}

/// What a campaign did.
#[derive(Debug, Clone)]
pub struct Summary {
    pub seed: u64,
    pub target: String,
    pub execs: u64,
    pub elapsed: Duration,
    /// Findings per class (every execution counted).
    pub by_class: BTreeMap<FindingClass, u64>,
    /// When each class was first seen.
    pub first_seen: BTreeMap<FindingClass, Duration>,
    /// Reactions outside the allowed set that the same script did not give
    /// again: not findings (load or timing), reported apart.
    pub unconfirmed: BTreeMap<FindingClass, u64>,
    pub saved: Vec<Saved>,
}

impl Summary {
    pub fn findings(&self) -> u64 {
        self.by_class.values().sum()
    }
}

/// Runs scripts against one server.
#[derive(Debug)]
pub struct Runner {
    target: Target,
    options: ClientOptions,
    /// Kept alive for the campaign.
    _reference: Option<ReferenceServer>,
    pub name: String,
}

impl Runner {
    pub async fn start(target: &FuzzTarget, timeout_scale: f64) -> Result<Runner, SessionError> {
        let (reference, url, trust, name) = match target {
            FuzzTarget::Url { url, trust } => (None, url.clone(), trust.clone(), url.clone()),
            FuzzTarget::Reference(knobs) => {
                let server =
                    ReferenceServer::start(SocketAddr::from(([127, 0, 0, 1], 0)), knobs.clone(), None)
                        .await
                        .map_err(SessionError::Reference)?;
                let url = server.url();
                let names: Vec<String> = knobs
                    .0
                    .iter()
                    .filter_map(|k| serde_json::to_value(k).ok())
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect();
                let name = if names.is_empty() {
                    "the reference server".to_string()
                } else {
                    format!("the reference server with --knob {}", names.join(" --knob "))
                };
                (Some(server), url, Trust::default(), name)
            }
        };
        let target = Target::parse(&url)?;
        let connector = Connector::new(&trust)?;
        let limit = Duration::from_secs(5).mul_f64(timeout_scale);
        let unreachable = |why: String| SessionError::Unreachable {
            url: url.clone(),
            why,
        };
        tokio::time::timeout(limit, connector.connect(&target))
            .await
            .map_err(|_| unreachable(format!("no connection within {limit:?}")))?
            .map_err(|e| unreachable(e.to_string()))?;
        let mut engine = EngineConfig::new(Role::Client);
        engine.timeout_scale = timeout_scale;
        Ok(Runner {
            target,
            options: ClientOptions {
                engine,
                open_handshake_timeout: Duration::from_secs(5),
                user_agent: format!("wsconform-fuzz/{}", env!("CARGO_PKG_VERSION")),
                connector,
            },
            _reference: reference,
            name,
        })
    }

    /// Runs one case; each run keeps at most one case's memory budget.
    pub async fn run(&self, case: &Case) -> Outcome {
        let mut options = self.options.clone();
        options.engine.memory = RunBudget::new(CASE_BYTES);
        run_case(case, &self.target, &options).await
    }

    /// Runs `steps` as a case and judges it.
    pub async fn judge(&self, steps: Vec<Step>, id: String) -> (Case, Outcome, Option<Finding>) {
        let (case, model) = finish(steps, Role::Client, id, String::new());
        let outcome = self.run(&case).await;
        let finding = oracle::check_model(&model, &outcome);
        (case, outcome, finding)
    }
}

/// Prints progress lines, at most one a second.
pub trait Progress: Send {
    fn update(&mut self, execs: u64, elapsed: Duration, summary: &BTreeMap<FindingClass, u64>);
    fn line(&mut self, text: &str);
}

/// Runs the campaign; `stop` ends it early (Ctrl-C), findings are still
/// shrunk and saved.
pub async fn run(
    config: &FuzzConfig,
    stop: Arc<AtomicBool>,
    progress: &mut dyn Progress,
) -> Result<Summary, SessionError> {
    let runner = Arc::new(Runner::start(&config.target, config.timeout_scale).await?);
    let started = Instant::now();
    let mut summary = Summary {
        seed: config.seed,
        target: runner.name.clone(),
        execs: 0,
        elapsed: Duration::ZERO,
        by_class: BTreeMap::new(),
        first_seen: BTreeMap::new(),
        unconfirmed: BTreeMap::new(),
        saved: Vec::new(),
    };
    // The first finding of each class: (iteration, steps, finding).
    let mut firsts: BTreeMap<FindingClass, (u64, Vec<Step>, Finding)> = BTreeMap::new();
    let mut running = JoinSet::new();
    let confirmed_by_class: Arc<std::sync::Mutex<BTreeMap<FindingClass, u32>>> = Arc::default();
    let mut next: u64 = 0;
    let mut last_progress = Instant::now();
    let out_of_budget = |next: u64, firsts: &BTreeMap<_, _>| {
        config.iterations.is_some_and(|n| next >= n)
            || config.duration.is_some_and(|d| started.elapsed() >= d)
            || stop.load(Ordering::SeqCst)
            || config.stop_after_classes.is_some_and(|n| firsts.len() >= n)
    };
    loop {
        while running.len() < config.jobs.max(1) && !out_of_budget(next, &firsts) {
            let n = next;
            next += 1;
            let runner = runner.clone();
            let seed = iteration_seed(config.seed, n);
            let confirm = confirmed_by_class.clone();
            running.spawn(async move {
                let steps = script(seed);
                let id = format!("fuzz.{seed:016x}");
                let (_, _, finding) = runner.judge(steps.clone(), id.clone()).await;
                let Some(f) = finding else {
                    return (n, steps, None, true);
                };
                // A finding counts once the same script gives the same class
                // again (CONFIRM_RUNS tries): a reaction that came from load
                // or timing alone is reported as unconfirmed instead. Classes
                // already confirmed CONFIRMED_ENOUGH times are not re-run.
                let known = confirm
                    .lock()
                    .map(|m| m.get(&f.class).copied().unwrap_or(0))
                    .unwrap_or(0);
                if known >= CONFIRMED_ENOUGH {
                    return (n, steps, Some(f), true);
                }
                for _ in 0..CONFIRM_RUNS {
                    if runner
                        .judge(steps.clone(), id.clone())
                        .await
                        .2
                        .is_some_and(|g| g.class == f.class)
                    {
                        if let Ok(mut m) = confirm.lock() {
                            *m.entry(f.class).or_default() += 1;
                        }
                        return (n, steps, Some(f), true);
                    }
                }
                (n, steps, Some(f), false)
            });
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        let Ok((n, steps, finding, confirmed)) = done else {
            continue;
        };
        summary.execs += 1;
        if let Some(f) = finding.as_ref().filter(|_| !confirmed) {
            *summary.unconfirmed.entry(f.class).or_default() += 1;
            progress.line(&format!(
                "unconfirmed (did not happen again in {CONFIRM_RUNS} runs of the same script, iteration {n}): {f}"
            ));
        }
        if let Some(f) = finding.filter(|_| confirmed) {
            *summary.by_class.entry(f.class).or_default() += 1;
            summary
                .first_seen
                .entry(f.class)
                .or_insert_with(|| started.elapsed());
            if !firsts.contains_key(&f.class) {
                progress.line(&format!(
                    "finding #{} after {:.1} s (iteration {n}): {f}",
                    firsts.len() + 1,
                    started.elapsed().as_secs_f64()
                ));
                firsts.insert(f.class, (n, steps, f));
            }
        }
        if last_progress.elapsed() >= Duration::from_secs(1) {
            last_progress = Instant::now();
            progress.update(summary.execs, started.elapsed(), &summary.by_class);
        }
    }
    summary.elapsed = started.elapsed();
    progress.update(summary.execs, summary.elapsed, &summary.by_class);
    for (class, (n, steps, finding)) in firsts {
        let seed = iteration_seed(config.seed, n);
        let original_steps = steps.len();
        let (steps, tries) = if config.minimize {
            let runner = runner.clone();
            let m = minimize(steps, class, |candidate| {
                let runner = runner.clone();
                async move {
                    runner
                        .judge(candidate, "fuzz.minimize".into())
                        .await
                        .2
                        .map(|f| f.class)
                }
            })
            .await;
            (m.steps, m.tries)
        } else {
            (steps, 0)
        };
        let id = format!("fuzz.{class}.{seed:016x}");
        let note = format!(
            "Found by `wsconform fuzz --seed {}` (iteration {n}, script seed {seed:#018x}) against {}; {} step(s) before minimization.",
            config.seed, runner.name, original_steps
        );
        let (case, model) = finish(steps.clone(), Role::Client, id.clone(), note);
        let outcome = runner.run(&case).await;
        let again = oracle::check_model(&model, &outcome);
        let replayed = again.as_ref().is_some_and(|f| f.class == class);
        let finding = again.filter(|f| f.class == class).unwrap_or(finding);
        let path = config
            .outdir
            .join("findings")
            .join(format!("{class}-{seed:016x}.json"));
        casefile::save(
            &path,
            &case,
            FindingRecord {
                finding: &finding,
                seed: config.seed,
                iteration: n,
                iteration_seed: seed,
                original_steps,
                minimize_runs: tries,
                target: runner.name.clone(),
                wirelog: &outcome.wirelog,
            },
        )
        .map_err(SessionError::Report)?;
        summary.saved.push(Saved {
            finding,
            iteration: n,
            iteration_seed: seed,
            original_steps,
            steps,
            path,
            replayed,
        });
    }
    Ok(summary)
}
