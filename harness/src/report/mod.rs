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

use std::io::Write as _;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("JSON error in {0}: {1}")]
    Json(String, serde_json::Error),
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let io = |source| ReportError::Io {
        path: path.display().to_string(),
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut file = std::fs::File::create(&tmp).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Serializes `value` as pretty JSON with Autobahn's 3-space indent.
pub fn to_json<T: serde::Serialize>(what: &str, value: &T) -> Result<Vec<u8>, ReportError> {
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"   ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    value
        .serialize(&mut ser)
        .map_err(|e| ReportError::Json(what.into(), e))?;
    out.push(b'\n');
    Ok(out)
}

/// Reads a `results.json` document (for re-rendering, merging, diffing).
pub fn read_results(path: &Path) -> Result<serde_json::Value, ReportError> {
    let io = |source| ReportError::Io {
        path: path.display().to_string(),
        source,
    };
    let text = std::fs::read_to_string(path).map_err(io)?;
    serde_json::from_str(&text).map_err(|e| ReportError::Json(path.display().to_string(), e))
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
