//! The `wsconform` command line. Exit codes: 0 every gating case passed (or
//! nothing changed against the baseline), 1 a conformance failure, a
//! regression or an interrupted run, 2 a usage or harness error (one line on
//! stderr). The command line itself lives in `cli`: it parses and validates
//! everything into one [`cli::Mode`]; this file only dispatches.

use std::process::ExitCode;

use cli::{run, Mode};

mod cli;
mod report_cmd;

fn main() -> ExitCode {
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
        Mode::ReferenceServer(config) => run::reference_server(config).await,
        Mode::ReferenceClient(config) => run::reference_client(config).await,
        Mode::List { cases, json } => run::list(cases, json),
        Mode::Show { id } => run::show(&id),
        Mode::Report(cmd) => report_cmd::run(cmd),
    }
}
