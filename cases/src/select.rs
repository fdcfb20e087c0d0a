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

/// The cases of `all` chosen by `selection`, in the order of `all`. A literal
/// id that is not in the catalog, or a pattern that matches nothing, is an
/// error rather than a silently shorter run.
pub fn select(all: &[Case], selection: &Selection) -> Result<Vec<Case>, SelectError> {
    for pattern in selection.include.iter().chain(&selection.exclude) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
