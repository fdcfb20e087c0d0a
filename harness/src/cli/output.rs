//! What the command line prints: results on stdout (a closed pipe ends the
//! program quietly), progress and errors on stderr, each error on one line.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use wsconform::runner::CaseResult;

/// Writes `text` to standard output; a closed pipe (`wsconform list | head`)
/// ends the program quietly instead of panicking.
pub fn emit(text: &str) -> anyhow::Result<ExitCode> {
    use anyhow::Context as _;
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        other => {
            other.context("writing to standard output")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Prints `text`, then returns `code` (see [`emit`]).
pub fn emit_then(text: &str, code: ExitCode) -> anyhow::Result<ExitCode> {
    emit(text)?;
    Ok(code)
}

/// An error and its causes as one line. A cause whose text the line already
/// holds is left out: an error that shows its source in its own message and
/// also returns it as `source()` would otherwise print the OS error twice
/// ("… is not writable: Not a directory (os error 20): Not a directory (os
/// error 20)"). Line breaks inside a message become spaces, so CI logs and
/// the tests can count on exactly one line.
pub fn error_line<'a>(chain: impl IntoIterator<Item = &'a (dyn std::error::Error + 'static)>) -> String {
    let mut line = String::new();
    for cause in chain {
        let text = cause.to_string();
        if line.is_empty() {
            line = text;
        } else if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
    }
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Prints `line` as the one line of a failed command and gives exit code 2.
pub fn fail(line: &str) -> ExitCode {
    eprintln!("wsconform: {line}");
    ExitCode::from(2)
}

/// Autobahn's HTML description as one plain line: tags become spaces,
/// runs of white space one space, and long texts are cut.
pub fn one_line(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    let line = words.join(" ");
    match line.char_indices().nth(100) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

/// Progress: a live bar on a terminal (indicatif), one plain line per case
/// otherwise, nothing with --quiet.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    quiet: bool,
    done: usize,
}

impl Progress {
    pub fn new(quiet: bool, total: usize) -> Progress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            let style = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {elapsed} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        });
        Progress { bar, quiet, done: 0 }
    }

    pub fn case(&mut self, r: &CaseResult) {
        self.done += 1;
        let v = &r.verdict;
        let line = format!(
            "{} {} / {} ({} ms)",
            r.case.id,
            v.behavior.as_str(),
            v.behavior_close.as_str(),
            r.outcome.duration_ms
        );
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                bar.set_message(line);
            }
            None if !self.quiet => eprintln!("[{}] {line}", self.done),
            None => {}
        }
    }

    pub fn end(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The fuzzing campaign's status: executions per second and findings so
/// far, one line a second on a terminal (rewritten), every 10 s elsewhere.
pub struct FuzzProgress {
    quiet: bool,
    tty: bool,
    last_line: std::time::Instant,
    drawn: bool,
}

impl FuzzProgress {
    pub fn new(quiet: bool) -> FuzzProgress {
        FuzzProgress {
            quiet,
            tty: std::io::stderr().is_terminal(),
            last_line: std::time::Instant::now(),
            drawn: false,
        }
    }

    pub fn end(&mut self) {
        if self.drawn && self.tty {
            eprintln!();
        }
        self.drawn = false;
    }
}

impl wsconform::fuzz::campaign::Progress for FuzzProgress {
    fn update(
        &mut self,
        execs: u64,
        elapsed: std::time::Duration,
        by_class: &std::collections::BTreeMap<wsconform::fuzz::FindingClass, u64>,
    ) {
        if self.quiet || (!self.tty && self.last_line.elapsed() < std::time::Duration::from_secs(10)) {
            return;
        }
        self.last_line = std::time::Instant::now();
        let rate = execs as f64 / elapsed.as_secs_f64().max(1e-9);
        let classes: Vec<String> = by_class.iter().map(|(c, n)| format!("{c} {n}")).collect();
        let line = format!(
            "fuzz: {execs} execs, {rate:.0}/s, {:.0} s, {} finding(s){}",
            elapsed.as_secs_f64(),
            by_class.values().sum::<u64>(),
            if classes.is_empty() {
                String::new()
            } else {
                format!(" ({})", classes.join(", "))
            }
        );
        if self.tty {
            eprint!("\r\x1b[2K{line}");
            self.drawn = true;
        } else {
            eprintln!("{line}");
        }
    }

    fn line(&mut self, text: &str) {
        if self.quiet {
            return;
        }
        if self.drawn && self.tty {
            eprint!("\r\x1b[2K");
        }
        eprintln!("wsconform: {text}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("output directory /x is not writable: {source}")]
    struct Outdir {
        source: std::io::Error,
    }

    #[test]
    fn a_cause_already_shown_is_not_repeated() {
        let e = anyhow::Error::new(Outdir {
            source: std::io::Error::from_raw_os_error(20),
        });
        let line = error_line(e.chain());
        assert_eq!(line.matches("os error 20").count(), 1, "{line}");
        let e = anyhow::anyhow!("inner\nsecond line").context("outer");
        assert_eq!(error_line(e.chain()), "outer: inner second line");
    }
}
