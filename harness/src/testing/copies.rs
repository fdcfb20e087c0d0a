//! Testing clients in parallel: a client under test runs its cases one
//! after another, so `--jobs N` starts N copies of it, each with a fuzzing
//! server of its own (its own listener) that serves one slice of the
//! selected cases through Autobahn's unchanged URL protocol: the copy's
//! `/getCaseCount` is its slice's size and `/runCase?case=i` its slice's
//! i-th case, so any client driver works as it is. The copies' results are
//! merged back under the one agent name the run reports.
//!
//! Verdicts must not depend on N. A case's verdict depends on the copy that
//! runs it only through what that copy did before, on its other connections;
//! in the catalog only `hs.client.fresh-key` looks at that (its
//! `Sec-WebSocket-Key` against the copy's earlier keys, RFC 6455 §4.1). Each
//! copy is one client process, so its connection history is its own (its
//! server keeps the keys it saw), and such a case is put last in its slice:
//! it is compared with every key the copy sent, as with one copy it is
//! compared with every key the client sent.

use std::collections::HashMap;

use wsconform_cases::{Case, HandshakeExpect, Step};

use super::client::MAX_AGENT_CHARS;

/// One copy of the client under test: its name and its cases.
#[derive(Debug, Clone)]
pub struct ClientCopy {
    /// The agent name the copy is started with (`{agent}`): the run's own
    /// name when there is one copy, else the name with `-IofN` appended.
    pub agent: String,
    pub cases: Vec<Case>,
}

/// How a run's cases are split among copies of the client.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The name the merged results are reported under.
    pub agent: String,
    pub copies: Vec<ClientCopy>,
    /// Each case's 0-based position in the whole selection.
    position: HashMap<String, usize>,
}

/// Whether a case compares what the client does across its connections,
/// so that it must come after the copy's other cases.
fn needs_history(case: &Case) -> bool {
    case.handshake
        .as_ref()
        .is_some_and(|h| h.expect == HandshakeExpect::FreshKey)
}

/// A case's time, estimated from its steps in microseconds, to balance the
/// copies: its fixed waits (6.4.x's 2 s, 5.19's 1 s) in full, the bytes it
/// sends at 100 MB/s (the peer echoes them), 2 µs per frame of an
/// auto-fragmented message, 50 µs per round trip (9.7/9.8), and 2 ms for
/// the connection itself. Only the proportions matter.
pub fn estimated_cost(case: &Case) -> u64 {
    let per_byte = |len: u64| len / 100;
    let steps: u64 = case
        .steps
        .iter()
        .map(|step| match step {
            Step::Wait { ms, .. } => ms * 1000,
            Step::Frame { frame, .. } => per_byte(frame.payload.len),
            Step::FrameData { payload } => per_byte(payload.len),
            Step::Message {
                payload,
                fragment_size,
                ..
            } => per_byte(payload.len) + 2 * payload.len.div_ceil((*fragment_size).max(1)),
            Step::RoundTrips { payload, count, .. } => u64::from(*count) * (per_byte(payload.len) + 50),
            _ => 0,
        })
        .sum();
    steps + 2000
}

impl Plan {
    /// Splits `cases` among `jobs` copies (at most one per case, at least
    /// one) so that the copies finish at about the same time: each case,
    /// costliest first, goes to the copy with the least estimated time so
    /// far ([`estimated_cost`]; ties to the lower copy, then the earlier
    /// case), and each copy runs its cases in the selection's order. The
    /// split depends on the selection and N alone.
    pub fn new(cases: &[Case], jobs: usize, agent: &str) -> Plan {
        let count = jobs.clamp(1, cases.len().max(1));
        let mut order: Vec<usize> = (0..cases.len()).collect();
        order.sort_by_key(|&n| (std::cmp::Reverse(estimated_cost(&cases[n])), n));
        let mut load = vec![0u64; count];
        let mut slices: Vec<Vec<usize>> = vec![Vec::new(); count];
        for n in order {
            let (lightest, _) = load
                .iter()
                .enumerate()
                .min_by_key(|&(copy, total)| (*total, copy))
                .unwrap_or((0, &0));
            load[lightest] += estimated_cost(&cases[n]);
            slices[lightest].push(n);
        }
        let copies = slices
            .into_iter()
            .enumerate()
            .map(|(copy, mut slice)| {
                slice.sort_unstable();
                let mut slice: Vec<Case> = slice.into_iter().map(|n| cases[n].clone()).collect();
                // Stable: the other cases keep their order.
                slice.sort_by_key(needs_history);
                ClientCopy {
                    agent: copy_agent(agent, copy + 1, count),
                    cases: slice,
                }
            })
            .collect();
        Plan {
            agent: agent.to_string(),
            copies,
            position: cases.iter().enumerate().map(|(n, c)| (c.id.clone(), n)).collect(),
        }
    }

    /// The merged name of `local`, an agent copy `n` (0-based) reported:
    /// the copy's own name and the run's name are the run's agent; any
    /// other name (a driver that ignores `{agent}`) is itself.
    pub fn merged_name(&self, n: usize, local: &str) -> String {
        if self.copies.get(n).is_some_and(|c| c.agent == local) {
            self.agent.clone()
        } else {
            local.to_string()
        }
    }

    /// The names under which copy `n` may have reported `merged`'s cases.
    pub fn local_names(&self, n: usize, merged: &str) -> Vec<String> {
        match self.copies.get(n) {
            Some(copy) if merged == self.agent && copy.agent != self.agent => {
                vec![copy.agent.clone(), self.agent.clone()]
            }
            _ => vec![merged.to_string()],
        }
    }

    /// The case's 0-based position in the whole selection (for sorting
    /// merged results back into the selection's order).
    pub fn position(&self, id: &str) -> usize {
        self.position.get(id).copied().unwrap_or(usize::MAX)
    }
}

/// Copy `index` of `count`'s agent name: `agent` itself for a single copy
/// (the run is then exactly Autobahn's), else `agent-IofN`, the agent cut
/// so that the name stays within [`MAX_AGENT_CHARS`]: the fuzzing server
/// keeps such a name as sent, so the copy's results are found under it.
fn copy_agent(agent: &str, index: usize, count: usize) -> String {
    if count == 1 {
        return agent.to_string();
    }
    let suffix = format!("-{index}of{count}");
    let head: String = agent
        .chars()
        .take(MAX_AGENT_CHARS.saturating_sub(suffix.chars().count()))
        .collect();
    head + &suffix
}

#[cfg(test)]
mod tests {
    use super::*;
    use wsconform_cases::catalog;
    use wsconform_wire::Role;

    fn client_cases() -> Vec<Case> {
        catalog()
            .into_iter()
            .filter(|c| c.applies_to(Role::Client))
            .collect()
    }

    #[test]
    fn copies_partition_the_selection_and_names_are_distinct() {
        let cases = client_cases();
        for jobs in [1, 2, 4, 7, 64] {
            let plan = Plan::new(&cases, jobs, "me");
            assert_eq!(plan.copies.len(), jobs);
            let mut ids: Vec<&str> = plan
                .copies
                .iter()
                .flat_map(|c| c.cases.iter().map(|c| c.id.as_str()))
                .collect();
            ids.sort_unstable();
            let mut want: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
            want.sort_unstable();
            assert_eq!(ids, want, "jobs {jobs}: every case exactly once");
            let names: std::collections::BTreeSet<&str> =
                plan.copies.iter().map(|c| c.agent.as_str()).collect();
            assert_eq!(names.len(), jobs);
            for (n, copy) in plan.copies.iter().enumerate() {
                assert_eq!(plan.merged_name(n, &copy.agent), "me");
                assert!(plan.local_names(n, "me").contains(&copy.agent));
                assert_eq!(plan.merged_name(n, "other"), "other");
            }
        }
        assert_eq!(Plan::new(&cases, 1, "me").copies[0].agent, "me");
        assert_eq!(Plan::new(&cases, 4, "me").copies[2].agent, "me-3of4");
        let long = "x".repeat(MAX_AGENT_CHARS);
        let named = Plan::new(&cases, 12, &long);
        for copy in &named.copies {
            assert_eq!(
                super::super::client::agent_name(&copy.agent),
                copy.agent,
                "kept as sent"
            );
        }
        // Never more copies than cases.
        assert_eq!(Plan::new(&cases[..3], 8, "me").copies.len(), 3);
    }

    #[test]
    fn slow_cases_are_spread_and_history_cases_come_last() {
        let cases = client_cases();
        let plan = Plan::new(&cases, 4, "me");
        // Each copy gets one of 6.4.1-6.4.4 (2 s of fixed waits each).
        for copy in &plan.copies {
            let waits = copy.cases.iter().filter(|c| c.id.starts_with("6.4.")).count();
            assert_eq!(waits, 1, "{}", copy.agent);
        }
        let loads: Vec<u64> = plan
            .copies
            .iter()
            .map(|c| c.cases.iter().map(estimated_cost).sum())
            .collect();
        let (min, max) = (loads.iter().min(), loads.iter().max());
        assert!(
            max.zip(min).is_some_and(|(max, min)| max - min <= 1_000_000),
            "balanced within the largest case: {loads:?}"
        );
        assert!(estimated_cost(&cases[0]) < estimated_cost(&by_id(&cases, "9.1.6")));
        let fresh: Vec<&ClientCopy> = plan
            .copies
            .iter()
            .filter(|c| c.cases.iter().any(needs_history))
            .collect();
        assert_eq!(fresh.len(), 1, "one case compares keys across connections");
        let last = fresh[0].cases.last().expect("not empty");
        assert!(needs_history(last), "{} comes last", last.id);
        assert!(fresh[0].cases.len() > 1, "after other connections of the copy");
        for copy in &plan.copies {
            let positions: Vec<usize> = copy
                .cases
                .iter()
                .filter(|c| !needs_history(c))
                .map(|c| plan.position(&c.id))
                .collect();
            assert!(positions.windows(2).all(|w| w[0] < w[1]), "selection order");
        }
        // The split is a function of the selection and N.
        let again = Plan::new(&cases, 4, "me");
        for (a, b) in plan.copies.iter().zip(&again.copies) {
            let ids = |c: &ClientCopy| c.cases.iter().map(|c| c.id.clone()).collect::<Vec<_>>();
            assert_eq!(ids(a), ids(b));
        }
        assert!(plan.position("1.1.1") < plan.position("9.1.1"));
    }

    fn by_id(cases: &[Case], id: &str) -> Case {
        cases
            .iter()
            .find(|c| c.id == id)
            .cloned()
            .expect("in the catalog")
    }
}
