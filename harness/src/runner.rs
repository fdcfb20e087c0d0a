//! Runs a selection of cases against one peer, several at a time, and
//! collects results in id order.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use wsconform_cases::{Case, Step};

use wsconform_wire::Role;

use crate::record::Outcome;
use crate::verdict::{judge, Expectations, Verdict};

/// The megabytes of message that may be in flight at once: a case takes as
/// many as its largest message (the whole pool at most), so large-message
/// cases (9.x) share it. An echo peer holds each message about three times
/// (read, assembled, written: 16 MiB costs the embedded reference server
/// about 48 MiB), and several at once are what drives peak memory; the pool
/// keeps the main job under 64 MiB. Cases under 1 MiB take nothing.
const PAYLOAD_POOL_MIB: u32 = 12;

/// The pool units `case` takes.
fn payload_units(case: &Case) -> u32 {
    let mib = case.largest_payload() >> 20;
    u32::try_from(mib).unwrap_or(u32::MAX).min(PAYLOAD_POOL_MIB)
}

/// permessage-deflate cases (12.x/13.x) running at once: one. Each sends
/// 1000 messages within Autobahn's per-case timer (60–480 s), which assumes
/// the peer serves that case alone (Autobahn runs cases one by one); peers
/// are mostly single-threaded, so eight such cases at once share one CPU and
/// a small-message case can miss its timer behind seven large ones
/// (measured: Python `websockets`, 12.3.1 FAILED at `--jobs 8` under load).
/// One at a time keeps the verdict independent of `--jobs`; other
/// categories still run beside it.
const DEFLATE_AT_ONCE: usize = 1;

/// How long running cases may still finish after a stop (Ctrl-C).
pub const STOP_GRACE: Duration = Duration::from_secs(3);

/// One case, what happened and the verdict.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub case: Case,
    pub outcome: Outcome,
    pub verdict: Verdict,
}

/// Time the case spends waiting on purpose (5.19, 6.4.x): such cases start
/// first so their waits overlap the rest of the run instead of ending it.
fn fixed_wait_ms(case: &Case) -> u64 {
    case.steps
        .iter()
        .map(|s| match s {
            Step::Wait { ms, .. } => *ms,
            _ => 0,
        })
        .sum()
}

/// Runs every case with `run_one`, at most `jobs` at once, calling
/// `on_result` as each finishes. Stops starting new cases once `stop` is set;
/// returns the finished results in catalog order.
pub async fn run_all<F, Fut>(
    cases: Vec<Case>,
    jobs: usize,
    harness: Role,
    stop: Arc<AtomicBool>,
    run_one: F,
    mut on_result: impl FnMut(&CaseResult),
) -> Vec<CaseResult>
where
    F: Fn(Case) -> Fut,
    Fut: std::future::Future<Output = Outcome> + Send + 'static,
{
    let order: Vec<String> = cases.iter().map(|c| c.id.clone()).collect();
    let mut queue = cases;
    queue.sort_by_key(|c| std::cmp::Reverse(fixed_wait_ms(c)));
    let permits = Arc::new(Semaphore::new(jobs.max(1)));
    let payload_pool = Arc::new(Semaphore::new(PAYLOAD_POOL_MIB as usize));
    let deflate_slot = Arc::new(Semaphore::new(DEFLATE_AT_ONCE));
    let mut running = JoinSet::new();
    let mut results = Vec::with_capacity(queue.len());
    for case in queue {
        // Report cases as they finish while waiting for a free slot; look
        // at the stop flag now and then.
        let permit = loop {
            if stop.load(Ordering::SeqCst) {
                break None;
            }
            tokio::select! {
                permit = permits.clone().acquire_owned() => break permit.ok(),
                Some(done) = running.join_next(), if !running.is_empty() => {
                    if let Ok(result) = done {
                        on_result(&result);
                        results.push(result);
                    }
                }
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
        };
        let Some(permit) = permit else { break };
        let fut = run_one(case.clone());
        let units = payload_units(&case);
        let pool = (units > 0).then(|| payload_pool.clone());
        let slot = case.deflate.is_some().then(|| deflate_slot.clone());
        running.spawn(async move {
            let _slot = match slot {
                Some(slot) => slot.acquire_owned().await.ok(),
                None => None,
            };
            let _payload = match pool {
                Some(pool) => pool.acquire_many_owned(units).await.ok(),
                None => None,
            };
            let outcome = fut.await;
            drop(permit);
            let verdict = judge(&case, &outcome, &Expectations::of(&case), harness);
            CaseResult {
                case,
                outcome,
                verdict,
            }
        });
    }
    // Drain the running cases; once a stop was asked for, give them a short
    // grace period, then abandon the rest (their results are not reported).
    let mut stop_seen: Option<std::time::Instant> = None;
    while !running.is_empty() {
        if stop.load(Ordering::SeqCst) {
            let since = *stop_seen.get_or_insert_with(std::time::Instant::now);
            if since.elapsed() >= STOP_GRACE {
                running.abort_all();
                break;
            }
        }
        if let Ok(Some(Ok(result))) =
            tokio::time::timeout(Duration::from_millis(100), running.join_next()).await
        {
            on_result(&result);
            results.push(result);
        }
    }
    results.sort_by_key(|r| order.iter().position(|id| *id == r.case.id));
    results
}
