//! The `provisioner` binary: parse arguments, run the command, print an error once, exit.
//! Exit codes: see `commands::exit` (usage errors exit 64, never 2, which `diff` uses for changes).

use clap::Parser as _;

use provisioner::cli::Cli;
use provisioner::{commands, output};

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap exits 2 on a usage error; here 2 means "diff found changes".
            let code = if err.use_stderr() {
                commands::exit::USAGE
            } else {
                commands::exit::OK // --help, --version
            };
            let _ = err.print();
            if let Some(tip) = other_tools_tip(&err) {
                eprintln!("\n{tip}");
            }
            std::process::exit(code);
        }
    };
    init_logging(cli.global.verbose);
    output::set_color(cli.global.color);
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
            if err.downcast_ref::<commands::UsageError>().is_some() {
                commands::exit::USAGE
            } else if err
                .downcast_ref::<provisioner::interrupt::Interrupted>()
                .is_some()
            {
                provisioner::interrupt::EXIT_CODE
            } else {
                commands::exit::ERROR
            }
        }
    };
    // Dropping the runtime drops every task still running (serve's handler processes are killed
    // as theirs end); blocked threads get a moment, not forever.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    std::process::exit(code);
}

/// For a subcommand another tool has (`destroy`, `plan`, `apply`), ours that does it.
fn other_tools_tip(err: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if err.kind() != ErrorKind::InvalidSubcommand {
        return None;
    }
    let ContextValue::String(given) = err.get(ContextKind::InvalidSubcommand)? else {
        return None;
    };
    let (_, ours, theirs) = provisioner::cli::OTHER_TOOLS_COMMANDS
        .iter()
        .find(|(name, _, _)| *name == given.as_str())?;
    Some(format!(
        "hint: `provisioner {ours}` does what {theirs} does; `provisioner --help` lists the commands"
    ))
}

/// Logs go to stderr: `RUST_LOG` if set, else each AWS call with `-v`, else nothing.
fn init_logging(verbose: bool) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.is_empty() => EnvFilter::new(directives),
        _ if verbose => EnvFilter::new("provisioner=info"),
        _ => return,
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_timer(tracing_subscriber::fmt::time::uptime())
        .init();
}
