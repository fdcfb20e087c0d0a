//! Fuzzing a client: the harness is the server (RFC 6455 §4.2) and speaks
//! Autobahn's fuzzingserver URL protocol through [`crate::testing::client`],
//! so any client driver that runs the catalog runs generated scripts too.
//! Scripts go in batches, one batch per run of the client: `/getCaseCount`
//! says how many, each `/runCase` runs one script, `/updateReports` ends
//! the batch. A spawned (or the reference) client is started again for the
//! next batch; one that ends before `/updateReports` has died, and the
//! script it was running when it did is a [`FindingClass::Crash`]
//! (`super::FindingClass`).

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use wsconform_cases::Case;

use crate::budget::RunBudget;
use crate::engine::EngineConfig;
use crate::record::Outcome;
use crate::session::{client_run_limit, run_copy, ClientUnderTest, SessionError};
use crate::testing::client::{FuzzingServer, FuzzingServerConfig};
use crate::transport::Trust;

/// Scripts per run of a spawned or reference client: enough that starting
/// the process costs little beside them, few enough that a crash loses
/// little (the scripts after it in the batch are not run).
pub const SPAWNED_BATCH: usize = 100;
/// Scripts per run of the reference client: it runs in-process, so a
/// run costs nothing to start and small batches report sooner.
pub const REFERENCE_BATCH: usize = 10;
/// Scripts per run of an external client (it is not restarted by us: each
/// time it runs, it gets the next batch on the same address).
pub const EXTERNAL_BATCH: usize = 1000;

/// The agent name spawned clients are given (`{agent}`); the results of
/// whichever name ran the most are used, so a driver may ignore it.
const AGENT: &str = "wsconform-fuzz";

/// A client under test and where it is served.
#[derive(Debug)]
pub struct ClientPeer {
    listen: SocketAddr,
    under_test: ClientUnderTest,
    engine: EngineConfig,
    open_handshake_timeout: Duration,
    /// A fixed port is one listener: batches take turns on it.
    turns: tokio::sync::Mutex<()>,
    /// Set when the campaign ends: an external client's batch stops waiting.
    halt: Arc<AtomicBool>,
}

/// What one batch did: each script's outcome (`None`: never run), and
/// where the client died, if it did: the index of the script it was
/// running and what became of it.
#[derive(Debug)]
pub struct Batch {
    pub outcomes: Vec<Option<Outcome>>,
    pub died: Option<(usize, String)>,
}

impl ClientPeer {
    pub fn new(
        listen: SocketAddr,
        under_test: ClientUnderTest,
        timeout_scale: f64,
        halt: Arc<AtomicBool>,
    ) -> ClientPeer {
        let mut engine = EngineConfig::new(wsconform_wire::Role::Server);
        engine.timeout_scale = timeout_scale;
        ClientPeer {
            listen,
            under_test,
            engine,
            open_handshake_timeout: Duration::from_secs(5),
            turns: tokio::sync::Mutex::new(()),
            halt,
        }
    }

    /// What the reports call the client.
    pub fn name(&self) -> String {
        match &self.under_test {
            ClientUnderTest::Reference(knobs) => {
                let names = super::knob_names(knobs);
                if names.is_empty() {
                    "the reference client".to_string()
                } else {
                    format!("the reference client with --knob {}", names.join(" --knob "))
                }
            }
            ClientUnderTest::Spawn(command) => format!("the client `{command}`"),
            ClientUnderTest::External | ClientUnderTest::Browser(_) => {
                format!("the clients connecting to ws://{}", self.listen)
            }
        }
    }

    pub fn batch_size(&self) -> usize {
        match self.under_test {
            ClientUnderTest::External => EXTERNAL_BATCH,
            ClientUnderTest::Reference(_) => REFERENCE_BATCH,
            ClientUnderTest::Spawn(_) | ClientUnderTest::Browser(_) => SPAWNED_BATCH,
        }
    }

    /// Serves `cases` to one run of the client and collects the outcomes.
    pub async fn run(&self, cases: &[Case]) -> Result<Batch, SessionError> {
        let _turn = match self.listen.port() {
            0 => None,
            _ => Some(self.turns.lock().await),
        };
        // Each batch is a run of its own: what it keeps about the client is
        // under a run's budget, and is dropped once the batch is judged.
        let mut engine = self.engine.clone();
        engine.memory = RunBudget::default();
        let server = FuzzingServer::start(
            self.listen,
            FuzzingServerConfig {
                cases: cases.to_vec(),
                engine,
                // The first /updateReports ends the batch, whatever the
                // agent's name.
                expected_agents: Vec::new(),
                until_stopped: false,
                tls: None,
                open_handshake_timeout: self.open_handshake_timeout,
                report: None,
            },
        )
        .await
        .map_err(|e| SessionError::Listen(self.listen, e))?;
        let limit = client_run_limit(cases, &self.engine);
        let status = run_copy(
            &self.under_test,
            &server,
            AGENT,
            limit,
            &Trust::default(),
            None,
            &self.halt,
        )
        .await?;
        // A case's result is stored when its connection ends, and the batch
        // marked finished when `/updateReports` has been answered, both a
        // moment after the client may have moved on (or ended): wait for
        // them, boundedly.
        for _ in 0..250 {
            if server.cases_in_progress() == 0 && server.is_finished() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let finished = server.is_finished();
        let mut results = server.take_results();
        let ran = results.len();
        let outcomes: Vec<Option<Outcome>> = cases
            .iter()
            .map(|c| results.remove(&c.id).map(|r| r.outcome))
            .collect();
        let stopped = self.halt.load(std::sync::atomic::Ordering::SeqCst);
        let died = match (&self.under_test, finished, stopped) {
            (ClientUnderTest::External, _, _) | (_, true, _) | (_, _, true) => None,
            _ => {
                let why = status.unwrap_or_else(|| "the client ended".to_string());
                // The script it was running: the last one that started.
                let at = outcomes
                    .iter()
                    .rposition(Option::is_some)
                    .unwrap_or(0)
                    .min(cases.len().saturating_sub(1));
                Some((at, format!("{why} after {ran} of {} script(s)", cases.len())))
            }
        };
        Ok(Batch { outcomes, died })
    }

    /// One script, run alone (confirmations, minimization, the saved
    /// reproducer's wire log).
    pub async fn run_one(&self, case: &Case) -> Result<(Outcome, Option<String>), SessionError> {
        let batch = self.run(std::slice::from_ref(case)).await?;
        let died = batch.died.map(|(_, why)| why);
        let outcome = batch.outcomes.into_iter().next().flatten().unwrap_or_else(|| {
            Outcome::setup_failed(
                SystemTime::now(),
                died.clone()
                    .unwrap_or_else(|| "the client never ran the script".to_string()),
                false,
            )
        });
        Ok((outcome, died))
    }
}
