//! A fuzzing campaign against a server or a client (`clients`): generate, run, judge, `jobs` at
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
use crate::session::{ClientUnderTest, SessionError};
use crate::testing::server::{run_case, ClientOptions};
use crate::transport::{Connector, Target, Trust};

use super::casefile::{self, FindingRecord};
use super::clients::ClientPeer;
use super::generate::{finish, iteration_seed, script};
use super::minimize::minimize;
use super::{oracle, Finding, FindingClass};

/// Re-runs of a script that gave a finding, to confirm it.
const CONFIRM_RUNS: u32 = 2;
/// Once a class was confirmed this often, its findings are not re-run.
const CONFIRMED_ENOUGH: u32 = 3;

/// The peer fuzzed.
#[derive(Debug, Clone)]
pub enum FuzzTarget {
    /// A server at a URL.
    Url { url: String, trust: Trust },
    /// The built-in reference server, misbehaving as the knobs say.
    Reference(Knobs),
    /// A client: the harness listens on `listen` and serves it scripts
    /// (`clients`); the reference client when `under_test` says so.
    Client {
        listen: SocketAddr,
        under_test: ClientUnderTest,
    },
}

impl FuzzTarget {
    /// The harness's role against this peer.
    pub fn harness_role(&self) -> Role {
        match self {
            FuzzTarget::Client { .. } => Role::Server,
            _ => Role::Client,
        }
    }
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
    /// Confirmed findings, the NON-STRICT classes not counted: what makes
    /// `wsconform fuzz` exit 1.
    pub fn findings(&self) -> u64 {
        self.by_class
            .iter()
            .filter(|(class, _)| !class.is_non_strict())
            .map(|(_, n)| n)
            .sum()
    }
}

/// Runs scripts against one peer.
#[derive(Debug)]
pub struct Runner {
    peer: Peer,
    pub name: String,
}

#[derive(Debug)]
enum Peer {
    Server {
        target: Target,
        options: ClientOptions,
        /// Kept alive for the campaign.
        _reference: Option<ReferenceServer>,
    },
    Client(ClientPeer),
}

impl Runner {
    /// Starts the reference peer if it is the target, and checks a server
    /// is reachable. `halt` ends an external client's wait.
    pub async fn start(target: &FuzzTarget, timeout_scale: f64) -> Result<Runner, SessionError> {
        Runner::start_halting(target, timeout_scale, Arc::default()).await
    }

    async fn start_halting(
        target: &FuzzTarget,
        timeout_scale: f64,
        halt: Arc<AtomicBool>,
    ) -> Result<Runner, SessionError> {
        let (reference, url, trust, name) = match target {
            FuzzTarget::Client { listen, under_test } => {
                let peer = ClientPeer::new(*listen, under_test.clone(), timeout_scale, halt);
                return Ok(Runner {
                    name: peer.name(),
                    peer: Peer::Client(peer),
                });
            }
            FuzzTarget::Url { url, trust } => (None, url.clone(), trust.clone(), url.clone()),
            FuzzTarget::Reference(knobs) => {
                let server =
                    ReferenceServer::start(SocketAddr::from(([127, 0, 0, 1], 0)), knobs.clone(), None)
                        .await
                        .map_err(SessionError::Reference)?;
                let url = server.url();
                let names = super::knob_names(knobs);
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
        let limit = crate::session::probe_limit(Duration::ZERO, timeout_scale);
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
            peer: Peer::Server {
                target,
                options: ClientOptions {
                    engine,
                    open_handshake_timeout: Duration::from_secs(5),
                    user_agent: format!("wsconform-fuzz/{}", env!("CARGO_PKG_VERSION")),
                    connector,
                },
                _reference: reference,
            },
            name,
        })
    }

    /// The harness's role: client when fuzzing a server, and the reverse.
    pub fn harness(&self) -> Role {
        match self.peer {
            Peer::Server { .. } => Role::Client,
            Peer::Client(_) => Role::Server,
        }
    }

    /// Scripts run together: one connection per script against a server,
    /// one run of the client per batch against a client.
    pub fn batch_size(&self) -> usize {
        match &self.peer {
            Peer::Server { .. } => 1,
            Peer::Client(c) => c.batch_size(),
        }
    }

    /// Runs one case; each run keeps at most one case's memory budget.
    pub async fn run(&self, case: &Case) -> Outcome {
        self.run_one(case).await.0
    }

    /// Runs one case; against a client, also whether the client died.
    async fn run_one(&self, case: &Case) -> (Outcome, Option<String>) {
        match &self.peer {
            Peer::Server { target, options, .. } => {
                let mut options = options.clone();
                options.engine.memory = RunBudget::new(CASE_BYTES);
                (run_case(case, target, &options).await, None)
            }
            Peer::Client(client) => match client.run_one(case).await {
                Ok(ran) => ran,
                Err(e) => (
                    Outcome::setup_failed(std::time::SystemTime::now(), e.to_string(), false),
                    None,
                ),
            },
        }
    }

    /// Runs `steps` as a case and judges it.
    pub async fn judge(&self, steps: Vec<Step>, id: String) -> (Case, Outcome, Option<Finding>) {
        let (case, model) = finish(steps, self.harness(), id, String::new());
        let (outcome, died) = self.run_one(&case).await;
        let finding = judged(&model, &outcome, died);
        (case, outcome, finding)
    }

    /// Runs scripts (`id`, steps) together and judges each: `None` for a
    /// script that was not run (its client died earlier in the batch).
    async fn judge_batch(&self, scripts: &[(String, Vec<Step>)]) -> Vec<Option<Option<Finding>>> {
        let harness = self.harness();
        let (cases, models): (Vec<Case>, Vec<oracle::Model>) = scripts
            .iter()
            .map(|(id, steps)| finish(steps.clone(), harness, id.clone(), String::new()))
            .unzip();
        let Peer::Client(client) = &self.peer else {
            let mut out = Vec::with_capacity(cases.len());
            for (case, model) in cases.iter().zip(&models) {
                let (outcome, _) = self.run_one(case).await;
                out.push(Some(oracle::check_model(model, &outcome)));
            }
            return out;
        };
        let batch = match client.run(&cases).await {
            Ok(batch) => batch,
            Err(e) => {
                let outcome = Outcome::setup_failed(std::time::SystemTime::now(), e.to_string(), false);
                return models
                    .iter()
                    .map(|m| Some(oracle::check_model(m, &outcome)))
                    .collect();
            }
        };
        batch
            .outcomes
            .iter()
            .zip(&models)
            .enumerate()
            .map(|(i, (outcome, model))| {
                let died = batch
                    .died
                    .as_ref()
                    .filter(|(at, _)| *at == i)
                    .map(|(_, why)| why.clone());
                match (outcome, died) {
                    (Some(o), died) => Some(judged(model, o, died)),
                    (None, Some(why)) => Some(Some(crash(why))),
                    (None, None) => None,
                }
            })
            .collect()
    }
}

/// The oracle's finding, or a crash when the client died on this script:
/// a dead process outranks whatever its connection looked like.
fn judged(model: &oracle::Model, outcome: &Outcome, died: Option<String>) -> Option<Finding> {
    match died {
        Some(why) => Some(crash(why)),
        None => oracle::check_model(model, outcome),
    }
}

fn crash(why: String) -> Finding {
    Finding {
        class: FindingClass::Crash,
        section: "RFC 6455 §7.1.7",
        detail: format!("the client under test died: {why}"),
    }
}

/// A script's finding after confirmation: (iteration, steps, finding,
/// confirmed). A finding counts once the same script gives the same class
/// again (CONFIRM_RUNS tries): a reaction that came from load or timing
/// alone is reported as unconfirmed instead. Classes already confirmed
/// CONFIRMED_ENOUGH times are not re-run.
async fn confirmed(
    runner: &Runner,
    confirm: &std::sync::Mutex<BTreeMap<FindingClass, u32>>,
    n: u64,
    steps: Vec<Step>,
    id: String,
    f: Finding,
) -> (u64, Vec<Step>, Option<Finding>, bool) {
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
    // Ends the wait for an external client's batch when the campaign ends.
    let halt = Arc::new(AtomicBool::new(false));
    let runner = Arc::new(Runner::start_halting(&config.target, config.timeout_scale, halt.clone()).await?);
    let started = Instant::now();
    let watch = {
        let (stop, halt, duration) = (stop.clone(), halt.clone(), config.duration);
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) && duration.is_none_or(|d| started.elapsed() < d) {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            halt.store(true, Ordering::SeqCst);
        })
    };
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
            let first = next;
            let left = config.iterations.map_or(u64::MAX, |n| n.saturating_sub(next));
            let count = (runner.batch_size() as u64).min(left).max(1);
            next += count;
            let runner = runner.clone();
            let seed = config.seed;
            let confirm = confirmed_by_class.clone();
            running.spawn(async move {
                let scripts: Vec<(String, Vec<Step>)> = (first..first + count)
                    .map(|n| {
                        let s = iteration_seed(seed, n);
                        (format!("fuzz.{s:016x}"), script(s))
                    })
                    .collect();
                let findings = runner.judge_batch(&scripts).await;
                let mut out = Vec::with_capacity(scripts.len());
                for ((n, (id, steps)), finding) in (first..).zip(scripts).zip(findings) {
                    // Not run: its client died earlier in the batch.
                    let Some(finding) = finding else { continue };
                    let Some(f) = finding else {
                        out.push((n, steps, None, true));
                        continue;
                    };
                    out.push(confirmed(&runner, &confirm, n, steps, id, f).await);
                }
                out
            });
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        let Ok(batch) = done else {
            continue;
        };
        for (n, steps, finding, confirmed) in batch {
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
                        "{} #{} after {:.1} s (iteration {n}): {f}",
                        if f.class.is_non_strict() {
                            "non-strict (not counted)"
                        } else {
                            "finding"
                        },
                        firsts.len() + 1,
                        started.elapsed().as_secs_f64()
                    ));
                    firsts.insert(f.class, (n, steps, f));
                }
            }
        }
        if last_progress.elapsed() >= Duration::from_secs(1) {
            last_progress = Instant::now();
            progress.update(summary.execs, started.elapsed(), &summary.by_class);
        }
    }
    summary.elapsed = started.elapsed();
    watch.abort();
    // Shrinking and the reproducers' runs still need the client.
    halt.store(false, Ordering::SeqCst);
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
        let (case, model) = finish(steps.clone(), runner.harness(), id.clone(), note);
        let (outcome, died) = runner.run_one(&case).await;
        let again = judged(&model, &outcome, died);
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
