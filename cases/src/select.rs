//! Choosing cases by pattern, with Autobahn's semantics so that existing
//! spec files select the same cases: a pattern with `*` matches at the
//! *start* of the id only (`*` is any text, `.` is literal: `1.*` does not
//! catch `10.1.1`, `1*` does); a pattern without `*` is an exact id.

use crate::model::Case;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    #[error("unknown case id {0:?} (see `wsconform list`)")]
    UnknownId(String),
    #[error("pattern {0:?} matches no case")]
    NoMatch(String),
}

/// Patterns to include (empty = all) and to exclude.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

/// Does `pattern` select `id`?
pub fn matches(pattern: &str, id: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == id;
    }
    // Start-anchored glob: each `*`-separated piece must appear in order,
    // the first one at the very start; the end is not anchored.
    let mut pieces = pattern.split('*');
    let first = pieces.next().unwrap_or("");
    let Some(mut rest) = id.strip_prefix(first) else {
        return false;
    };
    for piece in pieces {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    true
}

/// The cases of `all` chosen by `selection`, in the order of `all`. An
/// included literal id that is not in the catalog, or an included pattern
/// that matches nothing, is an error rather than a silently shorter run.
/// Exclusions may match nothing (specs written for Autobahn exclude 12.*
/// and 13.*, which wsconform does not have yet).
pub fn select(all: &[Case], selection: &Selection) -> Result<Vec<Case>, SelectError> {
    for pattern in &selection.include {
        if !all.iter().any(|c| matches(pattern, &c.id)) {
            return Err(if pattern.contains('*') {
                SelectError::NoMatch(pattern.clone())
            } else {
                SelectError::UnknownId(pattern.clone())
            });
        }
    }
    Ok(all
        .iter()
        .filter(|c| selection.include.is_empty() || selection.include.iter().any(|p| matches(p, &c.id)))
        .filter(|c| !selection.exclude.iter().any(|p| matches(p, &c.id)))
        .cloned()
        .collect())
}

/// One part of a run split across CI jobs: shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;

    /// `I/N` with 1 ≤ I ≤ N.
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("shard {s:?} is not I/N with 1 <= I <= N");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// This shard's cases: every `count`-th of the selection, starting at
    /// `index`. Deterministic, and it spreads each category (and its slow
    /// cases) over all shards.
    pub fn take(&self, cases: Vec<Case>) -> Vec<Case> {
        cases
            .into_iter()
            .enumerate()
            .filter(|(n, _)| n % self.count == self.index - 1)
            .map(|(_, c)| c)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_selection() {
        let all = crate::catalog();
        let parts: Vec<Vec<Case>> = (1..=3)
            .map(|i| Shard { index: i, count: 3 }.take(all.clone()))
            .collect();
        assert_eq!(parts.iter().map(Vec::len).sum::<usize>(), all.len());
        let mut ids: Vec<String> = parts.iter().flatten().map(|c| c.id.clone()).collect();
        ids.sort();
        let mut want: Vec<String> = all.iter().map(|c| c.id.clone()).collect();
        want.sort();
        assert_eq!(ids, want);
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard { index: 2, count: 3 }));
        assert!("0/3".parse::<Shard>().is_err());
        assert!("4/3".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
    }

    #[test]
    fn autobahn_pattern_semantics() {
        assert!(matches("1.*", "1.1.1"));
        assert!(!matches("1.*", "10.1.1"));
        assert!(matches("1*", "10.1.1"));
        assert!(matches("*1", "6.21.3"));
        assert!(matches("6.4.*", "6.4.1"));
        assert!(matches("9.1.1", "9.1.1"));
        assert!(!matches("9.1", "9.1.1"));
        assert!(matches("*", "7.13.2"));
    }
}
