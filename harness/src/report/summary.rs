//! The terminal summary at the end of a run: counts per verdict and every
//! case that did not pass, with what was expected next to what happened.

use std::fmt::Write as _;

use wsconform_cases::{Behavior, BehaviorClose};

use super::results::Counts;
use crate::gate::Gate;
use crate::record::Observed;
use crate::runner::CaseResult;

fn describe(o: &Observed) -> String {
    let shown = |head: &[u8], len: u64| {
        let cut = &head[..head.len().min(40)];
        let text = match std::str::from_utf8(cut) {
            Ok(t) => format!("{t:?}"),
            Err(_) => format!("0x{}", hex::encode(cut)),
        };
        if len > cut.len() as u64 {
            format!("{text}… ({len} bytes)")
        } else {
            text
        }
    };
    match o {
        Observed::Message { binary, payload } => {
            format!(
                "{} {}",
                if *binary { "binary" } else { "text" },
                shown(&payload.head, payload.len)
            )
        }
        Observed::Pong { payload } => format!("pong {}", shown(&payload.head, payload.len)),
        Observed::Timeout { tag } => format!("timeout {tag}"),
    }
}

/// The summary text for `results` under `gate`.
pub fn render(agent: &str, results: &[CaseResult], gate: &Gate) -> String {
    let counts = Counts::of(results);
    let mut out = String::new();
    let list = |m: &std::collections::BTreeMap<&str, usize>| {
        m.iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(" · ")
    };
    let _ = writeln!(out, "{agent}: {} cases", results.len());
    let _ = writeln!(out, "  behavior:      {}", list(&counts.behavior));
    let _ = writeln!(out, "  behaviorClose: {}", list(&counts.behavior_close));
    let failing: Vec<&CaseResult> = results.iter().filter(|r| !gate.passes(&r.verdict)).collect();
    if failing.is_empty() {
        let _ = writeln!(out, "  all cases pass ({})", gate.describe());
        return out;
    }
    let _ = writeln!(out, "  {} case(s) fail ({}):", failing.len(), gate.describe());
    for r in failing {
        let v = &r.verdict;
        let _ = writeln!(
            out,
            "  ✗ {} [{} / {}] {}",
            r.case.id,
            v.behavior.as_str(),
            v.behavior_close.as_str(),
            r.case.rfc.section
        );
        if v.behavior != Behavior::Ok {
            let received: Vec<String> = r.outcome.received.iter().map(describe).collect();
            let _ = writeln!(out, "      {} received: [{}]", v.result, received.join(", "));
        }
        if v.behavior_close != BehaviorClose::Ok {
            let code = r.outcome.remote_close.as_ref().and_then(|c| c.code);
            let _ = writeln!(
                out,
                "      {}; expected close codes {:?}, peer sent {}",
                v.result_close,
                r.case.expected_close.close_codes,
                code.map_or("none".into(), |c| c.0.to_string())
            );
        }
    }
    out
}
