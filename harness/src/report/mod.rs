//! Report writers. Every file is written atomically (a temporary file in the
//! same directory, then a rename), so an interrupted run never leaves a
//! half-written report behind.

pub mod autobahn;
pub mod html;
pub mod junit;
pub mod markdown;
pub mod results;
pub mod summary;
pub mod view;

use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

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
