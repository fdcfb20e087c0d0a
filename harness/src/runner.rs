//! Runs a selection of cases against one peer, several at a time, and
//! collects results in id order.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};
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

/// How many permessage-deflate cases (12.x/13.x) may run at once, and with
/// which timers. Each sends 1000 messages one round trip at a time within
/// Autobahn's per-case timer (60–480 s, `case/case12_x_x.py` `MSG_SIZES`),
/// which assumes the peer serves that case alone. Peers are mostly
/// single-threaded, so a case's round trips wait behind every other running
/// case's messages: eight at once made a 16-byte case (12.3.1, 60 s) miss its
/// timer behind seven 128 KiB ones on Python `websockets` under load. One at
/// a time leaves a single-threaded peer idle during every round trip's
/// latency (the full suite took 1.9–3.2× the peer's own CPU time). So cases
/// share a lane: at most [`DEFLATE_LANE_WIDTH`] at once, and only cases with
/// the same timer (the same message-size class), so no case waits behind
/// messages larger than the class its timer was set for, and a case takes at
/// most about `width` times its time alone — far inside its timer. The
/// width is a constant, never `--jobs` or the machine's CPU count, so the
/// verdicts cannot depend on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeflateLane {
    /// One case at a time: the embedded reference server runs in the
    /// harness's process, and the 64 MiB budget covers both sides.
    Single,
    /// [`DEFLATE_LANE_WIDTH`] cases with one timer at once (external peers).
    Shared,
}

/// Deflate cases a [`DeflateLane::Shared`] lane runs at once: enough to keep
/// a single-threaded peer busy while the harness handles one echo.
pub const DEFLATE_LANE_WIDTH: usize = 3;

impl DeflateLane {
    fn width(self) -> usize {
        match self {
            DeflateLane::Single => 1,
            DeflateLane::Shared => DEFLATE_LANE_WIDTH,
        }
    }
}

/// The case's timer in milliseconds (its `CloseAfter`), the class a lane
/// groups deflate cases by.
fn timer_ms(case: &Case) -> u64 {
    case.steps
        .iter()
        .find_map(|s| match s {
            Step::CloseAfter { ms } => Some(*ms),
            _ => None,
        })
        .unwrap_or(0)
}

/// The lane's state: the timer class running and how many of it.
#[derive(Debug, Default)]
struct LaneState {
    timer_ms: Option<u64>,
    running: usize,
}

/// A gate for deflate cases (see [`DeflateLane`]).
#[derive(Debug)]
struct Lane {
    width: usize,
    state: std::sync::Mutex<LaneState>,
    freed: Notify,
}

/// A place in the lane, given back on drop.
struct LaneSeat(Arc<Lane>);

impl Lane {
    fn new(kind: DeflateLane) -> Arc<Lane> {
        Arc::new(Lane {
            width: kind.width(),
            state: std::sync::Mutex::new(LaneState::default()),
            freed: Notify::new(),
        })
    }

    /// Waits until the lane is empty or runs `timer_ms`'s class with room.
    async fn enter(self: Arc<Self>, timer_ms: u64) -> LaneSeat {
        loop {
            // Created before the check: `notify_waiters` reaches it from now on.
            let freed = self.freed.notified();
            {
                let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
                let fits =
                    state.running == 0 || (state.timer_ms == Some(timer_ms) && state.running < self.width);
                if fits {
                    state.timer_ms = Some(timer_ms);
                    state.running += 1;
                    return LaneSeat(self.clone());
                }
            }
            freed.await;
        }
    }
}

impl Drop for LaneSeat {
    fn drop(&mut self) {
        let mut state = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
        state.running = state.running.saturating_sub(1);
        if state.running == 0 {
            state.timer_ms = None;
        }
        drop(state);
        self.0.freed.notify_waiters();
    }
}

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
    deflate_lane: DeflateLane,
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
    let lane = Lane::new(deflate_lane);
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
        let lane = case.deflate.is_some().then(|| (lane.clone(), timer_ms(&case)));
        running.spawn(async move {
            let _seat = match lane {
                Some((lane, timer)) => Some(lane.enter(timer).await),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `enter` completes at once (without another seat leaving).
    async fn enters_now(lane: &Arc<Lane>, timer: u64) -> Option<LaneSeat> {
        tokio::time::timeout(Duration::from_millis(50), lane.clone().enter(timer))
            .await
            .ok()
    }

    #[tokio::test]
    async fn a_shared_lane_runs_width_cases_of_one_timer_and_no_other() {
        let lane = Lane::new(DeflateLane::Shared);
        let mut seats = Vec::new();
        for _ in 0..DEFLATE_LANE_WIDTH {
            seats.push(enters_now(&lane, 480_000).await.expect("room for the same timer"));
        }
        assert!(enters_now(&lane, 480_000).await.is_none(), "the lane is full");
        seats.pop();
        assert!(
            enters_now(&lane, 60_000).await.is_none(),
            "another timer waits for an empty lane"
        );
        let again = enters_now(&lane, 480_000)
            .await
            .expect("a freed seat of the same timer");
        drop(again);
        seats.clear();
        let other = enters_now(&lane, 60_000)
            .await
            .expect("an empty lane takes any timer");
        drop(other);
    }

    #[tokio::test]
    async fn a_waiting_case_enters_when_the_lane_empties() {
        let lane = Lane::new(DeflateLane::Single);
        let seat = enters_now(&lane, 60_000).await.expect("an empty lane");
        assert!(
            enters_now(&lane, 60_000).await.is_none(),
            "a single lane holds one case"
        );
        let waiting = tokio::spawn(lane.clone().enter(480_000));
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(seat);
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("woken when the seat was given back")
            .expect("the task ran");
    }
}
