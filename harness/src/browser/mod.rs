//! Browsers as clients under test (`wsconform client --browser`): find the
//! browser, learn its version (it names the agent), and run it headless on
//! the fuzzing server's driver page (`testing::browser_page`) with a fresh
//! profile in a temporary folder, which is removed when the browser is
//! stopped; over `wss://` the browser is told to accept the run's
//! certificate ([`TlsException`]). The run's deadline bounds the browser's life
//! (`session::run_clients`); dropping a [`Launched`] kills it.
//!
//! What a browser's verdicts say (and do not say) about it is in [`notes`].

pub mod notes;

use std::fmt;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A browser wsconform can start headless.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Browser {
    Chromium,
    Firefox,
}

impl Browser {
    /// The product name, as agents are named.
    pub fn name(self) -> &'static str {
        match self {
            Browser::Chromium => "Chromium",
            Browser::Firefox => "Firefox",
        }
    }

    /// Programs to look for on `PATH`, in order (Debian's names first).
    fn programs(self) -> &'static [&'static str] {
        match self {
            Browser::Chromium => &[
                "chromium",
                "chromium-browser",
                "google-chrome",
                "google-chrome-stable",
            ],
            Browser::Firefox => &["firefox-esr", "firefox"],
        }
    }

    /// What to install when none is found (Debian package names).
    fn install_hint(self) -> &'static str {
        match self {
            Browser::Chromium => "apt-get install chromium",
            Browser::Firefox => "apt-get install firefox-esr",
        }
    }

    /// Finds the browser on `PATH` and asks it for its version.
    pub fn locate(self) -> Result<Installed, BrowserError> {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let program = self
            .programs()
            .iter()
            .flat_map(|p| std::env::split_paths(&path).map(move |dir| dir.join(p)))
            .find(|candidate| is_executable(candidate))
            .ok_or(BrowserError::NotInstalled {
                browser: self.name(),
                looked_for: self.programs().join(", "),
                install: self.install_hint(),
            })?;
        let version = version_of(&program).ok_or_else(|| BrowserError::NoVersion {
            program: program.display().to_string(),
        })?;
        Ok(Installed {
            browser: self,
            program,
            version,
        })
    }
}

impl fmt::Display for Browser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// How long `BROWSER --version` may take.
const VERSION_TIMEOUT: Duration = Duration::from_secs(20);

/// The version `program --version` prints: the first word that starts with
/// a digit ("Chromium 156.0.8078.114 built on Debian…", "Mozilla Firefox
/// 153.8.0esr"). Bounded by [`VERSION_TIMEOUT`], and by what is read (the
/// first line of at most 4 KiB).
fn version_of(program: &Path) -> Option<String> {
    let mut child = std::process::Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() < VERSION_TIMEOUT => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let mut out = Vec::new();
    child.stdout.take()?.take(4096).read_to_end(&mut out).ok()?;
    parse_version(&String::from_utf8_lossy(&out))
}

fn parse_version(text: &str) -> Option<String> {
    text.lines()
        .next()?
        .split_whitespace()
        .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))
        .map(|w| w.chars().take(32).collect())
}

/// Where a browser reaches a server listening on `addr`: a wildcard
/// address on loopback.
fn reachable(mut addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    addr
}

/// The driver page's URL on the fuzzing server at `addr`, started by itself
/// as `agent`.
pub fn page_url(addr: SocketAddr, tls: bool, agent: &str) -> String {
    let addr = reachable(addr);
    let agent: String = agent
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let scheme = if tls { "https" } else { "http" };
    format!("{scheme}://{addr}/?agent={agent}&autostart=1")
}

/// A browser found on this machine.
#[derive(Debug, Clone)]
pub struct Installed {
    pub browser: Browser,
    pub program: PathBuf,
    pub version: String,
}

/// Why a browser cannot be run (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    #[error("--browser {}: {browser} is not installed (looked for {looked_for} on PATH); install it: {install}", browser.to_lowercase())]
    NotInstalled {
        browser: &'static str,
        looked_for: String,
        install: &'static str,
    },
    #[error("{program} --version did not print a version")]
    NoVersion { program: String },
    #[error("cannot make a browser profile folder {path}: {source}")]
    Profile { path: String, source: std::io::Error },
    #[error("cannot start {program}: {source}")]
    Start { program: String, source: std::io::Error },
}

impl Installed {
    /// The agent name reports use unless `--agent` is given.
    pub fn agent(&self) -> String {
        format!("{} {}", self.browser.name(), self.version)
    }

    /// Starts the browser headless on `url` with a fresh profile. With
    /// `tls` (the harness's certificate is self-signed or the user's own),
    /// Chromium ignores certificate errors for this process only, and
    /// Firefox's fresh profile gets an exception for exactly that
    /// certificate on that address; both profiles are thrown away
    /// afterwards.
    pub fn launch(&self, url: &str, tls: Option<&TlsException>) -> Result<Launched, BrowserError> {
        let profile = Profile::create(self.browser)?;
        let mut command = tokio::process::Command::new(&self.program);
        match self.browser {
            Browser::Chromium => {
                command.args([
                    "--headless",
                    // The sandbox cannot start as root (CI runs as root);
                    // the only page this browser opens is the harness's own.
                    "--no-sandbox",
                    "--disable-gpu",
                    "--no-first-run",
                    "--no-default-browser-check",
                    "--disable-extensions",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    // Hidden or not, the page's timers and sockets must run
                    // at full speed.
                    "--disable-background-timer-throttling",
                    "--disable-renderer-backgrounding",
                ]);
                command.arg(format!("--user-data-dir={}", profile.path.display()));
                if tls.is_some() {
                    command.arg("--ignore-certificate-errors");
                }
            }
            Browser::Firefox => {
                profile.write_firefox_prefs()?;
                if let Some(tls) = tls {
                    profile.write(FIREFOX_CERT_OVERRIDES, &tls.firefox_override())?;
                }
                command.args(["--headless", "--no-remote", "--profile"]);
                command.arg(&profile.path);
            }
        }
        command.arg(url);
        let stderr = std::fs::File::create(profile.path.join("wsconform-stderr.log")).map_err(|source| {
            BrowserError::Profile {
                path: profile.path.display().to_string(),
                source,
            }
        })?;
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| BrowserError::Start {
                program: self.program.display().to_string(),
                source,
            })?;
        Ok(Launched { child, profile })
    }
}

/// The certificate a browser must accept over `wss://`, and where.
#[derive(Debug, Clone)]
pub struct TlsException {
    /// `host:port` as the page's URL names it.
    authority: String,
    /// The server's certificate (the leaf), DER.
    cert_der: Vec<u8>,
}

impl TlsException {
    /// The exception for the fuzzing server listening on `addr` with the
    /// certificate chain `cert_pem` (its first certificate is the leaf).
    pub fn new(addr: SocketAddr, cert_pem: &str) -> TlsException {
        use rustls::pki_types::pem::PemObject as _;
        let cert_der = rustls::pki_types::CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .next()
            .and_then(Result::ok)
            .map(|c| c.as_ref().to_vec())
            .unwrap_or_default();
        TlsException {
            authority: reachable(addr).to_string(),
            cert_der,
        }
    }

    /// A line of Firefox's per-profile certificate exceptions
    /// (`cert_override.txt`, what its "Accept the risk" button writes):
    /// `host:port:` (the empty suffix is the default origin attributes), the
    /// OID of SHA-256, and the certificate's SHA-256 in colon-separated hex.
    /// Measured with Firefox 153.8.0esr: a run over `--tls` completes with
    /// it and fails without it.
    fn firefox_override(&self) -> String {
        use sha2::Digest as _;
        let fingerprint: Vec<String> = sha2::Sha256::digest(&self.cert_der)
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        format!(
            "# PSM Certificate Override Settings file\n# This is a generated file!  Do not edit.\n{}:\tOID.2.16.840.1.101.3.4.2.1\t{}\t\n",
            self.authority,
            fingerprint.join(":")
        )
    }
}

/// Firefox's file of certificate exceptions, in its profile.
const FIREFOX_CERT_OVERRIDES: &str = "cert_override.txt";

/// A fresh profile folder, removed on drop.
#[derive(Debug)]
struct Profile {
    path: PathBuf,
}

impl Profile {
    fn create(browser: Browser) -> Result<Profile, BrowserError> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "wsconform-{}-profile-{}-{nanos}",
            browser.name().to_lowercase(),
            std::process::id()
        ));
        // create_dir, not create_dir_all: an existing folder is not fresh.
        std::fs::create_dir(&path).map_err(|source| BrowserError::Profile {
            path: path.display().to_string(),
            source,
        })?;
        Ok(Profile { path })
    }

    /// Firefox's preferences for an unattended run: no first-run pages,
    /// telemetry, updates or background connections that would talk to
    /// anything but the harness.
    fn write_firefox_prefs(&self) -> Result<(), BrowserError> {
        let mut prefs = String::new();
        for (name, value) in [
            ("browser.shell.checkDefaultBrowser", "false"),
            ("browser.startup.homepage_override.mstone", "\"ignore\""),
            ("browser.aboutwelcome.enabled", "false"),
            ("datareporting.policy.dataSubmissionEnabled", "false"),
            ("toolkit.telemetry.reportingpolicy.firstRun", "false"),
            ("app.update.disabledForTesting", "true"),
            ("network.captive-portal-service.enabled", "false"),
            ("network.connectivity-service.enabled", "false"),
            ("browser.safebrowsing.update.enabled", "false"),
            ("extensions.update.enabled", "false"),
        ] {
            prefs += &format!("user_pref(\"{name}\", {value});\n");
        }
        self.write("user.js", &prefs)
    }

    fn write(&self, name: &str, text: &str) -> Result<(), BrowserError> {
        std::fs::write(self.path.join(name), text).map_err(|source| BrowserError::Profile {
            path: self.path.display().to_string(),
            source,
        })
    }
}

impl Profile {
    /// Removes the folder; true once it is gone.
    fn remove(&self) -> bool {
        match std::fs::remove_dir_all(&self.path) {
            Ok(()) => true,
            Err(e) => e.kind() == std::io::ErrorKind::NotFound,
        }
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        self.remove();
    }
}

/// How long [`Launched::stop`] keeps trying to remove the profile.
const PROFILE_REMOVAL: Duration = Duration::from_secs(3);

/// A running browser.
#[derive(Debug)]
pub struct Launched {
    child: tokio::process::Child,
    profile: Profile,
}

impl Launched {
    /// Resolves when the browser exits by itself (it should not before the
    /// run ends: a crash, or a browser that could not start headless).
    pub async fn exited(&mut self) -> std::io::Result<ExitStatus> {
        self.child.wait().await
    }

    /// The last line the browser wrote on stderr (read from the end of its
    /// log, at most 4 KiB), to say why it exited early.
    pub fn last_error_line(&self) -> Option<String> {
        let mut file = std::fs::File::open(self.profile.path.join("wsconform-stderr.log")).ok()?;
        let len = file.metadata().ok()?.len();
        file.seek(SeekFrom::Start(len.saturating_sub(4096))).ok()?;
        let mut tail = Vec::new();
        file.read_to_end(&mut tail).ok()?;
        String::from_utf8_lossy(&tail)
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(|l| l.chars().take(300).collect())
    }

    /// Kills the browser, waits for it, and removes its profile. The
    /// browser's helper processes (renderer, GPU, network service) end by
    /// themselves once it is gone, and may still write to the profile for a
    /// moment (measured: a removal right after the kill sometimes left the
    /// folder behind), so the removal is retried for a bounded time.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
        let started = Instant::now();
        while !self.profile.remove() && started.elapsed() < PROFILE_REMOVAL {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_the_first_line() {
        let chromium = "Chromium 156.0.8078.114 built on Debian GNU/Linux 12 (bookworm)\n";
        assert_eq!(parse_version(chromium).as_deref(), Some("156.0.8078.114"));
        assert_eq!(
            parse_version("Mozilla Firefox 153.8.0esr\n").as_deref(),
            Some("153.8.0esr")
        );
        assert_eq!(parse_version("no version here\n1.0"), None);
        assert_eq!(parse_version(""), None);
    }

    #[test]
    fn firefox_exceptions_name_the_address_and_the_sha256() {
        // No certificate: the SHA-256 of nothing, a known value, shows the
        // fingerprint's spelling.
        let none = TlsException::new("0.0.0.0:9001".parse().expect("addr"), "");
        let line = none.firefox_override();
        let entry = line.lines().last().expect("an entry");
        assert_eq!(
            entry,
            "127.0.0.1:9001:\tOID.2.16.840.1.101.3.4.2.1\tE3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24:27:AE:41:E4:64:9B:93:4C:A4:95:99:1B:78:52:B8:55\t"
        );
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("rcgen");
        let real = TlsException::new("127.0.0.1:1".parse().expect("addr"), &cert.cert.pem());
        assert_eq!(real.cert_der, cert.cert.der().as_ref());
    }

    #[test]
    fn the_page_url_reaches_the_server_and_names_the_agent() {
        let url = page_url("0.0.0.0:9001".parse().expect("addr"), false, "Chromium 1.0/x&y");
        assert_eq!(
            url,
            "http://127.0.0.1:9001/?agent=Chromium%201.0%2Fx%26y&autostart=1"
        );
        let url = page_url("[::]:443".parse().expect("addr"), true, "é");
        assert_eq!(url, "https://[::1]:443/?agent=%C3%A9&autostart=1");
    }
}
