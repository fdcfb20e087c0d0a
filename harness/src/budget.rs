//! How many bytes the harness may keep about a peer: its wire log entries
//! and the first bytes of the payloads it received. A peer under test may
//! flood; what is *kept* stays under a budget per case and per run, while
//! what is *judged* (lengths, SHA-1s, counts) is always computed in full, so
//! a verdict never depends on the budget.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Bytes one case may keep (the largest catalog case keeps about 200 KiB:
/// 64 KiB payload heads of 1.1.6 sent, received and echoed).
pub const CASE_BYTES: usize = 1 << 20;
/// Bytes one run may keep over all its cases (a full run against a good
/// peer keeps about 4 MiB).
pub const RUN_BYTES: usize = 16 << 20;

/// The run's share, cloned into every case's engine configuration.
#[derive(Debug, Clone)]
pub struct RunBudget(Arc<AtomicUsize>);

impl Default for RunBudget {
    fn default() -> Self {
        RunBudget::new(RUN_BYTES)
    }
}

impl RunBudget {
    pub fn new(bytes: usize) -> RunBudget {
        RunBudget(Arc::new(AtomicUsize::new(bytes)))
    }

    /// Takes `n` bytes if that many are left.
    fn take(&self, n: usize) -> bool {
        self.0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| left.checked_sub(n))
            .is_ok()
    }
}

/// One case's budget, drawing on its run's.
#[derive(Debug)]
pub struct CaseBudget {
    left: usize,
    run: RunBudget,
    /// Items (wire log entries, payload heads) not kept for want of budget.
    pub dropped: u64,
}

impl CaseBudget {
    pub fn new(run: &RunBudget) -> CaseBudget {
        CaseBudget {
            left: CASE_BYTES,
            run: run.clone(),
            dropped: 0,
        }
    }

    /// Whether an item of `n` bytes may be kept; if not, it is counted as
    /// dropped.
    pub fn keep(&mut self, n: usize) -> bool {
        if n <= self.left && self.run.take(n) {
            self.left -= n;
            true
        } else {
            self.dropped += 1;
            false
        }
    }

    /// True once an item has been dropped.
    pub fn exhausted(&self) -> bool {
        self.dropped > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_run_limits_both_hold() {
        let run = RunBudget::new(CASE_BYTES + 10);
        let mut a = CaseBudget::new(&run);
        assert!(a.keep(CASE_BYTES));
        assert!(!a.keep(1), "the case's share is spent");
        let mut b = CaseBudget::new(&run);
        assert!(b.keep(10));
        assert!(!b.keep(1), "the run's share is spent");
        assert_eq!((a.dropped, b.dropped), (1, 1));
        assert!(a.exhausted() && b.exhausted());
    }
}
