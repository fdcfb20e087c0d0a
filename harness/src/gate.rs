//! The pass policy that turns verdicts into an exit code (design §3).
//!
//! Default: a case passes when `behavior` is OK, NON-STRICT, INFORMATIONAL or
//! UNIMPLEMENTED and `behaviorClose` is OK or INFORMATIONAL. `strict` also
//! fails NON-STRICT; `require_features` fails UNIMPLEMENTED.

use wsconform_cases::{Behavior, BehaviorClose};

use crate::verdict::Verdict;

/// A verdict name that is not one of Autobahn's. The message is serde's,
/// which lists the names the enum really has, so it cannot drift from them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnknownVerdict(String);

/// Reads a name through the verdict enum's own serde names: the set checked
/// against is the set the harness produces.
fn named<'a, T: serde::Deserialize<'a>>(name: &'a str) -> Result<T, UnknownVerdict> {
    use serde::de::value::{Error, StrDeserializer};
    T::deserialize(StrDeserializer::<Error>::new(name)).map_err(|e| UnknownVerdict(e.to_string()))
}

/// The `behavior` verdict called `name` (`"NON-STRICT"`), exactly as
/// Autobahn spells it.
pub fn behavior_named(name: &str) -> Result<Behavior, UnknownVerdict> {
    named(name)
}

/// The `behaviorClose` verdict called `name` (`"WRONG CODE"`).
pub fn behavior_close_named(name: &str) -> Result<BehaviorClose, UnknownVerdict> {
    named(name)
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Gate {
    pub strict: bool,
    pub require_features: bool,
}

impl Gate {
    pub fn passes(&self, v: &Verdict) -> bool {
        self.passes_pair(v.behavior, v.behavior_close)
    }

    /// Judges verdicts given by name (`"NON-STRICT"`, `"WRONG CODE"`), as a
    /// saved `results.json` holds them, so reports can be re-rendered from the
    /// file alone. A name this build does not know fails: a report from a
    /// newer wsconform must not pass a verdict nobody here can judge.
    pub fn passes_names(&self, behavior: &str, behavior_close: &str) -> bool {
        match (behavior_named(behavior), behavior_close_named(behavior_close)) {
            (Ok(b), Ok(c)) => self.passes_pair(b, c),
            _ => false,
        }
    }

    /// The rule itself, on the two verdicts (the matrix counts passes with
    /// it, so its counts never disagree with an exit code).
    pub fn passes_pair(&self, behavior: Behavior, behavior_close: BehaviorClose) -> bool {
        let behavior = match behavior {
            Behavior::Ok | Behavior::Informational => true,
            Behavior::NonStrict => !self.strict,
            Behavior::Unimplemented => !self.require_features,
            Behavior::Failed => false,
        };
        behavior && matches!(behavior_close, BehaviorClose::Ok | BehaviorClose::Informational)
    }

    pub fn describe(&self) -> String {
        let mut parts = vec!["OK, INFORMATIONAL"];
        if !self.strict {
            parts.push("NON-STRICT");
        }
        if !self.require_features {
            parts.push("UNIMPLEMENTED");
        }
        format!(
            "pass = behavior {} with close OK or INFORMATIONAL",
            parts.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(b: Behavior, c: BehaviorClose) -> Verdict {
        Verdict {
            behavior: b,
            behavior_close: c,
            result: String::new(),
            result_close: String::new(),
        }
    }

    #[test]
    fn policy() {
        let default = Gate::default();
        let strict = Gate {
            strict: true,
            ..Gate::default()
        };
        let features = Gate {
            require_features: true,
            ..Gate::default()
        };
        assert!(default.passes(&v(Behavior::NonStrict, BehaviorClose::Ok)));
        assert!(!strict.passes(&v(Behavior::NonStrict, BehaviorClose::Ok)));
        assert!(default.passes(&v(Behavior::Unimplemented, BehaviorClose::Ok)));
        assert!(!features.passes(&v(Behavior::Unimplemented, BehaviorClose::Ok)));
        assert!(!default.passes(&v(Behavior::Ok, BehaviorClose::WrongCode)));
        assert!(!default.passes(&v(Behavior::Failed, BehaviorClose::Ok)));
        assert!(default.passes(&v(Behavior::Informational, BehaviorClose::Informational)));
    }

    #[test]
    fn policy_by_name() {
        let strict = Gate {
            strict: true,
            ..Gate::default()
        };
        assert!(Gate::default().passes_names("NON-STRICT", "INFORMATIONAL"));
        assert!(!strict.passes_names("NON-STRICT", "OK"));
        assert!(!Gate::default().passes_names("OK", "WRONG CODE"));
        assert!(!Gate::default().passes_names("FAILED", "OK"));
        assert!(!Gate::default().passes_names("OK", "?"));
        assert!(!Gate::default().passes_names("ok", "OK"));
    }

    #[test]
    fn names_are_the_enums_own() {
        assert_eq!(behavior_named("NON-STRICT"), Ok(Behavior::NonStrict));
        assert_eq!(
            behavior_close_named("FAILED BY CLIENT"),
            Ok(BehaviorClose::FailedByClient)
        );
        let why = behavior_named("BOGUS").expect_err("not a verdict").to_string();
        assert!(why.contains("BOGUS") && why.contains("UNIMPLEMENTED"), "{why}");
        assert!(
            behavior_close_named("NON-STRICT").is_err(),
            "a behavior, not a close verdict"
        );
    }
}
