//! Checks of single values from the command line, each turning raw text into
//! a typed value or a typed error that names the flag, the bound and what
//! was given. The bounds are here, with the reasons for them, so `--help`,
//! the README and the input sweep test can all point at one place.

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::Path;

use wsconform::report::agent_prefix;
use wsconform::transport::{Target, TargetError};
use wsconform_cases::Shard;

/// Most cases run at once (`--jobs`). Each running case holds a connection
/// and what it keeps about the peer; beyond a few dozen the run measures the
/// machine rather than the peer, and the harness's memory bound (issue 11:
/// peak RSS under 64 MiB) no longer holds.
pub const MAX_JOBS: usize = 64;

/// Smallest `--timeout-scale`: below it every timer is a few milliseconds,
/// shorter than a loopback round trip under load, and every case would fail
/// for the harness's impatience, not the peer's fault.
pub const MIN_TIMEOUT_SCALE: f64 = 0.01;

/// Largest `--timeout-scale`: a debugger session's worth (a 5 s handshake
/// timer becomes 83 minutes). With the spec's timers bounded by
/// [`wsconform::spec::MAX_TIMEOUT`], the longest deadline of a whole run,
/// summed over every case, stays under a century: a billion times below
/// what `Duration` and `Instant` can hold, so no timer arithmetic can
/// overflow (`--timeout-scale 1e300` used to panic in `Duration::mul_f64`).
pub const MAX_TIMEOUT_SCALE: f64 = 1000.0;

/// Longest agent name: the fuzzing server's limit for names from the
/// network, so a `--agent` name and a client's own name are kept alike.
pub use wsconform::testing::client::MAX_AGENT_CHARS;

/// One bad value: what it was given as, and why it is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("{what} is not valid UTF-8: {shown}")]
    NotUtf8 { what: String, shown: String },
    #[error("--jobs must be a whole number from 1 to {MAX_JOBS}, got {0:?}")]
    Jobs(String),
    #[error("--timeout-scale must be a number from {MIN_TIMEOUT_SCALE} to {MAX_TIMEOUT_SCALE}, got {0:?}")]
    TimeoutScale(String),
    #[error("--shard must be I/N with 1 <= I <= N (e.g. 2/4), got {0:?}")]
    Shard(String),
    #[error("{0}")]
    Url(TargetError),
    #[error("port 0 in {0:?}: a server's port is from 1 to 65535")]
    PortZero(String),
    #[error(
        "{what} must be an IP address and port such as 127.0.0.1:9001 (port 0: any free port), got {got:?}"
    )]
    Listen { what: String, got: String },
    #[error("{what} {got:?} {why}")]
    Agent {
        what: String,
        got: String,
        why: &'static str,
    },
    #[error("{what} must be {why}, got {got:?}")]
    Number {
        what: &'static str,
        why: &'static str,
        got: String,
    },
    #[error("{what} {path}: {why}")]
    OutputFile {
        what: &'static str,
        path: String,
        why: String,
    },
}

/// `raw` as text; `what` names it in the error.
pub fn utf8<'a>(what: &str, raw: &'a OsStr) -> Result<&'a str, InputError> {
    raw.to_str().ok_or_else(|| InputError::NotUtf8 {
        what: what.to_string(),
        shown: format!("{raw:?}"),
    })
}

/// `--jobs N`, 1 ≤ N ≤ [`MAX_JOBS`].
pub fn jobs(raw: &OsStr) -> Result<usize, InputError> {
    let text = utf8("--jobs", raw)?;
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_JOBS).contains(&n) => Ok(n),
        _ => Err(InputError::Jobs(text.to_string())),
    }
}

/// `--timeout-scale F`, [`MIN_TIMEOUT_SCALE`] ≤ F ≤ [`MAX_TIMEOUT_SCALE`]
/// (so never NaN, infinite, zero or negative).
pub fn timeout_scale(raw: &OsStr) -> Result<f64, InputError> {
    let text = utf8("--timeout-scale", raw)?;
    match text.trim().parse::<f64>() {
        Ok(f) if (MIN_TIMEOUT_SCALE..=MAX_TIMEOUT_SCALE).contains(&f) => Ok(f),
        _ => Err(InputError::TimeoutScale(text.to_string())),
    }
}

/// A whole number from `min` up (`--seed`, `--iterations`); `0x` hex too.
pub fn whole(what: &'static str, raw: &OsStr, min: u64) -> Result<u64, InputError> {
    let text = utf8(what, raw)?.trim();
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse::<u64>().ok(),
    };
    parsed.filter(|n| *n >= min).ok_or_else(|| InputError::Number {
        what,
        why: if min == 0 {
            "a whole number (decimal or 0x hex) below 2^64"
        } else {
            "a whole number of at least 1"
        },
        got: text.to_string(),
    })
}

/// `--duration`: seconds, or a number with `s`, `m` or `h`; 1 s to 30 days.
pub fn duration(what: &'static str, raw: &OsStr) -> Result<std::time::Duration, InputError> {
    let text = utf8(what, raw)?.trim();
    let (number, unit) = match text.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => text.split_at(i),
        None => (text, "s"),
    };
    let factor = match unit {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => 0.0,
    };
    match number.trim().parse::<f64>() {
        Ok(n) if factor > 0.0 && (1.0..=30.0 * 86400.0).contains(&(n * factor)) => {
            Ok(std::time::Duration::from_secs_f64(n * factor))
        }
        _ => Err(InputError::Number {
            what,
            why: "a duration from 1 s to 30 days, such as 60, 90s, 10m or 1h",
            got: text.to_string(),
        }),
    }
}

/// `--shard I/N`.
pub fn shard(raw: &OsStr) -> Result<Shard, InputError> {
    let text = utf8("--shard", raw)?;
    text.parse().map_err(|_| InputError::Shard(text.to_string()))
}

/// A URL the harness connects to: `ws://` or `wss://`, a host, and a port
/// from 1 to 65535 when one is given (80 or 443 otherwise). Port 0 parses
/// (a listening URL may ask for any free port) but cannot be connected to.
pub fn connect_url(url: &str) -> Result<Target, InputError> {
    let target = Target::parse(url).map_err(InputError::Url)?;
    if target.port == 0 {
        return Err(InputError::PortZero(url.to_string()));
    }
    Ok(target)
}

/// [`connect_url`] for a URL given on the command line (`what` names it
/// when it is not UTF-8).
pub fn connect_url_arg(what: &str, raw: &OsStr) -> Result<String, InputError> {
    let url = utf8(what, raw)?;
    connect_url(url)?;
    Ok(url.to_string())
}

/// An address to listen on, `IP:PORT`; port 0 asks the system for any free
/// port (the URL clients must use is printed).
pub fn listen(what: &str, raw: &OsStr) -> Result<SocketAddr, InputError> {
    let text = utf8(what, raw)?;
    text.trim().parse().map_err(|_| InputError::Listen {
        what: what.to_string(),
        got: text.to_string(),
    })
}

/// An agent name (`--agent`, a spec's `servers[].agent`): it names the
/// report files and appears in every summary, so it must be short, printable
/// and give a non-empty file-name prefix.
pub fn agent(what: &str, name: &str) -> Result<String, InputError> {
    let bad = |why| InputError::Agent {
        what: what.to_string(),
        got: name.chars().take(MAX_AGENT_CHARS).collect(),
        why,
    };
    if name.chars().count() > MAX_AGENT_CHARS {
        return Err(bad("is longer than 64 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(bad("contains a control character"));
    }
    if agent_prefix(name).is_empty() {
        return Err(bad("has no letter or digit (report files are named after them)"));
    }
    Ok(name.to_string())
}

/// [`agent`] for a name given on the command line.
pub fn agent_arg(what: &str, raw: &OsStr) -> Result<String, InputError> {
    agent(what, utf8(what, raw)?)
}

/// A file the run writes at its end (`--junit`, `--summary`,
/// `--update-expect`): checked now, so a typo does not cost a whole run.
/// The writer creates missing folders, so the nearest existing ancestor must
/// be a folder, and the path itself must not be one.
pub fn output_file(what: &'static str, path: &Path) -> Result<(), InputError> {
    let bad = |why: String| InputError::OutputFile {
        what,
        path: path.display().to_string(),
        why,
    };
    if path.is_dir() {
        return Err(bad("is a directory".into()));
    }
    let existing = path
        .ancestors()
        .skip(1)
        .filter(|a| !a.as_os_str().is_empty())
        .find(|a| a.symlink_metadata().is_ok());
    match existing {
        Some(dir) if !dir.is_dir() => Err(bad(format!("{} is not a directory", dir.display()))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStrExt as _;

    fn os(s: &str) -> OsString {
        OsString::from(s)
    }

    #[test]
    fn numbers_are_bounded() {
        assert_eq!(jobs(&os("8")), Ok(8));
        assert_eq!(jobs(&os("64")), Ok(64));
        for bad in [
            "0",
            "-1",
            "65",
            "1e300",
            "NaN",
            "inf",
            "99999999999999999999999",
            "",
        ] {
            assert_eq!(jobs(&os(bad)), Err(InputError::Jobs(bad.into())), "{bad}");
        }
        assert_eq!(timeout_scale(&os("1")), Ok(1.0));
        assert_eq!(timeout_scale(&os("1000")), Ok(1000.0));
        assert_eq!(timeout_scale(&os("0.01")), Ok(0.01));
        for bad in ["0", "-1", "1e300", "NaN", "inf", "-inf", "1000.5", "0.001", "x"] {
            assert!(timeout_scale(&os(bad)).is_err(), "{bad}");
        }
        assert_eq!(shard(&os("2/4")), Ok(Shard { index: 2, count: 4 }));
        for bad in [
            "0/4",
            "5/4",
            "-1/4",
            "1/0",
            "1e300/2",
            "1/99999999999999999999999",
        ] {
            assert!(shard(&os(bad)).is_err(), "{bad}");
        }
        let not_utf8 = OsStr::from_bytes(b"8\xff");
        assert_eq!(
            jobs(not_utf8).expect_err("not UTF-8").to_string(),
            "--jobs is not valid UTF-8: \"8\\xFF\""
        );
    }

    /// The bounds' promise: with the largest scale and the longest spec
    /// timers, the longest deadline of a whole run (every case's deadline
    /// summed, as the client role's run limit does) is computed and added to
    /// now without overflow.
    #[test]
    fn the_bounds_keep_timer_arithmetic_finite() {
        use wsconform::engine::EngineConfig;
        use wsconform::spec::MAX_TIMEOUT;
        let mut engine = EngineConfig::new(wsconform_wire::Role::Client);
        engine.timeout_scale = MAX_TIMEOUT_SCALE;
        engine.close_handshake_timeout = Some(MAX_TIMEOUT);
        engine.server_drop_timeout = Some(MAX_TIMEOUT);
        let whole_run = wsconform_cases::catalog()
            .iter()
            .map(|c| engine.deadline_for(c) + std::time::Duration::from_secs(1))
            .try_fold(std::time::Duration::ZERO, |sum, d| sum.checked_add(d))
            .expect("the sum fits");
        assert!(std::time::Instant::now().checked_add(whole_run).is_some());
        let probe = MAX_TIMEOUT.checked_mul(MAX_TIMEOUT_SCALE as u32).expect("fits");
        assert!(std::time::Instant::now().checked_add(probe).is_some());
        assert!(
            whole_run < std::time::Duration::from_secs(1 << 40),
            "{whole_run:?}"
        );
    }

    #[test]
    fn urls_need_a_scheme_host_and_port() {
        assert_eq!(connect_url("ws://127.0.0.1:9001/x").expect("valid").port, 9001);
        assert_eq!(connect_url("wss://h").expect("valid").port, 443);
        for bad in [
            "ws://127.0.0.1:0/",
            "ws://127.0.0.1:99999/",
            "ws://127.0.0.1:65536/",
            "ws://127.0.0.1:-1/",
            "ws://:9001/",
            "ws://",
            "http://127.0.0.1:9001/",
            "127.0.0.1:9001",
        ] {
            assert!(connect_url(bad).is_err(), "{bad}");
        }
        assert!(connect_url("ws://127.0.0.1:99999/")
            .expect_err("too big")
            .to_string()
            .contains("99999"));
    }

    #[test]
    fn listen_addresses_and_agents() {
        assert_eq!(
            listen("--listen", &os("127.0.0.1:0")).expect("any port").port(),
            0
        );
        assert_eq!(listen("--listen", &os("[::1]:9001")).expect("v6").port(), 9001);
        for bad in ["127.0.0.1:99999", "localhost:9001", "127.0.0.1", ""] {
            assert!(listen("--listen", &os(bad)).is_err(), "{bad}");
        }
        assert_eq!(
            agent("--agent", "py-websockets 17.4"),
            Ok("py-websockets 17.4".into())
        );
        for bad in ["", "---", "a\nb", &"x".repeat(65)] {
            assert!(agent("--agent", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn output_files_must_be_writable_paths() {
        let dir = std::env::temp_dir().join(format!("wsconform-validate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let file = dir.join("f");
        std::fs::write(&file, b"").expect("writes");
        assert!(output_file("--junit", &dir.join("new/sub/j.xml")).is_ok());
        assert!(
            output_file("--junit", &file).is_ok(),
            "an existing file is replaced"
        );
        assert!(output_file("--junit", &dir).is_err());
        let under_file = output_file("--junit", &file.join("j.xml")).expect_err("under a file");
        assert!(
            under_file.to_string().ends_with("f is not a directory"),
            "{under_file}"
        );
        std::fs::remove_dir_all(dir).expect("cleans");
    }
}
