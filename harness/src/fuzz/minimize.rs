//! Shrinking a finding's script to the smallest one that still gives the
//! same class of finding: drop steps, merge chops into whole writes, drop
//! pauses, shorten payloads and reasons, clear what does not matter (RSV
//! bits, odd masks). Each candidate runs against the peer again; a
//! candidate is kept only if the oracle reports the same class.

use std::future::Future;

use wsconform_cases::{FrameSpec, Masking, Payload, Step, Write};

use super::FindingClass;

/// How many candidates one minimization may run at most.
pub const MAX_TRIES: usize = 300;

/// What minimization did.
#[derive(Debug, Clone)]
pub struct Minimized {
    pub steps: Vec<Step>,
    pub tries: usize,
}

/// Shrinks `steps` while `still(candidate)` gives `class`.
pub async fn minimize<F, Fut>(steps: Vec<Step>, class: FindingClass, mut still: F) -> Minimized
where
    F: FnMut(Vec<Step>) -> Fut,
    Fut: Future<Output = Option<FindingClass>>,
{
    let mut best = steps;
    let mut tries = 0;
    loop {
        let mut improved = false;
        for candidate in candidates(&best) {
            if tries >= MAX_TRIES {
                return Minimized { steps: best, tries };
            }
            if size(&candidate) >= size(&best) {
                continue;
            }
            tries += 1;
            if still(candidate.clone()).await == Some(class) {
                best = candidate;
                improved = true;
                break;
            }
        }
        if !improved {
            return Minimized { steps: best, tries };
        }
    }
}

/// An order on scripts: fewer steps, then fewer payload bytes, then fewer
/// chopped writes and odd bits.
fn size(steps: &[Step]) -> (usize, u64, usize) {
    let bytes = steps
        .iter()
        .map(|s| match s {
            Step::Frame { frame, .. } => frame.payload.len,
            Step::Close { reason, .. } => reason.len,
            _ => 0,
        })
        .sum();
    let odd = steps
        .iter()
        .map(|s| match s {
            Step::Frame { frame, write } => {
                usize::from(*write != Write::Whole)
                    + usize::from(frame.rsv != 0)
                    + usize::from(frame.masking != Masking::FollowRole)
            }
            _ => 0,
        })
        .sum();
    (steps.len(), bytes, odd)
}

/// Smaller scripts derived from `steps`, the biggest cuts first.
fn candidates(steps: &[Step]) -> Vec<Vec<Step>> {
    let mut out = Vec::new();
    // Halves, then single steps.
    let n = steps.len();
    if n > 2 {
        out.push(steps[n / 2..].to_vec());
        out.push(steps[..n / 2].to_vec());
    }
    for i in 0..n {
        let mut c = steps.to_vec();
        c.remove(i);
        if !c.is_empty() {
            out.push(c);
        }
    }
    for (i, step) in steps.iter().enumerate() {
        for smaller in shrink_step(step) {
            let mut c = steps.to_vec();
            c[i] = smaller;
            out.push(c);
        }
    }
    out
}

fn shrink_step(step: &Step) -> Vec<Step> {
    match step {
        Step::Frame { frame, write } => {
            let mut out = Vec::new();
            if *write != Write::Whole {
                out.push(Step::Frame {
                    frame: frame.clone(),
                    write: Write::Whole,
                });
            }
            for f in shrink_frame(frame) {
                out.push(Step::Frame {
                    frame: f,
                    write: *write,
                });
            }
            out
        }
        Step::Close { code, reason } if reason.len > 0 => [0, reason.len / 2, reason.len - 1]
            .into_iter()
            .map(|len| Step::Close {
                code: *code,
                reason: shorter(reason, len),
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn shrink_frame(frame: &FrameSpec) -> Vec<FrameSpec> {
    let mut out = Vec::new();
    let len = frame.payload.len;
    if len > 0 {
        let mut lens = vec![0, len / 2, len - 1];
        // Keep the end too: a broken code point is often there.
        lens.dedup();
        for l in lens {
            out.push(FrameSpec {
                payload: shorter(&frame.payload, l),
                ..frame.clone()
            });
            out.push(FrameSpec {
                payload: frame.payload.window(len - l, len),
                ..frame.clone()
            });
        }
    }
    if frame.rsv != 0 {
        out.push(frame.clone().rsv(0));
    }
    if frame.masking != Masking::FollowRole {
        out.push(frame.clone().masking(Masking::FollowRole));
    }
    out
}

fn shorter(p: &Payload, len: u64) -> Payload {
    Payload::bytes(p.slice(0, len))
}
