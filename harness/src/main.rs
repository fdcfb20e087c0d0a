//! The `wsconform` command line. Exit codes: 0 every gating case passed (or
//! nothing changed against the baseline), 1 a conformance failure, a
//! regression or an interrupted run, 2 a usage or harness error (one line on
//! stderr). The command line itself lives in `cli`: it parses and validates
//! everything into one [`cli::Mode`]; this file only dispatches.

use std::process::ExitCode;

use cli::{run, Mode};

mod cli;
mod report_cmd;

/// glibc raises its mmap threshold each time a large block is freed (up to
/// 32 MiB), after which 4–16 MiB message buffers come from the heap and are
/// kept: a full run then peaks near 100 MB although no case needs more than
/// 60. A fixed threshold (glibc's 128 KiB default, without the raising)
/// hands every large buffer back when it is freed (BENCHMARKS.md, "Peak RSS").
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn keep_large_buffers_in_mmap() {
    // SAFETY: mallopt only sets an allocator parameter; it is called before
    // any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_large_buffers_in_mmap() {}

fn main() -> ExitCode {
    keep_large_buffers_in_mmap();
    let mode = match cli::parse(std::env::args_os()) {
        Ok(mode) => mode,
        Err(code) => return code,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return cli::output::fail(&format!("cannot start the async runtime: {e}")),
    };
    match runtime.block_on(dispatch(mode)) {
        Ok(code) => code,
        Err(e) => cli::output::fail(&cli::output::error_line(e.chain())),
    }
}

async fn dispatch(mode: Mode) -> anyhow::Result<ExitCode> {
    match mode {
        Mode::Server(config) => run::server(config).await,
        Mode::Client(config) => run::client(config).await,
        Mode::Replay(config) => run::replay(config).await,
        Mode::Fuzz(config, quiet) => run::fuzz(config, quiet).await,
        Mode::ReferenceServer(config) => run::reference_server(config).await,
        Mode::ReferenceClient(config) => run::reference_client(config).await,
        Mode::List { cases, json } => run::list(cases, json),
        Mode::Show { id, results } => run::show(&id, results.as_deref()),
        Mode::Report(cmd) => report_cmd::run(cmd),
    }
}
