//! The `provisioner` binary: parse arguments, run the command, print an error once, exit.
//! Exit codes: 0 success, 1 error (see `commands::exit`).

use clap::Parser;

use provisioner::cli::Cli;
use provisioner::{commands, output};

fn main() {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            output::error(&anyhow::Error::new(err).context("failed to start the async runtime"));
            std::process::exit(commands::exit::ERROR);
        }
    };
    let code = match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(err) => {
            output::error(&err);
            commands::exit::ERROR
        }
    };
    // Dropping the runtime drops every task still running (serve's handler processes are killed
    // as theirs end); blocked threads get a moment, not forever.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    std::process::exit(code);
}
