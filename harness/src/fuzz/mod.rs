//! Fuzzing the implementation under test (`wsconform fuzz`): scripts of
//! frames generated at random from the whole space the `wire` encoder can
//! write ([`generate`]), run over a real connection by the same engine as
//! the catalog, judged by an RFC oracle ([`oracle`]); each finding is
//! shrunk ([`minimize`]) and saved as a case in the catalog's own format
//! ([`casefile`]), so it replays and gates CI like any catalog case.
//! [`campaign`] runs the whole loop.

pub mod campaign;
pub mod casefile;
pub mod clients;
pub mod minimize;
pub mod oracle;

pub use wsconform_oracle::generate;
pub use wsconform_oracle::{Finding, FindingClass};

/// The knobs' command-line names, for saying which peer was fuzzed.
pub(crate) fn knob_names(knobs: &crate::reference::Knobs) -> Vec<String> {
    knobs
        .0
        .iter()
        .filter_map(|k| serde_json::to_value(k).ok())
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}
