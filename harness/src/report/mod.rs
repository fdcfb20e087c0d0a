//! Report writers. Every file is written atomically (a temporary file in the
//! same directory, then a rename), so an interrupted run never leaves a
//! half-written report behind.

pub mod autobahn;
pub mod html;
pub mod junit;
pub mod markdown;
pub mod matrix;
pub mod results;
pub mod summary;
pub mod view;

use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sha1::{Digest as _, Sha1};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("JSON error in {0}: {1}")]
    Json(String, serde_json::Error),
}

/// Temporary files made so far, so that each has its own short name
/// whatever the length of the report's name.
static TEMP_FILES: AtomicU64 = AtomicU64::new(0);

/// Writes `path` atomically: `fill` writes into a buffered temporary file in
/// the same folder, which is then synced and renamed over `path`. Reports are
/// streamed into the file this way rather than built in memory first, so a
/// large report costs a buffer, not its size. On any error the temporary file
/// is removed and `path` is left as it was.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> Result<(), ReportError>,
) -> Result<(), ReportError> {
    let io = |source| ReportError::Io {
        path: path.display().to_string(),
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    let n = TEMP_FILES.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".wsconform.{}.{n}.tmp", std::process::id()));
    let written = (|| {
        let mut file = BufWriter::new(File::create(&tmp).map_err(io)?);
        fill(&mut file)?;
        let file = file.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    write_atomic_with(path, |w| {
        w.write_all(bytes).map_err(|source| ReportError::Io {
            path: path.display().to_string(),
            source,
        })
    })
}

/// Writes `value` to `path` atomically as pretty JSON with Autobahn's 3-space
/// indent, streamed into the file (see [`write_atomic_with`]).
pub fn write_json_atomic<T: serde::Serialize>(path: &Path, what: &str, value: &T) -> Result<(), ReportError> {
    write_atomic_with(path, |w| {
        write_json(&mut *w, value).map_err(|e| ReportError::Json(what.into(), e))?;
        w.write_all(b"\n").map_err(|source| ReportError::Io {
            path: path.display().to_string(),
            source,
        })
    })
}

/// `value` as pretty JSON with Autobahn's 3-space indent, into `out`.
fn write_json<W: std::io::Write, T: serde::Serialize>(out: W, value: &T) -> Result<(), serde_json::Error> {
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"   ");
    let mut ser = serde_json::Serializer::with_formatter(out, fmt);
    value.serialize(&mut ser)
}

/// Serializes `value` as pretty JSON with Autobahn's 3-space indent (for
/// small documents; reports are streamed with [`write_json_atomic`]).
pub fn to_json<T: serde::Serialize>(what: &str, value: &T) -> Result<Vec<u8>, ReportError> {
    let mut out = Vec::new();
    write_json(&mut out, value).map_err(|e| ReportError::Json(what.into(), e))?;
    out.push(b'\n');
    Ok(out)
}

/// Reads a `results.json` document (for re-rendering, merging, diffing).
pub fn read_results(path: &Path) -> Result<serde_json::Value, ReportError> {
    let io = |source| ReportError::Io {
        path: path.display().to_string(),
        source,
    };
    // Parsed from the file as it is read: no copy of the whole text.
    let file = std::io::BufReader::new(File::open(path).map_err(io)?);
    serde_json::from_reader(file).map_err(|e| ReportError::Json(path.display().to_string(), e))
}

/// ISO 8601 UTC with milliseconds, as Autobahn writes `started`.
pub fn iso8601(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (H. Hinnant's algorithm), for dates after 1970.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// Autobahn's report file prefix for an agent: lower case, every character
/// outside `a-z0-9` replaced by `_`, leading and trailing `_` dropped.
pub fn agent_prefix(agent: &str) -> String {
    let mapped: String = agent
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '_'
            }
        })
        .collect();
    mapped.trim_matches('_').to_string()
}

/// Longest agent part of a report file name, in bytes: with `_case_`, the
/// case id and `.json` the name stays far below the 255 bytes file systems
/// allow, whatever the agent sent.
pub const MAX_PREFIX_BYTES: usize = 48;

/// Hex digits of the agent name's SHA-1 in a shortened prefix: enough that
/// distinct names do not meet by chance.
const HASH_HEX: usize = 12;

/// The report file prefix of each of a run's agents, in the same order.
///
/// Agent names come from the network when testing clients
/// (`/runCase?agent=…`), so they are untrusted: any length, any characters,
/// and names that [`agent_prefix`] maps to the same prefix. Each agent gets
/// Autobahn's prefix when it is non-empty, at most [`MAX_PREFIX_BYTES`] long
/// and no other agent of the run has it (the usual case, where the files are
/// named exactly as Autobahn names them); otherwise a readable cut of it,
/// `_`, and a hash of the whole name. Distinct agents always get distinct
/// prefixes (a `_2`, `_3`… settles what the hash cannot), and a prefix only
/// ever holds `a-z`, `0-9` and `_`, so no file lands outside the report
/// folder.
pub fn report_prefixes<S: AsRef<str>>(agents: &[S]) -> Vec<String> {
    let plain: Vec<String> = agents.iter().map(|a| agent_prefix(a.as_ref())).collect();
    let mut used = std::collections::BTreeSet::new();
    agents
        .iter()
        .zip(&plain)
        .map(|(agent, p)| {
            let shared = plain.iter().filter(|q| *q == p).count() > 1;
            let mut name = if p.is_empty() || p.len() > MAX_PREFIX_BYTES || shared {
                hashed_prefix(agent.as_ref(), p)
            } else {
                p.clone()
            };
            let base = name.clone();
            for n in 2.. {
                if used.insert(name.clone()) {
                    break;
                }
                name = format!("{base}_{n}");
            }
            name
        })
        .collect()
}

/// The first hex digits of the SHA-1 of `name`: a short mark that tells
/// apart names that had to be cut or changed.
pub fn name_hash(name: &str) -> String {
    hex::encode(&Sha1::digest(name.as_bytes())[..HASH_HEX / 2])
}

/// `plain` (Autobahn's prefix of `agent`) cut, then `_` and the start of the
/// SHA-1 of the whole name; `agent_…` when nothing readable is left.
fn hashed_prefix(agent: &str, plain: &str) -> String {
    let hash = name_hash(agent);
    // `plain` is ASCII: any byte index is a character boundary.
    let cut = plain[..plain.len().min(MAX_PREFIX_BYTES - 1 - HASH_HEX)].trim_end_matches('_');
    if cut.is_empty() {
        format!("agent_{hash}")
    } else {
        format!("{cut}_{hash}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn iso_dates() {
        assert_eq!(iso8601(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_795_633_235_033);
        assert_eq!(iso8601(t), "2026-11-25T19:00:35.033Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(iso8601(leap), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn agent_prefixes() {
        assert_eq!(agent_prefix("py-websockets"), "py_websockets");
        assert_eq!(agent_prefix("-Node WS 8.x-"), "node_ws_8_x");
    }

    #[test]
    fn report_prefixes_are_bounded_distinct_and_plain() {
        let long_a = format!("{}a", "L".repeat(299));
        let long_b = format!("{}b", "L".repeat(299));
        let agents = [
            "py-websockets",
            long_a.as_str(),
            long_b.as_str(),
            "../../x",
            "x",
            "💥\n",
            "\u{1b}[31mred",
            "a b",
            "a-b",
        ];
        let prefixes = report_prefixes(&agents);
        assert_eq!(prefixes[0], "py_websockets", "Autobahn's name when it is safe");
        let distinct: std::collections::BTreeSet<&String> = prefixes.iter().collect();
        assert_eq!(distinct.len(), agents.len(), "{prefixes:?}");
        for p in &prefixes {
            assert!(!p.is_empty() && p.len() <= MAX_PREFIX_BYTES, "{p}");
            assert!(
                p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{p}"
            );
        }
        assert!(prefixes[1].starts_with("llllllllll"), "readable: {}", prefixes[1]);
        assert!(prefixes[5].starts_with("agent_"), "{}", prefixes[5]);
        // The same agents give the same names in every run.
        assert_eq!(report_prefixes(&agents), prefixes);
        // A name made to look like another's hashed prefix still gets its own.
        let lookalike = [prefixes[3].as_str(), "../../x", "x"];
        let again = report_prefixes(&lookalike);
        let distinct: std::collections::BTreeSet<&String> = again.iter().collect();
        assert_eq!(distinct.len(), 3, "{again:?}");
    }

    #[test]
    fn atomic_write_replaces() {
        let dir = std::env::temp_dir().join(format!("wsconform-atomic-{}", std::process::id()));
        let path = dir.join("a.json");
        write_atomic(&path, b"1").expect("writes");
        write_atomic(&path, b"2").expect("writes");
        assert_eq!(std::fs::read(&path).expect("reads"), b"2");
        let leftovers = std::fs::read_dir(&dir).expect("lists").count();
        assert_eq!(leftovers, 1);
        std::fs::remove_dir_all(dir).expect("cleans");
    }
}
