//! The command line as its own layer, as ripgrep does: [`args`] is what clap
//! parsed (raw text, nothing checked), [`config`] turns it into one validated
//! [`Mode`] before anything starts, [`run`] carries the mode out. `main.rs`
//! only dispatches. Every failure before the run is one line on stderr and
//! exit code 2; none is a panic.

pub mod args;
pub mod config;
pub mod output;
pub mod run;
pub mod validate;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::Parser as _;

pub use config::Mode;

/// Parses and validates the command line. `Err` is the exit code to leave
/// with, its message already printed: help and version (exit 0), or a
/// usage error (exit 2, one line).
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Mode, ExitCode> {
    let cli = args::Cli::try_parse_from(args).map_err(clap_exit)?;
    Mode::from_cli(cli).map_err(|e| output::fail(&output::error_line(error_chain(&e))))
}

/// `e` and its sources, outermost first.
pub fn error_chain<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(e), |e| e.source())
}

/// Help and version go out as clap writes them; a usage error becomes one
/// line, like every other error: clap's first line, its indented details
/// and tips joined to it, its "Usage:" block and "--help" hint left out.
fn clap_exit(e: clap::Error) -> ExitCode {
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2))
        }
        _ => output::fail(&clap_line(&e.render().to_string())),
    }
}

/// clap's rendered error as one line (see [`clap_exit`]); a tip goes in
/// parentheses at the end.
fn clap_line(rendered: &str) -> String {
    let mut line = String::new();
    for part in rendered.lines().map(str::trim) {
        if part.starts_with("Usage:") || part.starts_with("For more information") {
            break;
        }
        match part.strip_prefix("tip: ") {
            _ if part.is_empty() => {}
            Some(tip) => line += &format!(" (tip: {tip})"),
            None if line.is_empty() => line += part.strip_prefix("error: ").unwrap_or(part),
            None => line += &format!(" {part}"),
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_errors_become_one_line() {
        let rendered = "error: the following required arguments were not provided:\n  --key <KEY>\n\nUsage: wsconform server --tls --cert <CERT> --key <KEY> [URL]\n\nFor more information, try '--help'.\n";
        assert_eq!(
            clap_line(rendered),
            "the following required arguments were not provided: --key <KEY>"
        );
        let err = match args::Cli::try_parse_from(["wsconform", "server", "--frobnicate"]) {
            Ok(_) => panic!("an unknown flag parses"),
            Err(e) => e,
        };
        let line = clap_line(&err.render().to_string());
        assert!(
            line.starts_with("unexpected argument '--frobnicate' found"),
            "{line}"
        );
        assert!(!line.contains('\n') && !line.contains("Usage"), "{line}");
    }
}
